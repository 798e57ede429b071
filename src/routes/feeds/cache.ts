import type { Redis } from 'ioredis';

/**
 * Rendered public feeds, shared by every instance, keyed by their ETag. The ETag is a hash of
 * the feed's version and the rendering is deterministic, so an entry can never be stale or
 * disagree with another instance: it is only ever the body that this version renders to. When
 * Redis is unavailable the feed is simply rendered.
 */
export interface FeedBodyCache {
  /** The body's bytes (a Buffer: sent as they are, never decoded and encoded again). */
  get(etag: string): Promise<Buffer | null>;
  /** Fire and forget: a failed write only costs a later render. */
  set(etag: string, body: string): void;
}

const PREFIX = 'convene:feed:';
const TTL_SECONDS = 6 * 3600;

export function createFeedBodyCache(redis: Redis): FeedBodyCache {
  const key = (etag: string) => `${PREFIX}${etag.replace(/"/g, '')}`;
  return {
    async get(etag) {
      if (redis.status !== 'ready') return null;
      try {
        return await redis.getBuffer(key(etag));
      } catch {
        return null;
      }
    },
    set(etag, body) {
      if (redis.status !== 'ready') return;
      redis.set(key(etag), body, 'EX', TTL_SECONDS).catch(() => undefined);
    },
  };
}
