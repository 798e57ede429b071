import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Producers fail fast when Redis is down (the outbox keeps the work); workers wait for it
 * (BullMQ needs `maxRetriesPerRequest: null` on their blocking connections).
 */
export function createRedis(url: string, role: 'producer' | 'worker', log?: Logger): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: role === 'worker',
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
  });
  let lastLogged = 0;
  redis.on('error', (error: Error) => {
    // A reconnect loop logs once every 30 s, not on every attempt.
    const now = Date.now();
    if (now - lastLogged > 30_000) {
      lastLogged = now;
      log?.warn({ err: { message: error.message } }, `redis (${role}) unavailable`);
    }
  });
  return redis;
}
