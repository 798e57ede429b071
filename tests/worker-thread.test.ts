import t from 'tap';
import { uniqueEmail, uniqueSuffix } from './helpers/app.js';
import { startMailTest } from './helpers/isolated-app.js';
import { spawnServerProcess } from './helpers/processes.js';
import { createSession } from './helpers/registrations.js';

/**
 * `--role all`, as `npm start` runs it: the API answers, and the worker, in a thread of its own
 * (jobs/worker-thread.ts), sends the confirmation; SIGTERM closes both and the process exits 0.
 */

// Redis logical database 1 is shared with tests/shutdown.test.ts: each uses a queue prefix of its own.
const ctx = await startMailTest(t, { name: 'worker_thread', redisDb: 1, worker: false, env: { QUEUE_PREFIX: `thread-${uniqueSuffix()}` } });

t.test('npm start: the API answers and the worker thread sends the confirmation', async (t) => {
  const session = await createSession(ctx.app, ctx.owner.headers);
  const server = await spawnServerProcess(t, { ...ctx.env, LOG_LEVEL: 'info' }, 'all');
  t.match(server.output.text, /"thread":"worker".*"msg":"worker started"/, 'the worker runs in its thread');

  const email = uniqueEmail('thread');
  const answer = await fetch(`${server.url}/api/v1/public/sessions/${session.slug}/registrations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Thread Person', email, consent: true }),
  });
  t.equal(answer.status, 202, 'the process accepted the registration');
  const [mail] = await ctx.sink.waitForMail(email, 1, 20_000);
  t.ok(mail?.invite, 'the confirmation with its invite arrived through the worker thread');

  await server.kill('SIGTERM');
  const [code, signal] = await server.exited;
  t.same({ code, signal }, { code: 0, signal: null }, `the process exited 0 on SIGTERM\n${server.output.text.split('\n').slice(-10).join('\n')}`);
  t.match(server.output.text, '"msg":"stopped"', 'after every shutdown step');
});
