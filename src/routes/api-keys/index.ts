import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_KEYS_PER_ORGANIZER_MAX, type ApiKey, type ApiKeysService } from '../../services/api-keys.service.js';
import { bearer, IdParams, problems } from '../schemas.js';
import { ApiKeySchema, NewApiKeyBody, NewApiKeySchema } from './schemas.js';

function present(key: ApiKey) {
  const { id, name, prefix, createdAt, lastUsedAt } = key;
  return { id, name, prefix, createdAt: createdAt.toISOString(), lastUsedAt: lastUsedAt?.toISOString() ?? null };
}

/**
 * The caller's API keys (api.md "API keys and webhooks"). Every organizer manages their own and
 * sees no one else's, admins included. A key may call these routes too: it acts as its organizer.
 */
export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ apiKeys: ApiKeysService }> = async (app, { apiKeys }) => {
  const common = { tags: ['auth'], security: bearer };

  app.post(
    '/api-keys',
    {
      onRequest: app.authenticate,
      schema: {
        ...common,
        summary: 'Make an API key',
        description:
          `The answer holds the key itself, which is never shown again. The key acts as the caller (the sessions they host, their role) until deleted or until the caller is disabled. ` +
          `At most ${API_KEYS_PER_ORGANIZER_MAX} keys per organizer (409 beyond). Audited as \`api_key.create\`.`,
        body: NewApiKeyBody,
        response: { 201: NewApiKeySchema, ...problems(400, 401, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const created = await apiKeys.create(request.organizer, request.body.name);
      return reply.code(201).send({ ...present(created), key: created.key });
    },
  );

  app.get(
    '/api-keys',
    {
      onRequest: app.authenticate,
      schema: {
        ...common,
        summary: "The caller's API keys, newest first",
        description: 'Never the key itself: its first characters (`prefix`) tell keys apart.',
        response: { 200: Type.Object({ items: Type.Array(ApiKeySchema) }), ...problems(401) },
      },
    },
    async (request) => ({ items: (await apiKeys.list(request.organizer.id)).map(present) }),
  );

  app.delete(
    '/api-keys/:id',
    {
      onRequest: app.authenticate,
      schema: {
        ...common,
        summary: 'Delete one of your API keys',
        description: "The key is refused (401) from the next request on. Another organizer's key is 404. Audited as `api_key.delete`.",
        params: IdParams,
        response: { 204: Type.Null({ description: 'deleted' }), ...problems(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await apiKeys.remove(request.organizer, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
