import t from 'tap';
import { uniqueEmail } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { checkMail } from '../helpers/mail-checks.js';
import { notificationsOf } from '../helpers/notification-rows.js';
import { createSession, registered } from '../helpers/registrations.js';
import { sleep, waitFor } from '../helpers/waiting.js';

/**
 * The SMTP server answers with errors: a temporary one (4xx) is retried with backoff until it
 * goes through, once; a permanent one (5xx) is not retried and shows as failed, with the
 * reason, in the organizer's delivery log.
 */

const ctx = await startMailTest(t, { name: 'smtp_faults', redisDb: 13 });
const { app, database, sink, owner } = ctx;
const contact = { name: 'Faults Desk', email: 'faults@org.example' };

t.test('451 twice, then 250: delivered once after backoff, attempts 3', async (t) => {
  const session = await createSession(app, owner.headers, { contact });
  const email = uniqueEmail('busy');
  sink.failNext(2, 451, { to: email, message: 'try later' });
  const registeredAt = Date.now();
  await registered(app, session.slug, { name: 'Busy Mailbox', email });

  const [mail] = await sink.waitForMail(email, 1, 20_000);
  checkMail(t, mail!, { to: email, contact, invite: 'REQUEST' }, 'after two 451s');
  const refusals = sink.refused.filter((r) => r.rcptTo.includes(email));
  t.equal(refusals.length, 2, 'the server refused twice first');
  // BullMQ's exponential backoff from 2 s: about 2 s, then 4 s.
  t.ok(refusals[1]!.at - refusals[0]!.at >= 1_800, `waited before the second attempt (${refusals[1]!.at - refusals[0]!.at} ms)`);
  t.ok(mail!.receivedAt - refusals[1]!.at >= 3_600, `waited longer before the third (${mail!.receivedAt - refusals[1]!.at} ms)`);
  t.ok(mail!.receivedAt - registeredAt < 15_000, 'delivered within the backoff budget');

  const [row] = await waitFor(async () => {
    const rows = await notificationsOf(database, session.id, email);
    return rows[0]?.status === 'sent' ? rows : null;
  }, 5_000, 'the row marked sent');
  t.equal(row!.attempts, 3, 'three attempts recorded');
  t.equal(row!.last_error, null, 'the error is cleared once sent');
  t.equal(row!.message_id, mail!.messageId);
  await sleep(1_000);
  t.equal(sink.to(email).length, 1, 'exactly one delivery');
});

t.test('550: no retry, failed with the reason, visible to the organizer', async (t) => {
  const session = await createSession(app, owner.headers, { contact });
  const email = uniqueEmail('gone');
  const other = uniqueEmail('fine');
  sink.failNext(1, 550, { to: email, message: 'No such user here' });
  await registered(app, session.slug, { name: 'Gone Mailbox', email });
  await registered(app, session.slug, { name: 'Fine Mailbox', email: other });

  const [row] = await waitFor(async () => {
    const rows = await notificationsOf(database, session.id, email);
    return rows[0]?.status === 'failed' ? rows : null;
  }, 10_000, 'the row marked failed');
  t.equal(row!.attempts, 1);
  t.match(row!.last_error ?? '', /550/, 'the reason holds the SMTP code');
  t.match(row!.last_error ?? '', /No such user here/, 'and the server text');
  t.equal(row!.message_id, null, 'nothing was sent');

  await sink.waitForMail(other, 1);
  await sleep(2_500); // longer than the first backoff: a retry would have come by now
  t.equal(sink.refused.filter((r) => r.rcptTo.includes(email)).length, 1, 'no retry after a 5xx');
  t.equal(sink.to(email).length, 0, 'nothing delivered');
  t.equal((await notificationsOf(database, session.id, email))[0]!.status, 'failed', 'still failed');

  const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/notifications?status=failed`, headers: owner.headers });
  t.equal(res.statusCode, 200);
  const items = res.json().items as Array<Record<string, any>>;
  t.equal(items.length, 1, 'only the failed notification');
  t.equal(items[0]!.recipient, email);
  t.equal(items[0]!.kind, 'confirmation');
  t.equal(items[0]!.status, 'failed');
  t.match(items[0]!.lastError, /550.*No such user here|No such user here.*550/);
  const all = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/notifications`, headers: owner.headers });
  t.same(
    (all.json().items as Array<Record<string, any>>).map((item) => [item.recipient, item.status]).sort(),
    [[email, 'failed'], [other, 'sent']].sort(),
    'the log shows one failed and one sent',
  );
});
