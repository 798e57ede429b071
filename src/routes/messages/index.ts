import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MESSAGE_AUDIENCES } from '../../../db/schema/index.js';
import { MESSAGE_BODY_MAX_LENGTH, MESSAGE_SUBJECT_MAX_LENGTH, type MessageSummary } from '../../services/messages.service.js';
import type { Services } from '../../services/index.js';
import { bearer, IdParams, problems, StringEnum } from '../schemas.js';
import { NotificationSchema } from '../registrations/schemas.js';

const MessageSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  subject: Type.String(),
  body: Type.String(),
  audience: StringEnum(MESSAGE_AUDIENCES),
  test: Type.Boolean({ description: 'sent to the organizer who asked, alone' }),
  recipients: Type.Integer({ description: 'e-mails written when it was sent' }),
  pending: Type.Integer(),
  sent: Type.Integer(),
  failed: Type.Integer(),
  skipped: Type.Integer({ description: 'not sent: the person left meanwhile, or was erased' }),
  createdAt: Type.String({ format: 'date-time' }),
});

const MessageParams = Type.Object(
  { id: Type.String({ format: 'uuid' }), messageId: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);

function presentMessage(message: MessageSummary) {
  const { id, subject, body, audience, recipients, pending, sent, failed, skipped, testTo, createdAt } = message;
  return { id, subject, body, audience, test: testTo !== null, recipients, pending, sent, failed, skipped, createdAt: createdAt.toISOString() };
}

/** Messages to a session's people (routes under /sessions/{id}: the hosts guard answers for them). */
export const messageRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { messages } = services;
  app.addHook('onRequest', app.authenticate);
  const common = { tags: ['messages'], security: bearer };

  app.post(
    '/sessions/:id/messages',
    {
      schema: {
        ...common,
        summary: 'Write to the people of a session (or, with test, to yourself alone); 202 with the number of recipients',
        description:
          'One e-mail per recipient through the outbox, delivered in batches like reminders: the plain-text body (web addresses become links in the HTML part), then the person\'s manage link. `attended` and `no-show` only once the session has started (409 before). An `id` of your own makes a retry safe: the same id again answers the first message and sends nothing twice.',
        params: IdParams,
        body: Type.Object(
          {
            id: Type.Optional(Type.String({ format: 'uuid', description: 'your id for this message, for safe retries' })),
            subject: Type.String({ minLength: 1, maxLength: MESSAGE_SUBJECT_MAX_LENGTH }),
            body: Type.String({ minLength: 1, maxLength: MESSAGE_BODY_MAX_LENGTH }),
            audience: StringEnum(MESSAGE_AUDIENCES, { description: 'all: every active registration (confirmed, waitlisted, pending, offered)' }),
            test: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ id: Type.String({ format: 'uuid' }), recipients: Type.Integer() }), ...problems(400, 401, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { id, ...input } = request.body;
      const message = await messages.send(request.params.id, input, request.organizer, request.organizer, id);
      return reply.code(202).send({ id: message.id, recipients: message.recipients });
    },
  );

  app.get(
    '/sessions/:id/messages',
    {
      schema: {
        ...common,
        summary: "The session's messages, newest first, with their delivery counts",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(MessageSchema) }), ...problems(400, 401, 404) },
      },
    },
    async (request) => ({ items: (await messages.list(request.params.id)).map(presentMessage) }),
  );

  app.get(
    '/sessions/:id/messages/:messageId/notifications',
    {
      schema: {
        ...common,
        summary: "One message's delivery log (pending, queued, sent, failed with the reason, skipped)",
        params: MessageParams,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ message: MessageSchema, items: Type.Array(NotificationSchema) }), ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const { id, messageId } = request.params;
      const message = await messages.get(id, messageId);
      const page = await services.notificationLog.list(id, { sessionMessageId: messageId, limit: request.query.limit ?? 200 });
      return {
        message: presentMessage(message),
        items: page.items.map((row) => ({ ...row, createdAt: row.createdAt.toISOString(), sentAt: row.sentAt?.toISOString() ?? null })),
      };
    },
  );
};
