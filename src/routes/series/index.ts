import { Type, type FastifyPluginAsyncTypebox, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { SeriesRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import type { FastifyReply } from 'fastify';
import type { RegistrationLimits } from '../../plugins/rate-limit.js';
import type { IdempotencyService } from '../../services/idempotency.js';
import { joinsThroughSeries, type PublicSeries, type Series, type SeriesService } from '../../services/series.service.js';
import { effectiveStatus } from '../../services/sessions.service.js';
import { presentPublicSession } from '../registrations/presenter.js';
import { IdempotencyHeaders, readFormConsent, sendIdempotently } from '../registrations/public.js';
import { RegisterBody } from '../registrations/schemas.js';
import { bearer, IdParams, problems } from '../schemas.js';
import { CreateSeriesBody, PatchSeriesBody, PublicSeriesSchema, SeriesAnswerSchema, SeriesSchema, SeriesSlugParams } from './schemas.js';

export interface SeriesRoutesOptions {
  series: SeriesService;
  idempotency: IdempotencyService;
  clock: Clock;
  publicBaseUrl: string;
  /** Per-IP and per-recipient limits on registration posts, as for a session's (src/plugins/rate-limit.ts). */
  limits?: RegistrationLimits;
}

export function seriesUrls(slug: string, publicBaseUrl: string) {
  return { page: `${publicBaseUrl}/series/${slug}`, feed: `${publicBaseUrl}/feeds/series/${slug}.ics` };
}

/** The organizer's view of a series: its sessions in their order, with their status now. */
export function presentSeries(row: Series, publicBaseUrl: string, now: Date) {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    description: row.description,
    sessions: row.sessions.map((session) => ({
      id: session.id,
      slug: session.slug,
      title: session.title,
      startsAt: session.startsAt.toISOString(),
      endsAt: session.endsAt.toISOString(),
      timezone: session.timezone,
      status: effectiveStatus(session, now),
    })),
    urls: seriesUrls(row.slug, publicBaseUrl),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** What anyone may see of a series: each session as the public session API shows it. */
export function presentPublicSeries({ series, sessions }: PublicSeries, publicBaseUrl: string, now: Date) {
  return {
    slug: series.slug,
    title: series.title,
    description: series.description,
    sessions: sessions.map((session) => ({ ...presentPublicSession(session, publicBaseUrl, now), seriesForm: joinsThroughSeries(session) })),
    urls: seriesUrls(series.slug, publicBaseUrl),
  };
}

/** The answer to a series registration: the same bytes whatever each session did (SeriesAnswerSchema). */
export function presentSeriesAnswer(row: SeriesRow) {
  return { status: 'received' as const, series: { slug: row.slug, title: row.title } };
}

/**
 * Series (api.md "Member organisations and series"): the organizers' routes (the series they
 * may see, services/series.service.ts) and the public ones (the series page's data and its one
 * registration form).
 */
export const seriesRoutes: FastifyPluginAsyncTypebox<SeriesRoutesOptions> = async (app, { series, idempotency, clock, publicBaseUrl, limits }) => {
  const present = (row: Series) => presentSeries(row, publicBaseUrl, clock.now());

  await app.register(async (organizerRoutes) => {
    const routes = organizerRoutes.withTypeProvider<TypeBoxTypeProvider>();
    routes.addHook('onRequest', app.authenticate);
    const common = { tags: ['series'], security: bearer };

    routes.post(
      '/series',
      {
        schema: {
          ...common,
          summary: 'Create a series of sessions you host',
          description:
            'sessionIds in their order in the series; each must be a session you host (an admin: any session), otherwise 400 at its index, the same for a session of another organizer and for no session. The slug is made from the title when absent (an explicit slug already taken: 409).',
          body: CreateSeriesBody,
          response: { 201: SeriesSchema, ...problems(400, 401, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const row = await series.create(request.body, request.organizer);
        return reply.code(201).header('location', `/api/v1/series/${row.id}`).send(present(row));
      },
    );

    routes.get(
      '/series',
      {
        schema: {
          ...common,
          summary: 'The series you may see: those whose every session you host (an empty one: yours); an admin, all. Latest first',
          response: { 200: Type.Object({ items: Type.Array(SeriesSchema) }), ...problems(401) },
        },
      },
      async (request) => ({ items: (await series.list(request.organizer)).map(present) }),
    );

    routes.get(
      '/series/:id',
      { schema: { ...common, summary: 'One series with its sessions', params: IdParams, response: { 200: SeriesSchema, ...problems(400, 401, 404) } } },
      async (request) => present(await series.get(request.params.id, request.organizer)),
    );

    routes.patch(
      '/series/:id',
      {
        schema: {
          ...common,
          summary: 'Change a series: title, slug, description, or its sessions (the whole list, in its new order)',
          params: IdParams,
          body: PatchSeriesBody,
          response: { 200: SeriesSchema, ...problems(400, 401, 404, 409, 413, 415) },
        },
      },
      async (request) => present(await series.update(request.params.id, request.body, request.organizer)),
    );

    routes.delete(
      '/series/:id',
      {
        schema: {
          ...common,
          summary: 'Delete a series (its sessions and registrations stay)',
          params: IdParams,
          response: { 204: Type.Null({ description: 'deleted' }), ...problems(400, 401, 404) },
        },
      },
      async (request, reply) => {
        await series.remove(request.params.id, request.organizer);
        return reply.code(204).send(null);
      },
    );
  });

  app.get(
    '/public/series/:slug',
    {
      schema: {
        tags: ['public'],
        summary: 'A series and its published sessions that have not ended',
        params: SeriesSlugParams,
        response: { 200: PublicSeriesSchema, ...problems(404) },
      },
    },
    async (request) => presentPublicSeries(await series.publicBySlug(request.params.slug), publicBaseUrl, clock.now()),
  );

  app.post(
    '/public/series/:slug/registrations',
    {
      onRequest: limits ? [limits.perIp] : [],
      preValidation: readFormConsent,
      schema: {
        tags: ['public'],
        summary: 'Register for each session of a series with one form',
        description:
          "The body of a session's registration, without answers or an access code: a session that asks a required question of its own, or an access code, is left out (`seriesForm: false`; register on its own page). Registers the person for each published session of the series that has not ended, each as its own registration would (a seat, a waitlist place, or the manage link again; a session that is full, closed or not open to this address is skipped), with each session's own e-mail and invite, and one summary e-mail listing them when something new was registered. Every valid request that a session took gets the same 202, byte for byte, whatever each session did. 409 when no session took it (full or closed), 403 when every one refused this address. The per-recipient rate limit counts the request once. An Idempotency-Key header makes retries safe.",
        params: SeriesSlugParams,
        headers: IdempotencyHeaders,
        body: RegisterBody,
        response: { 202: SeriesAnswerSchema, ...problems(400, 403, 404, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const admitRecipient = limits ? (email: string) => limits.checkRecipient(request, email) : undefined;
      const answer = async () => {
        const { series: row } = await series.register(request.params.slug, request.body, { admitRecipient });
        return { statusCode: 202, body: presentSeriesAnswer(row) };
      };
      return sendIdempotently(idempotency, request, reply as unknown as FastifyReply, `register-series:${request.params.slug}`, answer);
    },
  );
};
