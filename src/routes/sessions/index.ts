import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Clock } from '../../clock.js';
import type { SessionsService } from '../../services/sessions.service.js';
import { bearer, IdParams, problems } from '../schemas.js';
import { presentSession } from './presenter.js';
import { CancelSessionBody, CreateSessionBody, HostsBody, ListSessionsQuery, PatchSessionBody, SessionSchema } from './schemas.js';

export interface SessionRoutesOptions {
  sessions: SessionsService;
  clock: Clock;
  publicBaseUrl: string;
}

/** Routes under /sessions/{id} answer only the session's hosts and admins: src/plugins/hosts.ts guards them all. */
export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRoutesOptions> = async (app, { sessions, clock, publicBaseUrl }) => {
  app.addHook('onRequest', app.authenticate);
  const present = (row: Parameters<typeof presentSession>[0]) => presentSession(row, publicBaseUrl, clock.now());
  const common = { tags: ['sessions'], security: bearer };

  app.post(
    '/sessions',
    {
      schema: {
        ...common,
        summary: 'Create a session (a draft until published)',
        body: CreateSessionBody,
        response: { 201: SessionSchema, ...problems(400, 401, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { organizer } = request;
      const row = await sessions.create(request.body, organizer);
      return reply.code(201).header('location', `/api/v1/sessions/${row.id}`).send(present(row));
    },
  );

  app.get(
    '/sessions',
    {
      schema: {
        ...common,
        summary: 'List the sessions the caller hosts (an admin: every session), soonest first',
        querystring: ListSessionsQuery,
        response: { 200: Type.Object({ items: Type.Array(SessionSchema) }), ...problems(400, 401) },
      },
    },
    async (request) => {
      const rows = await sessions.list({ ...request.query, limit: request.query.limit ?? 100 }, request.organizer);
      return { items: rows.map(present) };
    },
  );

  app.get(
    '/sessions/:id',
    { schema: { ...common, summary: 'One session with its counts', params: IdParams, response: { 200: SessionSchema, ...problems(400, 401, 404) } } },
    async (request) => present(await sessions.get(request.params.id)),
  );

  app.patch(
    '/sessions/:id',
    {
      schema: {
        ...common,
        summary: 'Change a session',
        description:
          'A change of time, zone, title, description or join instructions raises `sequence` (the invite SEQUENCE). Lowering capacity under the confirmed count is 409, and so is a change of `followUp` once the follow-up was sent.',
        params: IdParams,
        body: PatchSessionBody,
        response: { 200: SessionSchema, ...problems(400, 401, 404, 409, 413, 415) },
      },
    },
    async (request) => present((await sessions.update(request.params.id, request.body, request.organizer)).session),
  );

  app.post(
    '/sessions/:id/publish',
    { schema: { ...common, summary: 'Publish a draft', params: IdParams, response: { 200: SessionSchema, ...problems(400, 401, 404, 409) } } },
    async (request) => present(await sessions.publish(request.params.id, request.organizer)),
  );

  app.post(
    '/sessions/:id/cancel',
    {
      // The reason is optional, and so is the body that carries it.
      preValidation: async (request) => {
        if (request.body == null) request.body = {};
      },
      schema: {
        ...common,
        summary: 'Cancel a session',
        params: IdParams,
        body: CancelSessionBody,
        response: { 200: SessionSchema, ...problems(400, 401, 404, 409) },
      },
    },
    async (request) => present(await sessions.cancel(request.params.id, request.body.reason?.trim() || null, request.organizer)),
  );

  app.post(
    '/sessions/:id/follow-up',
    {
      schema: {
        ...common,
        summary: 'Send the follow-up once: one e-mail to those who attended, another to confirmed no-shows',
        params: IdParams,
        response: {
          202: Type.Object({ attended: Type.Integer(), noShows: Type.Integer() }),
          ...problems(400, 401, 404, 409),
        },
      },
    },
    async (request, reply) => reply.code(202).send(await sessions.sendFollowUp(request.params.id, request.organizer)),
  );

  app.put(
    '/sessions/:id/hosts',
    {
      schema: {
        ...common,
        summary: 'Replace who hosts a session (a host or an admin)',
        description:
          'Each id must be an enabled organizer (400 naming the field otherwise); duplicates collapse; at least one. Hosts who stay keep their place, new ones follow in the order given. Recorded in the audit log.',
        params: IdParams,
        body: HostsBody,
        response: { 200: SessionSchema, ...problems(400, 401, 404, 413, 415) },
      },
    },
    async (request) => present(await sessions.setHosts(request.params.id, request.body.organizerIds, request.organizer)),
  );

  app.delete(
    '/sessions/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a draft session that has no registrations',
        params: IdParams,
        response: { 204: Type.Null({ description: 'deleted' }), ...problems(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      await sessions.remove(request.params.id, request.organizer);
      return reply.code(204).send(null);
    },
  );
};
