import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { createDb } from '../../db/client.js';
import { manualClock, uniqueEmail } from '../helpers/app.js';
import { htmlLinks, textLinks } from '../helpers/email-links.js';
import { silentLog, startMailTest } from '../helpers/isolated-app.js';
import { MAIL_FROM_ADDRESS } from '../helpers/mail-checks.js';
import { startRedisProcess } from '../helpers/processes.js';
import { WEBHOOKS_PAGE } from '../../src/services/links.js';
import { createMailer } from '../../src/services/notifications/mailer.js';
import { createWebhookOwnerNotices } from '../../src/services/webhooks/owner-notice.js';

/**
 * Issue #22, item 3: the owner of an endpoint Convene disabled gets one e-mail saying which
 * endpoint, when and why, with the console page to enable it again. The disabling itself is
 * simulated with SQL (tests/webhooks/delivery.test.ts tests it); a real SMTP server receives the
 * e-mails. No worker runs here: each `sendDue()` is called by the test, on a clock it moves.
 */

const clock = manualClock();
const redis = await startRedisProcess(t);
const ctx = await startMailTest(t, { name: 'webhook_owner_notice', redisUrl: redis.url, worker: false, clock });
const { app, config, database, sink } = ctx;
const mailer = createMailer({ smtpUrl: sink.url, mailDir: config.mailDir, log: silentLog });
t.teardown(() => mailer.close());

/** What the service logs, to check its warnings. */
const logged: Array<{ level: number; msg: string; endpointId?: string; permanent?: boolean }> = [];
const log = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  }),
);
const notices = createWebhookOwnerNotices({ db: database.db, clock, mailer, config, log });

const GONE = 'The receiver answered 410 Gone';
const FAILING = 'Every delivery failed for 5 days';

/** An organizer of its own per test, so the sink's messages to that address are the test's alone. */
async function newOwner(name = 'Rosa Díaz') {
  return app.services.organizers.create({ email: uniqueEmail('hook-owner'), name, password: 'a-long-test-password', role: 'organizer' });
}

async function addEndpoint(owner: Awaited<ReturnType<typeof newOwner>>, url: string, description: string | null = null) {
  const { endpoint } = await app.services.webhooks.create(owner, { url, events: ['registration.created'], description });
  return endpoint;
}

/** What the delivery worker does when it gives up on an endpoint: one statement, at the clock's time. */
async function disableAsConvene(id: string, reason: string, at = clock.now()): Promise<void> {
  await database.pool.query(
    `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = $3, owner_notice_due_at = $3 WHERE id = $1`,
    [id, reason, at],
  );
}

async function dueAt(id: string): Promise<Date | null> {
  const { rows } = await database.pool.query<{ owner_notice_due_at: Date | null }>('SELECT owner_notice_due_at FROM webhook_endpoints WHERE id = $1', [id]);
  if (rows.length === 0) throw new Error(`no endpoint ${id}`);
  return rows[0]!.owner_notice_due_at;
}

