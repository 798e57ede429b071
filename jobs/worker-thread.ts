import { isMainThread, parentPort, Worker, workerData, type WorkerOptions } from 'node:worker_threads';
import type { Logger } from 'pino';
import { openDatabase } from '../db/client.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startWorker, type RunningWorker } from './worker.js';

/**
 * `--role all` (what `npm start` runs): the worker in a thread of its own, beside the API. Mail
 * rendering (templates, invites, MIME) is CPU work in long synchronous stretches; on the API's
 * event loop a batch of it held every request waiting for its answer behind it (issue #23: p99 of
 * a crowd registering while their confirmations went out). In a thread it has its own event loop
 * and, on a machine with two cores, a core of its own; the API and the worker still meet only
 * through Postgres and Redis, as separate processes do. The thread reads the same environment
 * and has its own database pool (DATABASE_POOL_SIZE each).
 */

const THREAD_MARK = 'convene-worker-thread';

type ToThread = { type: 'close'; deadlineMs: number };
type FromThread = { type: 'ready' };

/** A thread running this very module: dist/jobs/worker-thread.js, or this file under tsx. */
function newThread(options: WorkerOptions): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL(self), options);
  // Under tsx (the tests, npm run dev), Node 20 does not give a thread the process's module hooks:
  // the thread registers tsx's before it imports this file.
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(self)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** Starts the worker thread; resolves once its queues are open, rejects when it fails to start. */
export function startWorkerThread(log: Logger): Promise<RunningWorker> {
  const thread = newThread({ workerData: { mark: THREAD_MARK } });
  let closed: Promise<void> | undefined;
  return new Promise((resolve, reject) => {
    let ready = false;
    thread.on('message', (message: FromThread) => {
      if (message.type !== 'ready') return;
      ready = true;
      resolve({
        close(deadlineMs) {
          closed ??= new Promise<void>((done) => {
            thread.once('exit', () => done());
            thread.postMessage({ type: 'close', deadlineMs } satisfies ToThread);
          });
          return closed;
        },
      });
    });
    thread.once('error', (error) => {
      if (!ready) return reject(error);
      // As an uncaught error of the worker would have ended a process running both roles.
      log.fatal({ err: error }, 'the worker thread failed');
      process.exit(1);
    });
    thread.once('exit', (code) => {
      if (!ready) reject(new Error(`the worker thread exited with ${code} before it started`));
      else if (!closed) {
        log.fatal({ code }, 'the worker thread exited');
        process.exit(1);
      }
    });
  });
}

async function runThread(port: NonNullable<typeof parentPort>): Promise<void> {
  // The process has logged the configuration's warnings already.
  const { config } = loadConfig();
  const log = createLogger(config).child({ thread: 'worker' });
  const database = openDatabase(config, log);
  const worker = await startWorker({ config, database, clock: systemClock, log });
  port.once('message', (message: ToThread) => {
    void (async () => {
      await worker.close(message.deadlineMs).catch((error: unknown) => log.error({ err: error }, 'worker shutdown failed'));
      await database.pool.end().catch((error: unknown) => log.error({ err: error }, 'worker database pool shutdown failed'));
      // Ends this thread only (and at once, whatever timer a library left behind); the process
      // hears 'exit'.
      process.exit(0);
    })();
  });
  port.postMessage({ type: 'ready' } satisfies FromThread);
}

if (!isMainThread && parentPort && (workerData as { mark?: string } | null)?.mark === THREAD_MARK) {
  await runThread(parentPort);
}
