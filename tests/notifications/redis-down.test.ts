import t from 'tap';
import { uniqueEmail } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { checkMail } from '../helpers/mail-checks.js';
import { notificationsOf } from '../helpers/notification-rows.js';
import { startRedisProcess } from '../helpers/processes.js';
import { createSession, registered } from '../helpers/registrations.js';
import { sleep, waitFor } from '../helpers/waiting.js';

/**
 * Redis goes away (SIGKILL, nothing saved) under a running API and worker: registrations still
 * answer 202 and their outbox rows wait; when Redis is back on the same port, every e-mail
 * arrives exactly once.
 */

const redis = await startRedisProcess(t);
const ctx = await startMailTest(t, { name: 'redis_down', redisUrl: redis.url });
const { app, database, sink, owner } = ctx;
const contact = { name: 'Redis Desk', email: 'redis-desk@org.example' };

t.test('Redis stopped: 202 and pending rows; Redis back: each e-mail exactly once', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 2, contact });
  const before = uniqueEmail('before');
  await registered(app, session.slug, { name: 'Before Outage', email: before });
  await sink.waitForMail(before, 1);

  await redis.kill();
  const during = [uniqueEmail('during'), uniqueEmail('during'), uniqueEmail('during')];
  const statuses: string[] = [];
  for (const [index, email] of during.entries()) {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/public/sessions/${session.slug}/registrations`,
      payload: { name: `During Outage ${index}`, email, consent: true },
    });
    t.equal(res.statusCode, 202, `registration ${index} answers 202 while Redis is down`);
    const [row] = await notificationsOf(database, session.id, email);
    statuses.push(row?.kind ?? 'none');
  }
  t.same(statuses, ['confirmation', 'waitlisted', 'waitlisted'], 'a seat, then the waitlist');

  // Several relay attempts (the API's and the worker's 200 ms sweep) fail meanwhile.
  await sleep(1_500);
  for (const email of during) {
    const rows = await notificationsOf(database, session.id, email);
    t.same(rows.map((row) => row.status), ['pending'], `${email.split('@')[0]}: the row waits as pending`);
    t.equal(sink.to(email).length, 0, 'nothing sent yet');
  }

  await redis.start();
  for (const email of during) await sink.waitForMail(email, 1, 20_000);
  await waitFor(async () => {
    for (const email of during) {
      const rows = await notificationsOf(database, session.id, email);
      if (rows[0]?.status !== 'sent') return false;
    }
    return true;
  }, 5_000, 'every row marked sent');
  await sleep(1_500); // more sweeps: nothing is sent twice
  for (const [index, email] of during.entries()) {
    const mails = sink.to(email);
    t.equal(mails.length, 1, `${email.split('@')[0]}: exactly one e-mail`);
    checkMail(t, mails[0]!, { to: email, contact, invite: index === 0 ? 'REQUEST' : null }, `after the outage ${index}`);
  }
  t.equal(sink.to(before).length, 1, 'the e-mail sent before the outage is not sent again');
});
