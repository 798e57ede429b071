import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { NotFoundError } from '../../errors.js';
import type { FeedsService, FeedVersion, RenderedFeed } from '../../services/feeds.service.js';
import { ProblemSchema } from '../schemas.js';
import { createFeedBodyCache, type FeedBodyCache } from './cache.js';
import { CalendarBody, conditionalHeaders, FeedTokenParams, SlugFeedParams } from './schemas.js';

export interface FeedRoutesOptions {
  feeds: FeedsService;
  /** Rendered public feeds are shared between instances here, keyed by their ETag; absent: always render. */
  redis?: Redis;
}

const PUBLIC_CACHE = 'public, max-age=300';
const PRIVATE_CACHE = 'private, max-age=300';
const CALENDAR_TYPE = 'text/calendar; charset=utf-8';

/**
 * RFC 9110 13.1.2 and 13.2.2: If-None-Match (weak comparison, `*` matches) decides when
 * present; only without it does If-Modified-Since count (HTTP dates have whole seconds).
 */
export function notModified(request: FastifyRequest, version: FeedVersion): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true;
    return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === version.etag);
  }
  const ifModifiedSince = request.headers['if-modified-since'];
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && Math.floor(version.lastModified.getTime() / 1000) * 1000 <= since;
}

function validators(reply: FastifyReply, version: FeedVersion, cacheControl: string): FastifyReply {
  return reply.header('etag', version.etag).header('last-modified', version.lastModified.toUTCString()).header('cache-control', cacheControl);
}

/**
 * Calendar subscription feeds (no auth; a personal feed's token is its key). A poll costs one
 * small query; only a changed feed is rendered (or, for the public ones, fetched from the
 * shared cache under its ETag).
 */
export const feedRoutes: FastifyPluginAsyncTypebox<FeedRoutesOptions> = async (app, { feeds, redis }) => {
  const cache: FeedBodyCache | null = redis ? createFeedBodyCache(redis) : null;
  // Concurrent polls of a feed that just changed share one render (nothing outlives the render).
  const rendering = new Map<string, Promise<RenderedFeed | null>>();

  app.addHook('onSend', async (_request, reply) => {
    reply.header('referrer-policy', 'no-referrer');
    if (reply.statusCode >= 400) reply.header('cache-control', 'no-store');
  });

  function renderOnce(key: string, render: () => Promise<RenderedFeed | null>): Promise<RenderedFeed | null> {
    let pending = rendering.get(key);
    if (!pending) {
      pending = render().finally(() => rendering.delete(key));
      rendering.set(key, pending);
    }
    return pending;
  }

  async function answer(
    request: FastifyRequest,
    reply: FastifyReply,
    version: FeedVersion | null,
    render: () => Promise<RenderedFeed | null>,
    options: { cacheControl: string; shared: boolean; missing: string },
  ) {
    if (!version) throw new NotFoundError(options.missing);
    if (notModified(request, version)) return validators(reply, version, options.cacheControl).code(304).send();
    let feed: (FeedVersion & { body: string | Buffer }) | null = null;
    const cached = options.shared && cache ? await cache.get(version.etag) : null;
    if (cached !== null) feed = { ...version, body: cached };
    else {
      const rendered = await renderOnce(version.etag, render);
      // The render read its own snapshot: its ETag labels its body, even if the feed changed meanwhile.
      if (rendered && options.shared && cache) cache.set(rendered.etag, rendered.body);
      feed = rendered;
    }
    if (!feed) throw new NotFoundError(options.missing);
    return validators(reply, feed, options.cacheControl)
      .type(CALENDAR_TYPE)
      .serializer((payload: unknown) => String(payload))
      // A cached body is a Buffer, sent as it is; a fresh render is a string.
      .send(feed.body as string);
  }

  // Per media type, so the document says text/calendar for the feed and problem+json for errors.
  const responses = {
    200: { description: 'the calendar', content: { 'text/calendar': { schema: CalendarBody } } },
    304: { description: 'Not modified: the ETag and Last-Modified still hold', type: 'null' },
  };
  const notFound = { 404: { description: 'No such feed', content: { 'application/problem+json': { schema: ProblemSchema } } } };

  app.get(
    '/feeds/sessions.ics',
    {
      schema: {
        tags: ['feeds'],
        summary: 'Every published session from 30 days ago on; cancelled ones as STATUS:CANCELLED for 30 days',
        description:
          'A calendar subscription. Strong ETag and Last-Modified; 304 to If-None-Match / If-Modified-Since. Cache-Control: public, max-age=300.',
        headers: conditionalHeaders,
        response: responses,
      },
    },
    async (request, reply) =>
      answer(request, reply, await feeds.publicVersion(), () => feeds.renderPublic(), {
        cacheControl: PUBLIC_CACHE,
        shared: true,
        missing: 'No such feed',
      }),
  );

  app.get(
    '/feeds/sessions/:slug.ics',
    {
      schema: {
        tags: ['feeds'],
        summary: 'One published (or cancelled) session as a calendar',
        headers: conditionalHeaders,
        params: SlugFeedParams,
        response: { ...responses, ...notFound },
      },
    },
    async (request, reply) => {
      const { slug } = request.params;
      return answer(request, reply, await feeds.sessionVersion(slug), () => feeds.renderSession(slug), {
        cacheControl: PUBLIC_CACHE,
        shared: true,
        missing: 'No published session with this address',
      });
    },
  );

  app.get(
    '/feeds/attendees/:feedToken.ics',
    {
      schema: {
        tags: ['feeds'],
        summary: "The attendee's confirmed sessions with their personal join links (by the secret feed token)",
        description:
          'The same UIDs and SEQUENCE as the e-mailed invites; cancelled registrations disappear. Cache-Control: private, max-age=300; Referrer-Policy: no-referrer.',
        headers: conditionalHeaders,
        params: FeedTokenParams,
        response: { ...responses, ...notFound },
      },
    },
    async (request, reply) => {
      const { feedToken } = request.params;
      // Bodies with join links are never put in the shared cache: tokens are stored nowhere.
      return answer(request, reply, await feeds.personalVersion(feedToken), () => feeds.renderPersonal(feedToken), {
        cacheControl: PRIVATE_CACHE,
        shared: false,
        missing: 'This feed address is not valid (it may have been replaced)',
      });
    },
  );
};