t.test('a disabled endpoint: one e-mail to its owner with the URL, the reason and the console link; then nothing more', async (t) => {
  const owner = await newOwner();
  const endpoint = await addEndpoint(owner, 'https://hooks.example.org/convene?source=crm', '<b>CRM</b> & "sales" sync');
  clock.advance(60_000);
  const disabledAt = clock.now();
  await disableAsConvene(endpoint.id, GONE, disabledAt);
  clock.advance(1_000);

  t.equal(await notices.sendDue(), 1, 'one e-mail sent');
  const mails = sink.to(owner.email);
  t.equal(mails.length, 1, 'exactly one e-mail to the owner');
  const mail = mails[0]!;
  t.same(mail.rcptTo, [owner.email], 'to the owner alone');
  t.equal(mail.mailFrom, MAIL_FROM_ADDRESS, 'from MAIL_FROM');
  t.equal(mail.parsed.subject, 'Webhook endpoint disabled: hooks.example.org');
  t.match(mail.messageId, new RegExp(`@${MAIL_FROM_ADDRESS.split('@')[1]!.replace(/\./g, '\\.')}>$`), 'a Message-ID of our domain');

  const consoleLink = `${config.publicBaseUrl}${WEBHOOKS_PAGE}/${endpoint.id}`;
  t.ok(app.hasRoute({ method: 'GET', url: `${WEBHOOKS_PAGE}/:id` }), 'the console serves the page the link names');
  for (const body of [mail.text, mail.html]) {
    t.ok(body.includes('https://hooks.example.org/convene?source=crm'), 'the URL');
    t.ok(body.includes(GONE), 'why');
    t.ok(body.includes('While it is disabled, events are not recorded for it'), 'what it means');
    t.ok(body.includes(`${disabledAt.toISOString().slice(0, 10)} ${disabledAt.toISOString().slice(11, 16)} UTC`), 'when, in UTC as the console shows it');
  }
  t.ok(mail.text.includes('<b>CRM</b> & "sales" sync'), 'the description as typed in the text part');
  t.ok(mail.html.includes('&lt;b&gt;CRM&lt;/b&gt; &amp; &quot;sales&quot; sync'), 'escaped in the HTML part');
  t.notOk(mail.html.includes('<b>CRM</b>'), 'never as markup');
  t.ok(mail.text.includes('Hello Rosa Díaz,'));

  const button = htmlLinks(mail.html).find((link) => link.href === consoleLink);
  t.ok(button, 'the HTML links to the endpoint in the console');
  t.match(button?.label, /enable it again/, 'its words say what the page is for');
  t.ok(textLinks(mail.text).some((link) => link.href === consoleLink), 'the text part too');

  t.equal(await dueAt(endpoint.id), null, 'the notice is done');
  clock.advance(3_600_000);
  t.equal(await notices.sendDue(), 0, 'a second call sends nothing');
  t.equal(sink.to(owner.email).length, 1, 'still one e-mail');
});

t.test('five failing days: the e-mail says since when deliveries failed', async (t) => {
  const owner = await newOwner();
  const endpoint = await addEndpoint(owner, 'https://receiver.example.net:8443/in');
  const failingSince = new Date(clock.now().getTime() - 5 * 86_400_000 - 60_000);
  await database.pool.query('UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1', [endpoint.id, failingSince]);
  await disableAsConvene(endpoint.id, FAILING);

  t.equal(await notices.sendDue(), 1);
  const [mail] = sink.to(owner.email);
  t.equal(mail?.parsed.subject, 'Webhook endpoint disabled: receiver.example.net:8443', 'the host with its port');
  t.ok(mail?.text.includes(FAILING));
  t.ok(mail?.text.includes(`Deliveries failing since: ${failingSince.toISOString().slice(0, 10)} ${failingSince.toISOString().slice(11, 16)} UTC`));
});

t.test('the owner enabled the endpoint again before the notice went: nothing is sent', async (t) => {
  const owner = await newOwner();
  const endpoint = await addEndpoint(owner, 'https://hooks.example.org/enabled-again');
  await disableAsConvene(endpoint.id, GONE);
  const enabled = await app.services.webhooks.update(owner, endpoint.id, { enabled: true });
  t.equal(enabled.enabled, true);
  t.equal(await dueAt(endpoint.id), null, 'enabling cleared the notice');

  clock.advance(1_000);
  t.equal(await notices.sendDue(), 0);
  t.same(sink.to(owner.email), [], 'no e-mail');
});

t.test('a due notice of an endpoint the owner enabled meanwhile is not claimed, whatever the column holds', async (t) => {
  // Belt and braces: the claim itself asks for a disabled endpoint.
  const owner = await newOwner();
  const endpoint = await addEndpoint(owner, 'https://hooks.example.org/stale');
  await database.pool.query('UPDATE webhook_endpoints SET owner_notice_due_at = $2 WHERE id = $1', [endpoint.id, clock.now()]);
  clock.advance(1_000);
  t.equal(await notices.sendDue(), 0);
  t.same(sink.to(owner.email), []);
});

