import { Type, type FastifyPluginAsyncTypebox, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.js';
import type { RegistrationLimits } from '../../plugins/rate-limit.js';
import { invalidField, NotFoundError } from '../../errors.js';
import type { Services } from '../../services/index.js';
import { requestHash, type IdempotencyService } from '../../services/idempotency.js';
import { effectiveStatus } from '../../services/sessions.service.js';
import { booleanWord } from '../../text.js';
import { problems } from '../schemas.js';
import { presentPublicSession, presentRegistration, presentRegistrationAnswer } from './presenter.js';
import { ManageViewSchema, PublicSessionSchema, PublicSessionsQuery, RegisterBody, RegistrationAnswerSchema, SlugParams, TokenParams } from './schemas.js';


/** A web form sends text: its consent checkbox arrives as "on" (the session's and the series' registration). */
export async function readFormConsent(request: FastifyRequest): Promise<void> {
  const body = request.body as Record<string, unknown> | undefined;
  if (request.headers['content-type']?.toLowerCase().startsWith('application/x-www-form-urlencoded') && body && typeof body.consent === 'string') {
    body.consent = booleanWord(body.consent) === true;
  }
}

export interface PublicRoutesOptions {
  services: Services;
  clock: Clock;
  publicBaseUrl: string;
  /** Per-IP and per-recipient limits on registration posts (src/plugins/rate-limit.ts). */
  limits?: RegistrationLimits;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The header of a registration post (a session's or a series'). */
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(Type.String()) });

/**
 * Answers a registration post once per Idempotency-Key (within `scope`): a retry with the same
 * key and body gets the first answer's bytes again, error answers included; without a key, the
 * answer as it comes.
 */
export async function sendIdempotently(
  idempotency: IdempotencyService,
  request: FastifyRequest,
  reply: FastifyReply,
  scope: string,
  answer: () => Promise<{ statusCode: number; body: unknown }>,
): Promise<FastifyReply> {
  const key = request.headers['idempotency-key'];
  if (key === undefined) {
    const { statusCode, body } = await answer();
    return reply.code(statusCode).send(body);
  }
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) throw invalidField('/headers/idempotency-key', 'must be 1 to 255 visible ASCII characters');
  const stored = await idempotency.run(scope, key, requestHash(request.body), answer);
  if (stored.replayed) reply.header('idempotent-replayed', 'true');
  reply.type(stored.statusCode >= 400 ? 'application/problem+json; charset=utf-8' : 'application/json; charset=utf-8');
  return reply.code(stored.statusCode).serializer((text: unknown) => String(text)).send(stored.bodyText);
}

