import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Organizer, OrganizersService } from '../services/organizers.service.js';

export interface TokenClaims {
  sub: string;
  role: Organizer['role'];
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenClaims;
    user: TokenClaims & { exp: number; iat: number; iss: string; aud: string };
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler: a valid token of an existing organizer. */
    authenticate: (request: FastifyRequest) => Promise<void>;
    /** preHandler: as authenticate, and the organizer is an admin. */
    requireAdmin: (request: FastifyRequest) => Promise<void>;
    issueToken: (organizer: Organizer) => { token: string; expiresAt: Date };
  }
  interface FastifyRequest {
    organizer: Organizer;
  }
}

export interface AuthOptions {
  config: Pick<Config, 'jwtSecret' | 'jwtIssuer' | 'jwtAudience' | 'jwtTtlSeconds'>;
  organizers: OrganizersService;
}

async function authPlugin(app: FastifyInstance, { config, organizers }: AuthOptions): Promise<void> {
  await app.register(fastifyJwt, {
    secret: config.jwtSecret,
    sign: { algorithm: 'HS256', iss: config.jwtIssuer, aud: config.jwtAudience, expiresIn: `${config.jwtTtlSeconds}s` },
    // The algorithm is pinned, so `alg: none` or an RS/HS confusion is refused before any claim is read.
    verify: {
      algorithms: ['HS256'],
      allowedIss: config.jwtIssuer,
      allowedAud: config.jwtAudience,
      requiredClaims: ['exp', 'iat', 'iss', 'aud', 'sub'],
    },
  });

  app.decorateRequest('organizer', null as unknown as Organizer);

  app.decorate('issueToken', (organizer: Organizer) => {
    const token = app.jwt.sign({ sub: organizer.id, role: organizer.role });
    const { exp } = app.jwt.decode<{ exp: number }>(token)!;
    return { token, expiresAt: new Date(exp * 1000) };
  });

  async function authenticate(request: FastifyRequest): Promise<void> {
    if (!request.headers.authorization) throw new UnauthorizedError('A bearer token is required');
    try {
      await request.jwtVerify();
    } catch {
      throw new UnauthorizedError('The bearer token is invalid or has expired');
    }
    // The account is read on every request, so a removed organizer loses access at once.
    const organizer = await organizers.findById(request.user.sub);
    if (!organizer) throw new UnauthorizedError('The bearer token is invalid or has expired');
    request.organizer = organizer;
  }

  app.decorate('authenticate', authenticate);
  app.decorate('requireAdmin', async (request: FastifyRequest) => {
    await authenticate(request);
    if (request.organizer.role !== 'admin') throw new ForbiddenError('Only an admin may do this');
  });
}

export default fp(authPlugin, { name: 'convene-auth' });
