import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

export const gzipBytes = promisify(gzipCallback);

/** A feed's bytes, ready to send as they are, in both the codings we offer. */
export interface FeedBody {
  identity: Buffer;
  gzip: Buffer;
}

async function encodeFeedBody(body: string | Buffer): Promise<FeedBody> {
  const identity = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return { identity, gzip: await gzipBytes(identity) };
}

/**
 * Rendered public feeds, keyed by their ETag: in this process (the few latest versions), then in
 * Redis, shared by every instance. The ETag is a hash of the feed's version and the rendering is
 * deterministic, so an entry can never be stale or disagree with another instance: it is only
 * ever the body that this version renders to. When Redis is unavailable the feed is rendered.
 */
export interface FeedBodyCache {
  get(etag: string): Promise<FeedBody | null>;
  /** Encodes the body and keeps it; the Redis write is fire and forget (a failure only costs a later render). */
  put(etag: string, body: string): Promise<FeedBody>;
}

const PREFIX = 'convene:feed:';
const TTL_SECONDS = 6 * 3600;
/** The public feed and a handful of single-session feeds stay in memory; bodies are about 0.7 KB per event. */
const LOCAL_MAX_BYTES = 16 * 1024 * 1024;

export function createFeedBodyCache(redis: Redis | undefined): FeedBodyCache {
  const local = new LRUCache<string, FeedBody>({
    maxSize: LOCAL_MAX_BYTES,
    sizeCalculation: (body) => body.identity.length + body.gzip.length,
  });
  const key = (etag: string) => `${PREFIX}${etag.replace(/"/g, '')}`;

  async function fromRedis(etag: string): Promise<Buffer | null> {
    if (!redis || redis.status !== 'ready') return null;
    try {
      return await redis.getBuffer(key(etag));
    } catch {
      return null;
    }
  }

  return {
    async get(etag) {
      const kept = local.get(etag);
      if (kept) return kept;
      const shared = await fromRedis(etag);
      if (!shared) return null;
      const body = await encodeFeedBody(shared);
      local.set(etag, body);
      return body;
    },
    async put(etag, text) {
      const body = await encodeFeedBody(text);
      local.set(etag, body);
      if (redis && redis.status === 'ready') redis.set(key(etag), body.identity, 'EX', TTL_SECONDS).catch(() => undefined);
      return body;
    },
  };
}