t.test('the SMTP server refuses for now: the notice stays due and goes out after the back-off', async (t) => {
  const owner = await newOwner();
  const endpoint = await addEndpoint(owner, 'https://hooks.example.org/busy-mail');
  await disableAsConvene(endpoint.id, GONE);
  sink.failNext(1, 451, { to: owner.email });

  const attemptedAt = clock.now();
  t.equal(await notices.sendDue(), 0, 'nothing accepted');
  t.equal(sink.refused.filter((r) => r.rcptTo.includes(owner.email)).length, 1, 'the server was asked and refused');
  const due = await dueAt(endpoint.id);
  t.ok(due, 'not cleared');
  t.ok(due!.getTime() > attemptedAt.getTime(), 'due again later, not at once');
  t.ok(logged.some((entry) => entry.endpointId === endpoint.id && entry.level === 40 && entry.permanent === false), 'a warning');

  t.equal(await notices.sendDue(), 0, 'not due yet right after');
  clock.set(due!);
  t.equal(await notices.sendDue(), 1, 'sent once due again');
  t.equal(sink.to(owner.email).length, 1);
  t.equal(await dueAt(endpoint.id), null);
});

t.test('the SMTP server refuses for good: the notice is cleared, with a warning', async (t) => {
  const owner = await newOwner();
  const endpoint = await addEndpoint(owner, 'https://hooks.example.org/no-mailbox');
  await disableAsConvene(endpoint.id, GONE);
  sink.failNext(1, 550, { to: owner.email });

  t.equal(await notices.sendDue(), 0);
  t.equal(await dueAt(endpoint.id), null, 'given up');
  t.ok(logged.some((entry) => entry.endpointId === endpoint.id && entry.level === 40 && entry.permanent === true), 'a warning');
  clock.advance(86_400_000);
  t.equal(await notices.sendDue(), 0);
  t.same(sink.to(owner.email), []);
});

t.test('a disabled owner gets nothing; the notice is dropped', async (t) => {
  const owner = await newOwner();
  const endpoint = await addEndpoint(owner, 'https://hooks.example.org/former-colleague');
  await database.pool.query('UPDATE organizers SET disabled_at = $2 WHERE id = $1', [owner.id, clock.now()]);
  await disableAsConvene(endpoint.id, GONE);

  t.equal(await notices.sendDue(), 0);
  t.equal(await dueAt(endpoint.id), null);
  t.same(sink.to(owner.email), []);
});

t.test('workers calling sendDue() at once: one e-mail per endpoint', async (t) => {
  const owner = await newOwner();
  const endpoints = [];
  for (let i = 0; i < 6; i++) endpoints.push(await addEndpoint(owner, `https://hooks.example.org/concurrent-${i}`));
  for (const endpoint of endpoints) await disableAsConvene(endpoint.id, GONE);
  clock.advance(1_000);

  // Four instances, as four worker processes would have, each with a connection of its own that
  // is open already: otherwise the first call's claim is over before the others have connected.
  const workers = await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const own = createDb(config.databaseUrl, { max: 1 });
      t.teardown(() => own.pool.end());
      await own.pool.query('SELECT 1');
      return createWebhookOwnerNotices({ db: own.db, clock, mailer, config, log: silentLog });
    }),
  );
  const sent = await Promise.all(workers.map((worker) => worker.sendDue()));
  t.equal(
    sent.reduce((sum, count) => sum + count, 0),
    endpoints.length,
    'the calls sent one e-mail per endpoint between them',
  );
  const mails = sink.to(owner.email);
  t.equal(mails.length, endpoints.length, 'one e-mail per endpoint');
  t.same(new Set(mails.map((mail) => mail.parsed.subject)).size, 1);
  for (const endpoint of endpoints) {
    t.equal(mails.filter((mail) => mail.text.includes(`${endpoint.url}\n`)).length, 1, `one for ${endpoint.url}`);
  }
  t.equal(new Set(mails.map((mail) => mail.messageId)).size, mails.length, 'every Message-ID unique');
  t.same(await Promise.all(workers.map((worker) => worker.sendDue())), [0, 0, 0, 0], 'nothing left');
});

t.test('disabled again after being enabled: a new notice, with a new Message-ID', async (t) => {
  const owner = await newOwner();
  const endpoint = await addEndpoint(owner, 'https://hooks.example.org/twice');
  await disableAsConvene(endpoint.id, GONE);
  t.equal(await notices.sendDue(), 1);
  await app.services.webhooks.update(owner, endpoint.id, { enabled: true });
  clock.advance(3_600_000);
  await disableAsConvene(endpoint.id, GONE);
  t.equal(await notices.sendDue(), 1);
  const mails = sink.to(owner.email);
  t.equal(mails.length, 2);
  t.not(mails[0]!.messageId, mails[1]!.messageId);
});