/** Public registration and the registrant's own routes (the manage token is the key). */
export const publicRegistrationRoutes: FastifyPluginAsyncTypebox<PublicRoutesOptions> = async (app, { services, clock, publicBaseUrl, limits }) => {
  const { sessions, registrations, idempotency } = services;

  app.get(
    '/public/sessions',
    {
      schema: {
        tags: ['public'],
        summary: 'Published, upcoming sessions',
        querystring: PublicSessionsQuery,
        response: { 200: Type.Object({ items: Type.Array(PublicSessionSchema) }), ...problems(400) },
      },
    },
    async (request) => {
      const now = clock.now();
      const rows = await sessions.listPublic(request.query.limit ?? 50);
      return { items: rows.map((row) => presentPublicSession(row, publicBaseUrl, now)) };
    },
  );

  app.get(
    '/public/sessions/:slug',
    {
      schema: { tags: ['public'], summary: 'One published session', params: SlugParams, response: { 200: PublicSessionSchema, ...problems(404) } },
    },
    async (request) => {
      const row = await sessions.getBySlug(request.params.slug);
      if (!row || row.status === 'draft') throw new NotFoundError('No published session with this address');
      return presentPublicSession(row, publicBaseUrl, clock.now());
    },
  );

  app.post(
    '/public/sessions/:slug/registrations',
    {
      onRequest: limits ? [limits.perIp] : [],
      preValidation: readFormConsent,
      schema: {
        tags: ['public'],
        summary: 'Register for a session',
        description:
          'JSON or application/x-www-form-urlencoded (answers as answers[questionId]). Every valid request to a session open for registration gets the same 202, byte for byte, whether the address is new or already registered; the outcome (a seat, a waitlist place, or the manage link again) goes by e-mail only. A 409 (closed, cancelled, finished, full) is the same for every address. The per-recipient rate limit counts only requests that passed these checks. An Idempotency-Key header makes retries safe. Under a crowd, the registrations of one session that arrive together are admitted together (one commit for many, seats and waitlist places in arrival order); a 503 (with Retry-After) means nothing of the request was registered and it may be sent again.',
        params: SlugParams,
        headers: IdempotencyHeaders,
        body: RegisterBody,
        response: { 202: RegistrationAnswerSchema, ...problems(400, 403, 404, 409, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const { slug } = request.params;
      const admitRecipient = limits ? (email: string) => limits.checkRecipient(request, email) : undefined;
      const answer = async () => {
        const { session } = await registrations.register(slug, request.body, { admitRecipient });
        return { statusCode: 202, body: presentRegistrationAnswer(session) };
      };
      return sendIdempotently(idempotency, request, reply as unknown as FastifyReply, `register:${slug}`, answer);
    },
  );

  await app.register(async (plain) => {
    const tokenRoutes = plain.withTypeProvider<TypeBoxTypeProvider>();
    tokenRoutes.addHook('onSend', async (_request, reply) => {
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cache-control', 'private, no-store');
    });

    const present = async (view: Awaited<ReturnType<typeof registrations.viewByManageToken>>, token: string) => {
      const now = clock.now();
      const { registration, session } = view;
      const confirmed = registration.status === 'confirmed' && effectiveStatus(session, now) !== 'cancelled';
      const organizerView = presentRegistration(registration);
      return {
        registration: {
          status: organizerView.status,
          waitlistPosition: organizerView.waitlistPosition,
          name: organizerView.name,
          email: organizerView.email,
          organization: organizerView.organization,
          jobTitle: organizerView.jobTitle,
          answers: organizerView.answers,
          registeredAt: organizerView.registeredAt,
          confirmedAt: organizerView.confirmedAt,
          cancelledAt: organizerView.cancelledAt,
          offerExpiresAt: registration.status === 'offered' ? organizerView.offerExpiresAt : null,
        },
        session: presentPublicSession(session, publicBaseUrl, now),
        joinLink: confirmed ? services.links.joinUrl(registration) : null,
        links: {
          manage: services.links.manageUrl(token),
          invite: services.links.inviteUrl(token),
          // The attendee's own feed (across sessions); its token is stored (hashed) the first time it is shown.
          feed: await services.feeds.linksForAttendee(registration.attendeeId),
        },
      };
    };

    tokenRoutes.get(
      '/registrations/:manageToken',
      {
        schema: {
          tags: ['public'],
          summary: "The registrant's own view (by the secret manage token)",
          params: TokenParams,
          response: { 200: ManageViewSchema, ...problems(404) },
        },
      },
      async (request) => present(await registrations.viewByManageToken(request.params.manageToken), request.params.manageToken),
    );

    tokenRoutes.get(
      '/registrations/:manageToken/invite.ics',
      {
        schema: {
          tags: ['public'],
          summary: "The registrant's current calendar invite (METHOD:REQUEST; CANCEL once cancelled)",
          params: TokenParams,
          produces: ['text/calendar'],
          response: { 200: Type.String({ description: 'text/calendar; charset=utf-8' }), ...problems(404, 409) },
        },
      },
      async (request, reply) => {
        const { method, ics } = await services.invites.forManageToken(request.params.manageToken);
        return reply
          .type(`text/calendar; charset=utf-8; method=${method}`)
          .header('content-disposition', 'attachment; filename="invite.ics"')
          .serializer((payload: unknown) => String(payload))
          .send(ics);
      },
    );

    tokenRoutes.post(
      '/registrations/:manageToken/cancel',
      {
        schema: {
          tags: ['public'],
          summary: 'Cancel the registration or leave the waitlist (again is a no-op)',
          params: TokenParams,
          response: { 200: ManageViewSchema, ...problems(404) },
        },
      },
      async (request) => present(await registrations.cancelByManageToken(request.params.manageToken), request.params.manageToken),
    );

    tokenRoutes.post(
      '/registrations/:manageToken/accept',
      {
        schema: {
          tags: ['public'],
          summary: 'Accept the seat held for you (offered to confirmed, with the invite); 409 once the offer has expired',
          params: TokenParams,
          response: { 200: ManageViewSchema, ...problems(404, 409) },
        },
      },
      async (request) => present(await registrations.acceptByManageToken(request.params.manageToken), request.params.manageToken),
    );
  });
};
