import { parseArgs } from 'node:util';
import { startWorker, type RunningWorker } from '../jobs/worker.js';
import { startWorkerThread } from '../jobs/worker-thread.js';
import { openDatabase } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { buildApp, type App } from './app.js';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig, redactUrl } from './config.js';
import { seedDemo } from './demo.js';
import { createLogger } from './logger.js';
import { settlesWithin } from './deadline.js';
import { createRedis } from './redis.js';
import { createServices } from './services/index.js';

type Role = 'api' | 'worker' | 'all';

function parseRole(argv: string[]): Role {
  const { values } = parseArgs({ args: argv, options: { role: { type: 'string', default: 'all' } }, allowPositionals: false });
  const role = values.role;
  if (role !== 'api' && role !== 'worker' && role !== 'all') {
    throw new ConfigError([`--role must be api, worker or all (got "${role}")`]);
  }
  return role;
}

async function main(): Promise<void> {
  let role: Role;
  let loaded: ReturnType<typeof loadConfig>;
  try {
    role = parseRole(process.argv.slice(2));
    loaded = loadConfig();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
  const { config, warnings } = loaded;
  const log = createLogger(config);
  for (const warning of warnings) log.warn(warning);

  log.info({ role, database: redactUrl(config.databaseUrl) }, 'applying migrations');
  await migrateDatabase(config.databaseUrl);

  const database = openDatabase(config, log);
  const services = createServices({ db: database.db, clock: systemClock, config });
  if (config.adminEmail && config.adminPassword) {
    const { created } = await services.organizers.ensureAdmin(config.adminEmail, config.adminPassword);
    if (created) log.info('created the first admin (ADMIN_EMAIL)');
  }
  if (config.demo) {
    const demo = await seedDemo(services, config);
    log.info({ slug: demo.slug, created: demo.created }, 'demo session ready');
  }

  let app: App | undefined;
  let worker: RunningWorker | undefined;
  const redis = createRedis(config.redisUrl, 'producer', log);

  // Both roles: the worker in a thread of its own, so mail rendering never holds up the API's
  // answers. It starts while the API is built, and the API listens once it runs: a process that
  // answers is a process whose every part (and SIGTERM handler) is in place.
  const workerThread = role === 'all' ? startWorkerThread(log) : undefined;
  workerThread?.catch(() => undefined); // awaited below; a failure then ends the start
  if (role !== 'worker') {
    app = await buildApp({ config, database, redis, clock: systemClock, logger: log });
    worker = await workerThread;
    await app.listen({ port: config.port, host: config.host });
    log.info(`Convene API on ${config.publicBaseUrl} (API document at ${config.publicBaseUrl}/docs)`);
  }
  if (role === 'worker') worker = await startWorker({ config, database, clock: systemClock, log });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const startedAt = performance.now();
    const grace = config.shutdownGraceMs;
    log.info({ signal, graceMs: grace }, 'shutting down');
    // A backstop only: every step below has its own, shorter deadline.
    const hardStop = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, grace + 1_000);
    hardStop.unref();

    let failed = false;
    /** Waits for one step at most `ms`; past that, logs which step it was and goes on without it. */
    const step = async (name: string, ms: number, run: () => Promise<unknown>, onOverrun?: () => void) => {
      const work = run().catch((error: unknown) => {
        failed = true;
        log.error({ err: error, step: name }, 'shutdown step failed');
      });
      if (await settlesWithin(work, ms)) return;
      log.warn({ step: name, deadlineMs: ms }, `shutdown step "${name}" hit its deadline; going on without it`);
      onOverrun?.();
    };

    // Ending Redis and the pool takes milliseconds when all is well; they get the tail of the grace
    // period, the requests and jobs in flight the rest.
    const tail = Math.min(1_000, Math.floor(grace / 5));
    const drain = grace - 2 * tail;
    await Promise.all([
      // Requests in flight get their answers, with Connection: close (src/plugins/drain.ts).
      app && step('http', drain, () => app!.close(), () => app!.server.closeAllConnections()),
      worker && step('worker', drain, () => worker!.close(drain - tail)),
    ]);
    await Promise.all([
      // QUIT lets replies in flight arrive; with Redis away, it fails at once and we just drop the socket.
      step('redis', tail, () => redis.quit().catch(() => redis.disconnect()), () => redis.disconnect()),
      step('database pool', tail, () => database.pool.end()),
    ]);
    log.info({ tookMs: Math.round(performance.now() - startedAt) }, 'stopped');
    process.exit(failed ? 1 : 0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('Convene failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
