import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import type { ApiKeysService } from '../services/api-keys.service.js';
import type { Organizer, OrganizersService } from '../services/organizers.service.js';

export interface TokenClaims {
  sub: string;
  role: Organizer['role'];
  /** The organizer's token version when the token was issued; a raised version revokes it. */
  ver: number;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenClaims;
    user: TokenClaims & { exp: number; iat: number; iss: string; aud: string };
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: a valid, unrevoked token or a live API key of an enabled organizer; the answer is not stored. */
    authenticate: (request: FastifyRequest) => Promise<void>;
    /** preHandler: as authenticate, and the organizer is an admin. */
    requireAdmin: (request: FastifyRequest) => Promise<void>;
    issueToken: (organizer: Organizer) => { token: string; expiresAt: Date };
    /** onRequest hook for organizer routes without a token (login): the answer is not stored. */
    organizerAnswer: (request: FastifyRequest) => Promise<void>;
  }
  interface FastifyRequest {
    organizer: Organizer;
    /** Set on organizer routes: their answers (errors included) carry `Cache-Control: no-store`. */
    isOrganizerAnswer: boolean;
  }
}

export interface AuthOptions {
  config: Pick<Config, 'jwtSecret' | 'jwtIssuer' | 'jwtAudience' | 'jwtTtlSeconds'>;
  organizers: OrganizersService;
  /** `Bearer cvk_...` credentials: API keys, looked up on every request. */
  apiKeys: Pick<ApiKeysService, 'authenticate'>;
}

/** An API key sent as the bearer credential (`Bearer cvk_...`); null for anything else, such as a JWT. */
function apiKeyOf(authorization: string): string | null {
  return /^Bearer +(cvk_.*)$/i.exec(authorization)?.[1] ?? null;
}

async function authPlugin(app: FastifyInstance, { config, organizers, apiKeys }: AuthOptions): Promise<void> {
  await app.register(fastifyJwt, {
    secret: config.jwtSecret,
    sign: { algorithm: 'HS256', iss: config.jwtIssuer, aud: config.jwtAudience, expiresIn: `${config.jwtTtlSeconds}s` },
    // The algorithm is pinned, so `alg: none` or an RS/HS confusion is refused before any claim is read.
    verify: {
      algorithms: ['HS256'],
      allowedIss: config.jwtIssuer,
      allowedAud: config.jwtAudience,
      requiredClaims: ['exp', 'iat', 'iss', 'aud', 'sub', 'ver'],
    },
  });

  app.decorateRequest('organizer', null as unknown as Organizer);
  app.decorateRequest('isOrganizerAnswer', false);

  // Organizer answers hold attendee data and account details: no browser or proxy keeps them.
  // Token routes already send `private, no-store`, which says as much.
  app.addHook('onSend', async (request, reply) => {
    if (!request.isOrganizerAnswer) return;
    const current = reply.getHeader('cache-control');
    if (typeof current !== 'string' || !/\bno-store\b/.test(current)) reply.header('cache-control', 'no-store');
  });
  app.decorate('organizerAnswer', async (request: FastifyRequest) => {
    request.isOrganizerAnswer = true;
  });

  app.decorate('issueToken', (organizer: Organizer) => {
    const token = app.jwt.sign({ sub: organizer.id, role: organizer.role, ver: organizer.tokenVersion });
    const { exp } = app.jwt.decode<{ exp: number }>(token)!;
    return { token, expiresAt: new Date(exp * 1000) };
  });

  async function authenticate(request: FastifyRequest): Promise<void> {
    request.isOrganizerAnswer = true;
    const { authorization } = request.headers;
    if (!authorization) throw new UnauthorizedError('A bearer token is required');
    const apiKey = apiKeyOf(authorization);
    if (apiKey !== null) {
      // The key's row is read on every request (no cache), so a deleted key ends at once; the
      // lookup refuses the keys of a disabled organizer too, which the check below repeats.
      const organizerId = await apiKeys.authenticate(apiKey);
      const organizer = organizerId ? await organizers.findForToken(organizerId) : null;
      if (!organizer || organizer.disabledAt !== null) throw new UnauthorizedError('The bearer token is invalid or has expired');
      request.organizer = organizer;
      return;
    }
    try {
      await request.jwtVerify();
    } catch {
      throw new UnauthorizedError('The bearer token is invalid or has expired');
    }
    // The account is read on every request (cached for about a second), so a removed or
    // disabled organizer, a logout and a password change end earlier tokens at once.
    const { sub, ver } = request.user;
    const organizer = typeof sub === 'string' ? await organizers.findForToken(sub) : null;
    if (!organizer || organizer.disabledAt !== null || ver !== organizer.tokenVersion) {
      throw new UnauthorizedError('The bearer token is invalid or has expired');
    }
    request.organizer = organizer;
  }

  app.decorate('authenticate', authenticate);
  app.decorate('requireAdmin', async (request: FastifyRequest) => {
    await authenticate(request);
    if (request.organizer.role !== 'admin') throw new ForbiddenError('Only an admin may do this');
  });
}

export default fp(authPlugin, { name: 'convene-auth' });
