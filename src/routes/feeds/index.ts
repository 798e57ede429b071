import { Negotiator } from '@fastify/accept-negotiator';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { NotFoundError } from '../../errors.js';
import type { FeedsService, FeedVersion, RenderedFeed } from '../../services/feeds.service.js';
import { ProblemSchema } from '../schemas.js';
import { createFeedBodyCache, gzipBytes, type FeedBody } from './cache.js';
import { CalendarBody, conditionalHeaders, FeedTokenParams, SlugFeedParams } from './schemas.js';

export interface FeedRoutesOptions {
  feeds: FeedsService;
  /** Rendered public feeds are shared between instances here, keyed by their ETag; absent: only this process keeps them. */
  redis?: Redis;
}

const PUBLIC_CACHE = 'public, max-age=300';
const PRIVATE_CACHE = 'private, max-age=300';
const CALENDAR_TYPE = 'text/calendar; charset=utf-8';

type Coding = keyof FeedBody;
/** What a feed answer sends: its validators and its bytes in the coding(s) at hand. */
type ServedFeed = FeedVersion & { bytes: Partial<FeedBody> };
// Calendar apps ask for gzip; a feed of 200 sessions shrinks about tenfold.
const codings = new Negotiator<Coding>({ supportedValues: ['gzip', 'identity'], cache: new Map() });

/** The coding to send: gzip when the client accepts it, otherwise the bytes as they are. */
export function chooseCoding(acceptEncoding: string | undefined): Coding {
  if (!acceptEncoding) return 'identity';
  return codings.negotiate(acceptEncoding) === 'gzip' ? 'gzip' : 'identity';
}

/**
 * The strong validator of one representation: gzip bytes differ from the plain ones, so they get
 * their own ETag (RFC 9110 8.8.3.3), derived from the version's.
 */
export function etagFor(version: FeedVersion, coding: Coding): string {
  return coding === 'gzip' ? `${version.etag.slice(0, -1)}-gzip"` : version.etag;
}

/**
 * RFC 9110 13.1.2 and 13.2.2: If-None-Match (weak comparison, `*` matches) decides when
 * present; only without it does If-Modified-Since count (HTTP dates have whole seconds). Either
 * coding's ETag matches: both name the same version.
 */
export function notModified(request: FastifyRequest, version: FeedVersion): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true;
    const gzipTag = etagFor(version, 'gzip');
    return ifNoneMatch.split(',').some((tag) => {
      const opaque = tag.trim().replace(/^W\//, '');
      return opaque === version.etag || opaque === gzipTag;
    });
  }
  const ifModifiedSince = request.headers['if-modified-since'];
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && Math.floor(version.lastModified.getTime() / 1000) * 1000 <= since;
}

function validators(reply: FastifyReply, version: FeedVersion, coding: Coding, cacheControl: string): FastifyReply {
  return reply
    .header('etag', etagFor(version, coding))
    .header('last-modified', version.lastModified.toUTCString())
    .header('cache-control', cacheControl)
    .header('vary', 'accept-encoding');
}

/**
 * Calendar subscription feeds (no auth; a personal feed's token is its key). A poll costs a
 * version read shared with the polls of the same moment; only a changed feed is rendered (or,
 * for the public ones, taken from the cache under its ETag).
 */
export const feedRoutes: FastifyPluginAsyncTypebox<FeedRoutesOptions> = async (app, { feeds, redis }) => {
  const cache = createFeedBodyCache(redis);
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

  /** A public feed's body in both codings: cached by ETag, rendered on a miss. */
  async function sharedBody(version: FeedVersion, render: () => Promise<RenderedFeed | null>): Promise<ServedFeed | null> {
    const cached = await cache.get(version.etag);
    if (cached) return { ...version, bytes: cached };
    const rendered = await renderOnce(version.etag, render);
    if (!rendered) return null;
    // The render read its own snapshot: its ETag labels its body, even if the feed changed meanwhile.
    return { etag: rendered.etag, lastModified: rendered.lastModified, bytes: await cache.put(rendered.etag, rendered.body) };
  }

  /** A personal feed's body, in the one coding asked for: kept nowhere (it holds join links). */
  async function personalBody(version: FeedVersion, render: () => Promise<RenderedFeed | null>, coding: Coding): Promise<ServedFeed | null> {
    const rendered = await renderOnce(version.etag, render);
    if (!rendered) return null;
    const identity = Buffer.from(rendered.body, 'utf8');
    const bytes = coding === 'gzip' ? { gzip: await gzipBytes(identity) } : { identity };
    return { etag: rendered.etag, lastModified: rendered.lastModified, bytes };
  }

  async function answer(
    request: FastifyRequest,
    reply: FastifyReply,
    version: FeedVersion | null,
    render: () => Promise<RenderedFeed | null>,
    options: { cacheControl: string; shared: boolean; missing: string },
  ) {
    if (!version) throw new NotFoundError(options.missing);
    const coding = chooseCoding(request.headers['accept-encoding']);
    if (notModified(request, version)) return validators(reply, version, coding, options.cacheControl).code(304).send();
    const feed = options.shared ? await sharedBody(version, render) : await personalBody(version, render, coding);
    if (!feed) throw new NotFoundError(options.missing);
    validators(reply, feed, coding, options.cacheControl).type(CALENDAR_TYPE);
    if (coding === 'gzip') reply.header('content-encoding', 'gzip');
    return reply.send(feed.bytes[coding]);
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
          'A calendar subscription named "<organisation>: sessions". Strong ETag and Last-Modified; 304 to If-None-Match / If-Modified-Since. Cache-Control: public, max-age=300. Gzipped for Accept-Encoding: gzip (ETag suffixed -gzip; Vary: Accept-Encoding).',
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
    '/feeds/series/:slug.ics',
    {
      schema: {
        tags: ['feeds'],
        summary: "A series' published (and cancelled) sessions as a calendar",
        description: 'The same UIDs as the public feed and each session\'s feed. X-WR-CALNAME: "<organisation>: <series title>". Validators, caching and gzip as for the public feeds.',
        headers: conditionalHeaders,
        params: SlugFeedParams,
        response: { ...responses, ...notFound },
      },
    },
    async (request, reply) => {
      const { slug } = request.params;
      return answer(request, reply, await feeds.seriesVersion(slug), () => feeds.renderSeries(slug), {
        cacheControl: PUBLIC_CACHE,
        shared: true,
        missing: 'No series with this address',
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
          'The same UIDs and SEQUENCE as the e-mailed invites; cancelled registrations disappear; a cancelled session stays as STATUS:CANCELLED for 30 days after the cancellation. X-WR-CALNAME: "<organisation>: your sessions". Cache-Control: private, max-age=300; Referrer-Policy: no-referrer.',
        headers: conditionalHeaders,
        params: FeedTokenParams,
        response: { ...responses, ...notFound },
      },
    },
    async (request, reply) => {
      const { feedToken } = request.params;
      return answer(request, reply, await feeds.personalVersion(feedToken), () => feeds.renderPersonal(feedToken), {
        cacheControl: PRIVATE_CACHE,
        shared: false,
        missing: 'This feed address is not valid (it may have been replaced)',
      });
    },
  );
};
