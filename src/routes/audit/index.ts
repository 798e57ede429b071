import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuditRow } from '../../../db/schema/index.js';
import type { AuditService } from '../../services/audit.service.js';
import { bearer, DateTime, Nullable, problems } from '../schemas.js';

const AuditEntrySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  at: Type.String({ format: 'date-time' }),
  actor: Nullable(Type.Object({ id: Nullable(Type.String({ format: 'uuid' })), email: Nullable(Type.String()) }), {
    description: 'null for the system (the retention job, the first admin)',
  }),
  action: Type.String({ examples: ['session.create', 'registration.check_in', 'export.attendees', 'attendee.erase'] }),
  subjectType: Type.String({ examples: ['session', 'registration', 'organizer', 'attendee', 'export'] }),
  subjectId: Nullable(Type.String({ format: 'uuid' })),
  details: Type.Object({}, { additionalProperties: true, description: 'facts of the change; never an attendee\'s personal data' }),
});

/** The API's filters, also checked against by the console's audit page (src/routes/console/admin.ts). */
export const AuditQuery = Type.Object(
  {
    from: Type.Optional(DateTime({ description: 'entries at or after this instant' })),
    to: Type.Optional(DateTime({ description: 'entries before this instant' })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'an organizer id, or the e-mail they acted with' })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z_.]+$' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

function present(row: AuditRow) {
  return {
    id: row.id,
    at: row.at.toISOString(),
    actor: row.actorId === null && row.actorEmail === null ? null : { id: row.actorId, email: row.actorEmail },
    action: row.action,
    subjectType: row.subjectType,
    subjectId: row.subjectId,
    details: row.details,
  };
}

/** The audit log, newest first, for admins. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ audit: AuditService }> = async (app, { audit }) => {
  app.get(
    '/audit',
    {
      onRequest: app.requireAdmin,
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first, with cursor pagination (admin)',
        description: 'Every organizer change (sessions, registrations by hand, cancellations, check-ins, organizer accounts), every export with its row count, and every erasure.',
        security: bearer,
        querystring: AuditQuery,
        response: {
          200: Type.Object({ items: Type.Array(AuditEntrySchema), nextCursor: Nullable(Type.String()) }),
          ...problems(400, 401, 403),
        },
      },
    },
    async (request) => {
      const { from, to, actor, action, limit, cursor } = request.query;
      const page = await audit.list({ from, to, actor, action, cursor, limit: limit ?? 100 });
      return { items: page.items.map(present), nextCursor: page.nextCursor };
    },
  );
};
