import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { JoinService } from '../../services/join.service.js';
import { messagePage } from '../../web/message-page.js';

export const joinRoutes: FastifyPluginAsyncTypebox<{ join: JoinService }> = async (app, { join }) => {
  app.get(
    '/j/:joinToken',
    {
      schema: {
        tags: ['public'],
        summary: 'Personal join link: 302 to the meeting inside the join window, otherwise a page saying why',
        params: Type.Object({ joinToken: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 302: Type.Null(), '4xx': Type.String({ description: 'text/html page saying why' }) },
      },
    },
    async (request, reply) => {
      reply.header('referrer-policy', 'no-referrer').header('cache-control', 'private, no-store');
      const outcome = await join.resolve(request.params.joinToken, { record: request.method === 'GET' });
      if (outcome.kind === 'redirect') return reply.redirect(outcome.url, 302);
      return reply
        .code(outcome.status)
        .type('text/html; charset=utf-8')
        .serializer((page: unknown) => String(page))
        .send(messagePage(outcome.title, outcome.message) as never);
    },
  );
};
