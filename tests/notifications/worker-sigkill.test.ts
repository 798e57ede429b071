import t from 'tap';
import { QUEUES } from '../../src/queues.js';
import { createRedis } from '../../src/redis.js';
import { uniqueEmail } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { checkMail } from '../helpers/mail-checks.js';
import { notificationsOf } from '../helpers/notification-rows.js';
import { spawnWorkerProcess } from '../helpers/processes.js';
import { createSession, registered } from '../helpers/registrations.js';
import { sleep, waitFor } from '../helpers/waiting.js';

/**
 * A worker process is SIGKILLed in the middle of two sends: one before the SMTP server got the
 * message (held at RCPT TO), one after the server had the whole message but before it answered
 * and before the row was marked. A new worker recovers both once BullMQ sees the jobs stalled
 * (their locks run out 30 s after the kill, so this file takes about 35 s): the first arrives
 * once, the second at most twice, with the same Message-ID, never zero times.
 */

const ctx = await startMailTest(t, { name: 'worker_sigkill', redisDb: 15, worker: false });
const { app, database, sink, owner } = ctx;
const contact = { name: 'Crash Desk', email: 'crash-desk@org.example' };

t.test('SIGKILL before and after the SMTP server accepted: once, and at most twice with one Message-ID', async (t) => {
  const session = await createSession(app, owner.headers, { contact });
  const before = uniqueEmail('killed-before');
  const after = uniqueEmail('killed-after');
  await registered(app, session.slug, { name: 'Killed Before Send', email: before });
  await registered(app, session.slug, { name: 'Killed After Send', email: after });

  let killed = false;
  let heldBefore = false;
  let receivedAfter = false;
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  sink.hooks.onRcptTo = async (address) => {
    if (address === before && !killed) {
      heldBefore = true;
      await released;
    }
  };
  sink.hooks.afterData = async (mail) => {
    if (mail.rcptTo.includes(after) && !killed) {
      receivedAfter = true;
      await released;
    }
  };

  const child = await spawnWorkerProcess(t, ctx.env);
  await waitFor(() => heldBefore && receivedAfter, 20_000, 'both sends in flight in the worker process');
  await child.kill('SIGKILL');
  killed = true;
  release();
  t.equal(child.child.signalCode, 'SIGKILL', 'the worker process died by SIGKILL');

  const rowsBefore = await notificationsOf(database, session.id, before);
  const rowsAfter = await notificationsOf(database, session.id, after);
  t.same([rowsBefore[0]!.status, rowsAfter[0]!.status], ['queued', 'queued'], 'neither row was marked');
  t.equal(sink.to(before).length, 0, 'the first message never reached the server');
  t.equal(sink.to(after).length, 1, 'the server holds the second message');

  // BullMQ runs the stalled-job check at most once per stalledInterval (30 s) across all workers,
  // throttled by this key, which the dead worker set when it started. A worker starting 30 s
  // later would find it gone; clearing it saves the test that wait. The locks of the killed
  // jobs are left alone: they expire by themselves 30 s after the kill.
  const redis = createRedis(ctx.config.redisUrl, 'worker');
  await redis.del(`bull:${QUEUES.sendEmail}:stalled-check`);
  redis.disconnect();
  await ctx.startWorker();
  const [once] = await sink.waitForMail(before, 1, 50_000);
  const copies = await sink.waitForMail(after, 2, 50_000);
  await waitFor(async () => {
    const rows = [...(await notificationsOf(database, session.id, before)), ...(await notificationsOf(database, session.id, after))];
    return rows.every((row) => row.status === 'sent');
  }, 5_000, 'both rows marked sent');
  await sleep(1_000);

  t.equal(sink.to(before).length, 1, 'killed before the send: delivered exactly once');
  checkMail(t, once!, { to: before, contact, invite: 'REQUEST' }, 'killed before the send');
  t.equal(sink.to(after).length, 2, 'killed after the server had it: two copies, not more');
  const rowId = (await notificationsOf(database, session.id, after))[0]!.id;
  t.same(
    copies.map((mail) => mail.messageId),
    [`<notification-${rowId}@mail.convene.test>`, `<notification-${rowId}@mail.convene.test>`],
    'both copies carry the same Message-ID, so mail clients show one',
  );
  checkMail(t, copies[1]!, { to: after, contact, invite: 'REQUEST' }, 'the copy after recovery');
});
