import { createDb } from '../../db/client.js';
import { startWorker } from '../../jobs/worker.js';
import { systemClock } from '../../src/clock.js';
import { testConfig } from './app.js';
import { silentLog } from './isolated-app.js';

/**
 * The worker role in a process of its own, so a test can SIGKILL it mid-job. The environment
 * comes as JSON in CONVENE_TEST_ENV; "worker-ready" on stdout says it runs.
 */
const config = testConfig(JSON.parse(process.env.CONVENE_TEST_ENV ?? '{}') as Record<string, string>);
const database = createDb(config.databaseUrl, { max: 5 });
const worker = await startWorker({ config, database, clock: systemClock, log: silentLog });
process.stdout.write('worker-ready\n');
process.on('SIGTERM', () => {
  void worker.close(2_000).then(() => database.pool.end()).then(() => process.exit(0));
});
