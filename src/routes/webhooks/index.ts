import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_EVENTS, type WebhookDeliveryRow } from '../../../db/schema/index.js';
import { SUBSCRIBABLE_EVENTS, WEBHOOK_DESCRIPTION_MAX_LENGTH, type WebhookEndpoint, type WebhookEndpointsService } from '../../services/webhooks/endpoints.service.js';
import { bearer, IdParams, Nullable, problems, StringEnum } from '../schemas.js';

const Url = Type.String({ minLength: 1, maxLength: 2000, description: 'https and a public address (WEBHOOK_ALLOW_PRIVATE=true also allows http and private addresses)' });
const Events = Type.Array(StringEnum(SUBSCRIBABLE_EVENTS), { minItems: 1, maxItems: SUBSCRIBABLE_EVENTS.length * 2, description: 'the events to send; `ping` is sent by a test alone' });
const Description = Nullable(Type.String({ maxLength: WEBHOOK_DESCRIPTION_MAX_LENGTH }));

const EndpointSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Nullable(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Nullable(Type.String({ description: 'why Convene disabled it (a 410, five days of failures); null otherwise' })),
  failingSince: Nullable(Type.String({ format: 'date-time', description: 'the first failure since the last success' })),
  previousSecretExpiresAt: Nullable(Type.String({ format: 'date-time', description: 'after a rotation: until when the previous secret also signs' })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const WithSecret = Type.Composite([EndpointSchema, Type.Object({ secret: Type.String({ description: '`whsec_` and base64 of 32 random bytes; shown this once' }) })]);

const DeliverySchema = Type.Object({
  id: Type.String({ description: 'the webhook-id, the same on every attempt' }),
  type: StringEnum(WEBHOOK_EVENTS),
  status: StringEnum(WEBHOOK_DELIVERY_STATUSES),
  occurredAt: Type.String({ format: 'date-time' }),
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time', description: 'while pending' })),
  statusCode: Nullable(Type.Integer({ description: "the receiver's last answer" })),
  lastError: Nullable(Type.String()),
  deliveredAt: Nullable(Type.String({ format: 'date-time' })),
  data: Type.Record(Type.String(), Type.Unknown()),
});

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function present(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    description: endpoint.description,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    failingSince: iso(endpoint.failingSince),
    previousSecretExpiresAt: iso(endpoint.previousSecretExpiresAt),
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  };
}

function presentDelivery(row: WebhookDeliveryRow) {
  return {
    id: row.id,
    type: row.eventType,
    status: row.status,
    occurredAt: row.occurredAt.toISOString(),
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    statusCode: row.lastStatusCode,
    lastError: row.lastError,
    deliveredAt: iso(row.deliveredAt),
    data: row.data,
  };
}

/** Webhook endpoints (api.md "API keys and webhooks"): the caller's own; an admin's, all. */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhookEndpointsService }> = async (app, { webhooks }) => {
  const common = { tags: ['webhooks'], security: bearer };
  app.addHook('onRequest', app.authenticate);

  app.post(
    '/webhooks',
    {
      schema: {
        ...common,
        summary: 'Add a webhook endpoint',
        description:
          'The endpoint gets the chosen events of the sessions its owner hosts (an admin: all), signed per the Standard Webhooks specification with the secret answered here once. Audited as `webhook.create`. At most 20 per organizer (409).',
        body: Type.Object({ url: Url, events: Events, description: Type.Optional(Description) }, { additionalProperties: false }),
        response: { 201: WithSecret, ...problems(400, 401, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { endpoint, secret } = await webhooks.create(request.organizer, request.body);
      return reply.code(201).send({ ...present(endpoint), secret });
    },
  );

  app.get(
    '/webhooks',
    { schema: { ...common, summary: 'Your webhook endpoints (an admin: all)', response: { 200: Type.Object({ items: Type.Array(EndpointSchema) }), ...problems(401) } } },
    async (request) => ({ items: (await webhooks.list(request.organizer)).map(present) }),
  );

  app.get(
    '/webhooks/:id',
    { schema: { ...common, summary: 'A webhook endpoint', params: IdParams, response: { 200: EndpointSchema, ...problems(401, 404) } } },
    async (request) => present(await webhooks.get(request.organizer, request.params.id)),
  );

  app.patch(
    '/webhooks/:id',
    {
      schema: {
        ...common,
        summary: 'Change a webhook endpoint',
        description: 'Enabling it again clears the reason it was disabled and its failing streak; events waiting for it are then delivered. Audited as `webhook.update`.',
        params: IdParams,
        body: Type.Object(
          { url: Type.Optional(Url), events: Type.Optional(Events), description: Type.Optional(Description), enabled: Type.Optional(Type.Boolean()) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: EndpointSchema, ...problems(400, 401, 404, 413, 415) },
      },
    },
    async (request) => present(await webhooks.update(request.organizer, request.params.id, request.body)),
  );

  app.delete(
    '/webhooks/:id',
    { schema: { ...common, summary: 'Delete a webhook endpoint and its delivery log', params: IdParams, response: { 204: Type.Null(), ...problems(401, 404) } } },
    async (request, reply) => {
      await webhooks.remove(request.organizer, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      schema: {
        ...common,
        summary: "Rotate an endpoint's signing secret",
        description: 'Answers the new secret once; for 24 hours every delivery carries two signatures (the new secret and the previous one), so the receiver can switch without losing an event. Audited as `webhook.rotate_secret`.',
        params: IdParams,
        response: { 200: WithSecret, ...problems(401, 404) },
      },
    },
    async (request) => {
      const { endpoint, secret } = await webhooks.rotateSecret(request.organizer, request.params.id);
      return { ...present(endpoint), secret };
    },
  );

  app.post(
    '/webhooks/:id/test',
    {
      schema: {
        ...common,
        summary: 'Send a ping event',
        description: 'Delivered like any event (signed, retried), also to a disabled endpoint; its outcome is in the delivery log.',
        params: IdParams,
        response: { 202: DeliverySchema, ...problems(401, 404) },
      },
    },
    async (request, reply) => reply.code(202).send(presentDelivery(await webhooks.ping(request.organizer, request.params.id))),
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        ...common,
        summary: "An endpoint's delivery log, newest first",
        params: IdParams,
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })), cursor: Type.Optional(Type.String({ maxLength: 20 })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(DeliverySchema), nextCursor: Nullable(Type.String()) }), ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const page = await webhooks.deliveries(request.organizer, request.params.id, { limit: request.query.limit ?? 50, ...(request.query.cursor ? { cursor: request.query.cursor } : {}) });
      return { items: page.items.map(presentDelivery), nextCursor: page.nextCursor };
    },
  );
};
