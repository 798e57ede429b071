import { Queue } from 'bullmq';
import t from 'tap';
import { QUEUES } from '../../src/queues.js';
import { createRedis } from '../../src/redis.js';
import { uniqueEmail } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { checkMail } from '../helpers/mail-checks.js';
import { notificationsOf } from '../helpers/notification-rows.js';
import { createSession, registered } from '../helpers/registrations.js';
import { sleep, waitFor } from '../helpers/waiting.js';

/**
 * No worker while the API writes (it crashed, or is deploying): the rows are queued in Redis
 * and wait; a worker that starts later delivers each once. And when Redis lost the queued jobs
 * (a restart without persistence), the worker's sweep hands the rows over again.
 */

const ctx = await startMailTest(t, { name: 'worker_down', redisDb: 14, worker: false, env: { OUTBOX_REQUEUE_AFTER_MS: '1000' } });
const { app, config, database, sink, owner } = ctx;
const contact = { name: 'Worker Desk', email: 'worker-desk@org.example' };

async function statusesOf(sessionId: string, emails: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const email of emails) out.push(...(await notificationsOf(database, sessionId, email)).map((row) => row.status));
  return out;
}

t.test('rows written while no worker runs are delivered once when one starts', async (t) => {
  const session = await createSession(app, owner.headers, { contact });
  const emails = [uniqueEmail('early'), uniqueEmail('early')];
  for (const email of emails) await registered(app, session.slug, { name: 'Early Bird', email });
  await waitFor(async () => (await statusesOf(session.id, emails)).every((s) => s === 'queued'), 5_000, 'rows handed to BullMQ');
  await sleep(500);
  t.equal(sink.messages.length, 0, 'nothing is sent without a worker');

  await ctx.startWorker();
  for (const email of emails) await sink.waitForMail(email, 1);
  await waitFor(async () => (await statusesOf(session.id, emails)).every((s) => s === 'sent'), 5_000, 'rows marked sent');
  await sleep(1_500);
  for (const email of emails) {
    const mails = sink.to(email);
    t.equal(mails.length, 1, 'exactly one e-mail');
    checkMail(t, mails[0]!, { to: email, contact, invite: 'REQUEST' }, 'after the worker started');
  }
  await ctx.stopWorker();
});

t.test('jobs lost by Redis: the sweep queues the rows again, delivered once', async (t) => {
  const session = await createSession(app, owner.headers, { contact });
  const emails = [uniqueEmail('lost'), uniqueEmail('lost')];
  for (const email of emails) await registered(app, session.slug, { name: 'Lost Job', email });
  await waitFor(async () => (await statusesOf(session.id, emails)).every((s) => s === 'queued'), 5_000, 'rows handed to BullMQ');

  // What a Redis restart without persistence does to the queue.
  const connection = createRedis(config.redisUrl, 'worker');
  const queue = new Queue(QUEUES.sendEmail, { connection });
  await queue.obliterate({ force: true });
  t.equal(await queue.count(), 0, 'the queue is empty');
  await queue.close();
  connection.disconnect();

  await ctx.startWorker();
  for (const email of emails) await sink.waitForMail(email, 1, 10_000);
  await waitFor(async () => (await statusesOf(session.id, emails)).every((s) => s === 'sent'), 5_000, 'rows marked sent');
  await sleep(2_000); // past OUTBOX_REQUEUE_AFTER_MS again: a sent row is never queued twice
  for (const email of emails) {
    t.equal(sink.to(email).length, 1, 'exactly one e-mail');
    checkMail(t, sink.to(email)[0]!, { to: email, contact, invite: 'REQUEST' }, 'after the requeue');
  }
  await ctx.stopWorker();
});
