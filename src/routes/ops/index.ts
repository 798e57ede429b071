import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import type pg from 'pg';

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function check(probe: () => Promise<unknown>): Promise<'ok' | 'unavailable'> {
  try {
    await withTimeout(probe(), CHECK_TIMEOUT_MS);
    return 'ok';
  } catch {
    return 'unavailable';
  }
}

/**
 * The producer connection has no offline queue, so a ping sent while a connection attempt is
 * in flight (just after start) fails at once although Redis is up. Wait for that attempt to end
 * (ready or error) within the check's time; any other state answers at once.
 */
export function pingRedis(redis: Redis, ms: number): Promise<unknown> {
  if (!['connecting', 'connect'].includes(redis.status)) return redis.ping();
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(new Error('connection closed'));
    const timer = setTimeout(() => settle(new Error(`no connection within ${ms} ms`)), ms);
    redis.once('ready', onReady);
    redis.once('error', onError);
    redis.once('close', onClose);
  }).then(() => redis.ping());
}

const CheckStatus = Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]);
const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Object({ postgres: CheckStatus, redis: CheckStatus }),
});

export const opsRoutes: FastifyPluginAsyncTypebox<{ pool: pg.Pool; redis: Redis }> = async (app, { pool, redis }) => {
  app.get(
    '/healthz',
    { schema: { tags: ['ops'], summary: 'The process is alive (touches nothing)', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Postgres and Redis are reachable',
        response: { 200: ReadySchema, 503: ReadySchema },
      },
    },
    async (_request, reply) => {
      const [postgres, redisStatus] = await Promise.all([check(() => pool.query('SELECT 1')), check(() => pingRedis(redis, CHECK_TIMEOUT_MS))]);
      const ready = postgres === 'ok' && redisStatus === 'ok';
      return reply
        .code(ready ? 200 : 503)
        .header('cache-control', 'no-store')
        .send({ status: ready ? 'ready' : 'unavailable', checks: { postgres, redis: redisStatus } });
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['ops'], summary: 'Prometheus metrics', produces: ['text/plain'] } },
    async (_request, reply) => reply.type(app.metrics.contentType).send(await app.metrics.metrics()),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
