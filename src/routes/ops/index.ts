import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from '../../config.js';
import { sendProblem } from '../../plugins/errors.js';

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

/**
 * Who may read /metrics. Its per-route counts tell how many logins, manage views and erasures
 * there were, so in production it needs METRICS_TOKEN as a bearer token, and does not exist
 * while that is unset; elsewhere it is open.
 */
export type MetricsAccess = { open: true } | { open: false; token: string | null };

export function metricsAccess(config: Pick<Config, 'nodeEnv' | 'metricsToken'>): MetricsAccess {
  return config.nodeEnv === 'production' ? { open: false, token: config.metricsToken } : { open: true };
}

/** Compared as digests, so the time taken says nothing about how much of the token was right. */
function sameToken(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function bearerToken(authorization: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1] ?? null;
}

export const opsRoutes: FastifyPluginAsyncTypebox<{ pool: pg.Pool; redis: Redis; metrics: MetricsAccess }> = async (
  app,
  { pool, redis, metrics },
) => {
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
    {
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics (in production: Authorization: Bearer <METRICS_TOKEN>)',
        produces: ['text/plain'],
      },
    },
    async (request, reply) => {
      if (!metrics.open) {
        if (metrics.token === null) return reply.callNotFound();
        const given = bearerToken(request.headers.authorization);
        if (given === null || !sameToken(given, metrics.token)) {
          return sendProblem(reply, 401, 'A valid bearer token is required', undefined, { 'WWW-Authenticate': 'Bearer' });
        }
      }
      return reply.header('cache-control', 'no-store').type(app.metrics.contentType).send(await app.metrics.metrics());
    },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
