import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../../services/index.js';
import type { NotificationStatus, RegistrationStatus } from '../../../db/schema/index.js';
import { bearer, IdParams, Nullable, problems, StringEnum } from '../schemas.js';
import { presentRegistration } from './presenter.js';
import { ListRegistrationsQuery, NotificationSchema, OrganizerRegisterBody, RegistrationParams, RegistrationSchema } from './schemas.js';

/** Routes under /sessions/{id} answer only the session's hosts and admins: src/plugins/hosts.ts guards them all. */
export const organizerRegistrationRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { registrations } = services;
  app.addHook('onRequest', app.authenticate);
  const common = { tags: ['registrations'], security: bearer };

  app.get(
    '/sessions/:id/registrations',
    {
      schema: {
        ...common,
        summary: 'Registrations of a session, oldest first or by name, with cursor pagination',
        params: IdParams,
        querystring: ListRegistrationsQuery,
        response: {
          200: Type.Object({ items: Type.Array(RegistrationSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          ...problems(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { status, attendance, organisationId, q, sort, limit, cursor } = request.query;
      const page = await registrations.list(request.params.id, {
        statuses: status ? (status.split(',') as RegistrationStatus[]) : undefined,
        attendance,
        organisationId: organisationId === 'none' ? null : organisationId,
        q,
        sort: sort === 'name' ? 'name' : 'registered',
        cursor,
        limit: limit ?? 50,
      });
      return { items: page.items.map(presentRegistration), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/sessions/:id/registrations',
    {
      schema: {
        ...common,
        summary: 'Add someone by hand ("force": true may exceed the capacity)',
        params: IdParams,
        body: OrganizerRegisterBody,
        response: { 201: RegistrationSchema, ...problems(400, 401, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const registration = await registrations.addByOrganizer(request.params.id, request.body, request.organizer.id, request.organizer);
      return reply.code(201).send(presentRegistration(registration));
    },
  );

  app.post(
    '/sessions/:id/registrations/:registrationId/cancel',
    {
      schema: { ...common, summary: 'Cancel for them (promotes the first waiting person)', params: RegistrationParams, response: { 200: RegistrationSchema, ...problems(400, 401, 404) } },
    },
    async (request) => presentRegistration(await registrations.cancelForSession(request.params.id, request.params.registrationId, request.organizer)),
  );

  app.post(
    '/sessions/:id/registrations/:registrationId/approve',
    {
      schema: {
        ...common,
        summary: 'Approve a pending request: a seat when one is free and nobody waits, else a waitlist place; 409 when not pending or when there is no room',
        params: RegistrationParams,
        response: { 200: RegistrationSchema, ...problems(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const { id, registrationId } = request.params;
      await registrations.approveOne(id, registrationId, request.organizer);
      return presentRegistration(await registrations.getOfSession(id, registrationId));
    },
  );

  app.post(
    '/sessions/:id/registrations/:registrationId/decline',
    {
      // The reason is optional, and so is the body that carries it.
      preValidation: async (request) => {
        if (request.body == null) request.body = {};
      },
      schema: {
        ...common,
        summary: 'Decline a pending request, with an e-mail (and the reason, when given); 409 when not pending',
        params: RegistrationParams,
        body: Type.Object({ reason: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))) }, { additionalProperties: false }),
        response: { 200: RegistrationSchema, ...problems(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const { id, registrationId } = request.params;
      const reason = request.body.reason?.trim() || null;
      await registrations.decline(id, registrationId, reason, request.organizer);
      return presentRegistration(await registrations.getOfSession(id, registrationId));
    },
  );

  app.post(
    '/sessions/:id/registrations/approve',
    {
      schema: {
        ...common,
        summary: 'Approve pending requests in the order given; each outcome: confirmed, waitlisted, full (stays pending) or not-pending',
        params: IdParams,
        body: Type.Object(
          { ids: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 500, uniqueItems: true }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                registrationId: Type.String({ format: 'uuid' }),
                outcome: StringEnum(['confirmed', 'waitlisted', 'full', 'not-pending'] as const),
              }),
            ),
          }),
          ...problems(400, 401, 404, 409),
        },
      },
    },
    async (request) => ({ items: await registrations.approve(request.params.id, request.body.ids, request.organizer) }),
  );

  app.get(
    '/sessions/:id/notifications',
    {
      schema: {
        tags: ['notifications'],
        security: bearer,
        summary: 'The e-mail delivery log of a session (pending, queued, sent, failed with the reason, skipped)',
        params: IdParams,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.String({ pattern: '^(pending|queued|sent|failed|skipped)(,(pending|queued|sent|failed|skipped))*$' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(NotificationSchema) }), ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const statuses = request.query.status?.split(',') as NotificationStatus[] | undefined;
      const page = await services.notificationLog.list(request.params.id, { statuses, limit: request.query.limit ?? 200 });
      return {
        items: page.items.map((row) => ({
          ...row,
          createdAt: row.createdAt.toISOString(),
          sentAt: row.sentAt?.toISOString() ?? null,
        })),
      };
    },
  );

  app.post(
    '/sessions/:id/registrations/:registrationId/check-in',
    {
      schema: { ...common, summary: 'Mark as attended', params: RegistrationParams, response: { 200: RegistrationSchema, ...problems(400, 401, 404, 409) } },
    },
    async (request) => presentRegistration(await registrations.checkIn(request.params.id, request.params.registrationId, request.organizer)),
  );
};
