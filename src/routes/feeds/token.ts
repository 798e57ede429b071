import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FeedsService } from '../../services/feeds.service.js';
import { TokenParams } from '../registrations/schemas.js';
import { problems } from '../schemas.js';
import { FeedLinksSchema } from './schemas.js';

/** The registrant replaces their personal feed URL (by the secret manage token); under /api/v1. */
export const feedTokenRoutes: FastifyPluginAsyncTypebox<{ feeds: FeedsService }> = async (app, { feeds }) => {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'private, no-store');
  });

  app.post(
    '/registrations/:manageToken/feed-token',
    {
      schema: {
        tags: ['public'],
        summary: 'Replace the personal calendar feed URL (the old one answers 404 at once)',
        description: "The feed belongs to the attendee, across all their sessions; any of their manage tokens may replace it.",
        params: TokenParams,
        response: { 200: FeedLinksSchema, ...problems(404) },
      },
    },
    async (request) => feeds.replaceToken(request.params.manageToken),
  );
};
