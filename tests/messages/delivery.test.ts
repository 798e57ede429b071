import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import t, { type Test } from 'tap';
import { ManualClock } from '../../src/clock.js';
import { QUEUES, reminderJobId, type SendEmailBatchJob } from '../../src/queues.js';
import { createRedis } from '../../src/redis.js';
import { signIn, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { headerSection } from '../helpers/mail-checks.js';
import { mimeParts, type MimePart } from '../helpers/mime.js';
import { startRedisProcess } from '../helpers/processes.js';
import { registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';
import { sleep, waitFor } from '../helpers/waiting.js';
import { createSessionAt, minuteAfter, reminderQueue, sessionAt } from '../reminders/support.js';

/**
 * Messages to attendees through the whole path: the API writes one outbox row per recipient,
 * the real worker delivers them in batches over SMTP to the in-process sink. Each audience
 * reaches exactly its people, once, whatever is sent or delivered twice; a test reaches the
 * organizer alone; hostile words stay words; the session's own e-mail texts stay in their own
 * e-mails; whoever was erased or left before delivery gets nothing.
 *
 * The worker relays every pending row of its database, so the file has a database and a Redis
 * of its own. A ManualClock shared by the API and the worker moves past a session's start
 * (attendance exists only then) and fires a reminder early.
 */

const redis = await startRedisProcess(t);
const clock = new ManualClock(new Date());
const ctx = await startMailTest(t, { name: 'messages_delivery', redisUrl: redis.url, clock, worker: false });
const { app, database, sink, owner } = ctx;
// With a Redis of its own, startMailTest clears nothing: rows an interrupted run left pending
// would otherwise go out now and be counted with this run's mail.
await database.pool.query(
  `UPDATE notifications SET status = 'skipped', last_error = 'left over by an earlier test run', updated_at = now() WHERE status IN ('pending', 'queued')`,
);
await ctx.startWorker();

const headers = owner.headers;
const contact = { name: 'Messages Desk', email: 'messages-desk@org.example' };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const queueConnection = createRedis(redis.url, 'worker');
const batchQueue = new Queue<SendEmailBatchJob>(QUEUES.sendEmailBatch, { connection: queueConnection });
const eventsConnection = createRedis(redis.url, 'worker');
const batchEvents = new QueueEvents(QUEUES.sendEmailBatch, { connection: eventsConnection });
await batchEvents.waitUntilReady();
t.teardown(async () => {
  await batchEvents.close();
  await batchQueue.close();
  eventsConnection.disconnect();
  queueConnection.disconnect();
});

interface LogRow {
  id: string;
  registrationId: string | null;
  recipient: string | null;
  status: string;
  lastError: string | null;
}

interface MessageLog {
  message: { id: string; recipients: number; pending: number; sent: number; failed: number; skipped: number };
  items: LogRow[];
}

function send(sessionId: string, payload: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: `/api/v1/sessions/${sessionId}/messages`, headers, payload });
}

/** Sends and insists on a 202: a setup step. */
async function sent(sessionId: string, payload: Record<string, unknown>): Promise<{ id: string; recipients: number }> {
  const res = await send(sessionId, payload);
  if (res.statusCode !== 202) throw new Error(`send message failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

async function messageLog(sessionId: string, messageId: string): Promise<MessageLog> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${sessionId}/messages/${messageId}/notifications`, headers });
  if (res.statusCode !== 200) throw new Error(`message log failed: ${res.statusCode} ${res.body}`);
  return res.json<MessageLog>();
}

/** The message's log once none of its rows waits any more (a row is marked sent after the sink took its e-mail). */
function delivered(sessionId: string, messageId: string): Promise<MessageLog> {
  return waitFor(
    async () => {
      const log = await messageLog(sessionId, messageId);
      return log.items.length > 0 && log.message.pending === 0 ? log : null;
    },
    20_000,
    `message ${messageId} delivered`,
  );
}

function notificationKind(mail: ReceivedMail): string {
  return String(mail.parsed.headers.get('x-convene-notification') ?? '');
}

/** The e-mails of the message kind with this subject (each send has a subject of its own). */
function messagesWithSubject(subject: string): ReceivedMail[] {
  return sink.messages.filter((mail) => notificationKind(mail) === 'message' && mail.parsed.subject === subject);
}

/** Every envelope recipient of those e-mails, sorted, repeats kept: "exactly once" is part of the comparison. */
function inboxesOf(subject: string): string[] {
  return messagesWithSubject(subject)
    .flatMap((mail) => mail.rcptTo)
    .sort();
}

function sorted(emails: string[]): string[] {
  return emails.map((email) => email.toLowerCase()).sort();
}

function subjectFor(words: string): string {
  return `${words} ${uniqueSuffix()}`;
}

/** A part's body decoded by its transfer encoding, read as UTF-8: what a mail client shows. */
function decoded(part: MimePart): string {
  const encoding = (part.headers.find(([name]) => name === 'content-transfer-encoding')?.[1] ?? '7bit').toLowerCase();
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = part.body.replace(/=\r\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return Buffer.from(part.body, 'latin1').toString('utf8');
}

function partOf(mail: ReceivedMail, type: string): MimePart | undefined {
  return mimeParts(mail.mime).find((part) => part.type === type);
}

/** What every e-mail of the message kind carries: marked automatic and bulk (no auto-replies, no vacation notices), with a plain-text part. */
function checkBulkMail(t: Test, mail: ReceivedMail, label: string): void {
  const head = headerSection(mail);
  t.match(head, /^Auto-Submitted: auto-generated$/m, `${label}: Auto-Submitted: auto-generated`);
  t.match(head, /^Precedence: bulk$/m, `${label}: Precedence: bulk`);
  t.ok(partOf(mail, 'text/plain'), `${label}: a text/plain part`);
  t.equal(mail.rcptTo.length, 1, `${label}: one envelope recipient`);
}

async function organizerCancels(sessionId: string, email: string): Promise<void> {
  const id = await registrationId(database.pool, sessionId, email);
  const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${sessionId}/registrations/${id}/cancel`, headers });
  if (res.statusCode !== 200) throw new Error(`cancel failed: ${res.statusCode} ${res.body}`);
}

async function statusOf(sessionId: string, email: string): Promise<string> {
  const id = await registrationId(database.pool, sessionId, email);
  const { rows } = await database.pool.query<{ status: string }>('SELECT status::text FROM registrations WHERE id = $1', [id]);
  return rows[0]!.status;
}

/** A published session a fortnight (of the clock) ahead, with no reminders to fire meanwhile. */
function plainSession(overrides: Record<string, unknown> = {}): Promise<SessionJson> {
  const start = minuteAfter(clock.now(), 14 * 24 * HOUR);
  return createSessionAt(app, headers, sessionAt(start, { contact, reminders: [], ...overrides }));
}

async function registerAll(session: SessionJson, people: Record<string, string>): Promise<void> {
  for (const [name, email] of Object.entries(people)) await registered(app, session.slug, { name, email });
}

t.test('each audience reaches exactly its people, once; attendance only once the session has started', async (t) => {
  const start = minuteAfter(clock.now(), 3 * HOUR);
  const session = await createSessionAt(
    app,
    headers,
    sessionAt(start, {
      contact,
      approval: true,
      capacity: 4,
      waitlist: { enabled: true, mode: 'offer', offerMinutes: 60 },
      reminders: [],
      joinUrl: 'https://meet.example.org/messages-room',
    }),
  );
  const people = {
    ana: uniqueEmail('ana'),
    bo: uniqueEmail('bo'),
    cy: uniqueEmail('cy'),
    cal: uniqueEmail('cal'),
    wes: uniqueEmail('wes'),
    wyn: uniqueEmail('wyn'),
    pat: uniqueEmail('pat'),
    pia: uniqueEmail('pia'),
    pete: uniqueEmail('pete'),
  };
  await registerAll(session, {
    'Ana Attends': people.ana,
    'Bo Joins': people.bo,
    'Cy Absent': people.cy,
    'Cal Cancelled': people.cal,
    'Wes Offered': people.wes,
    'Wyn Waits': people.wyn,
    'Pat Pending': people.pat,
    'Pia Pending': people.pia,
    'Pete Declined': people.pete,
  });
  // Approval in order: four seats, then the waitlist; Cal's seat, once freed, is offered to Wes.
  for (const email of [people.ana, people.bo, people.cy, people.cal, people.wes, people.wyn]) {
    const id = await registrationId(database.pool, session.id, email);
    const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${id}/approve`, headers });
    if (res.statusCode !== 200) throw new Error(`approve failed: ${res.statusCode} ${res.body}`);
  }
  await organizerCancels(session.id, people.cal);
  const peteId = await registrationId(database.pool, session.id, people.pete);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${peteId}/decline`, headers })).statusCode, 200);
  const statuses = Object.fromEntries(await Promise.all(Object.entries(people).map(async ([name, email]) => [name, await statusOf(session.id, email)])));
  t.same(
    statuses,
    { ana: 'confirmed', bo: 'confirmed', cy: 'confirmed', cal: 'cancelled', wes: 'offered', wyn: 'waitlisted', pat: 'pending', pia: 'pending', pete: 'declined' },
    'the session holds every status',
  );

  const expected: Record<string, string[]> = {
    confirmed: [people.ana, people.bo, people.cy],
    waitlisted: [people.wyn],
    pending: [people.pat, people.pia],
    all: [people.ana, people.bo, people.cy, people.wes, people.wyn, people.pat, people.pia],
  };
  const check = async (audience: string, recipients: string[]) => {
    const subject = subjectFor(`To the ${audience}`);
    const message = await sent(session.id, { subject, body: `Hello, ${audience} people.`, audience });
    t.equal(message.recipients, recipients.length, `${audience}: the answer counts ${recipients.length}`);
    const log = await delivered(session.id, message.id);
    t.same(sorted(log.items.map((row) => row.recipient ?? '')), sorted(recipients), `${audience}: one row for each of its people, no one else`);
    t.same([...new Set(log.items.map((row) => row.status))], ['sent'], `${audience}: every row sent`);
    t.same(inboxesOf(subject), sorted(recipients), `${audience}: each inbox got it exactly once, and no other inbox`);
  };
  for (const [audience, recipients] of Object.entries(expected)) await check(audience, recipients);

  for (const audience of ['attended', 'no-show']) {
    expectProblem(t, await send(session.id, { subject: subjectFor('Too early'), body: 'Thanks for coming', audience }), 409, `${audience} before the start`);
  }

  // During the session: Ana is checked in, Bo joins by his personal link, Cy never comes.
  clock.set(new Date(start.getTime() + 5 * MINUTE));
  const anaId = await registrationId(database.pool, session.id, people.ana);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${anaId}/check-in`, headers })).statusCode, 200);
  const boId = await registrationId(database.pool, session.id, people.bo);
  t.equal((await app.inject({ method: 'GET', url: `/j/${app.services.tokens.derive('join', boId, 0)}` })).statusCode, 302, 'Bo joins');
  await check('attended', [people.ana, people.bo]);
  await check('no-show', [people.cy]);

  await sleep(500);
  for (const email of [people.cal, people.pete]) {
    t.equal(sink.to(email).filter((mail) => notificationKind(mail) === 'message').length, 0, `no message to ${email}, who is no longer registered`);
  }
});

t.test('a message sent twice, or delivered by two jobs, reaches each person once', async (t) => {
  const session = await plainSession({ capacity: 10 });
  const people = { 'Ann Twice': uniqueEmail('twice'), 'Ben Twice': uniqueEmail('twice'), 'Cas Twice': uniqueEmail('twice') };
  await registerAll(session, people);
  const emails = Object.values(people);

  // The same id twice (a browser's repeated submit): one message, one e-mail each.
  const id = randomUUID();
  const subject = subjectFor('Sent twice');
  const first = await send(session.id, { id, subject, body: 'Only once, please.', audience: 'confirmed' });
  const again = await send(session.id, { id, subject, body: 'Only once, please.', audience: 'confirmed' });
  t.equal(first.statusCode, 202, first.body);
  t.equal(again.statusCode, 202, again.body);
  t.same(again.json(), first.json(), 'the repeat answers the first message');
  await delivered(session.id, id);
  // And once more after delivery: still nothing new.
  t.same((await send(session.id, { id, subject, body: 'Only once, please.', audience: 'confirmed' })).json(), first.json());
  await sleep(800);
  t.same(inboxesOf(subject), sorted(emails), 'one e-mail each');
  t.equal((await messageLog(session.id, id)).items.length, emails.length, 'one row each');

  // Delivered by three jobs at once (the relay's and two more for the same rows), then once more.
  await ctx.stopWorker();
  const twice = subjectFor('Delivered twice');
  const message = await sent(session.id, { subject: twice, body: 'One delivery each.', audience: 'all' });
  const ids = (await messageLog(session.id, message.id)).items.map((row) => row.id);
  t.equal(ids.length, emails.length);
  await batchQueue.add('send-email-batch', { notificationIds: ids }, { jobId: `twice-a-${uniqueSuffix()}` });
  await batchQueue.add('send-email-batch', { notificationIds: [...ids].reverse() }, { jobId: `twice-b-${uniqueSuffix()}` });
  await ctx.startWorker();
  await delivered(session.id, message.id);
  await waitFor(async () => Object.values(await batchQueue.getJobCounts('waiting', 'active', 'delayed')).every((n) => n === 0), 10_000, 'the jobs done');
  await sleep(500);
  t.same(inboxesOf(twice), sorted(emails), 'one e-mail each, with three jobs for the rows');
  const again2 = await batchQueue.add('send-email-batch', { notificationIds: ids }, { jobId: `again-${uniqueSuffix()}` });
  t.equal(await again2.waitUntilFinished(batchEvents, 10_000), `sent ${emails.length}`, 'the batch once more finds every row sent');
  await sleep(500);
  t.same(inboxesOf(twice), sorted(emails), 'and sends nothing');
  const log = await messageLog(session.id, message.id);
  t.same([log.message.sent, log.message.pending, log.message.failed, log.message.skipped], [emails.length, 0, 0, 0], 'the counts: every row sent once');
});

t.test("a test reaches the organizer alone, marked as a test, with no one's registration link", async (t) => {
  const session = await plainSession({ capacity: 10 });
  const people = { 'Tia Test': uniqueEmail('test'), 'Tom Test': uniqueEmail('test') };
  await registerAll(session, people);
  const subject = subjectFor('Check this draft');
  const message = await sent(session.id, { subject, body: 'Draft words: https://meet.example.org/draft', audience: 'all', test: true });
  t.equal(message.recipients, 1, 'one recipient');
  await delivered(session.id, message.id);
  await sleep(500);
  const mails = sink.messages.filter((mail) => mail.parsed.subject === `[Test] ${subject}`);
  t.equal(mails.length, 1, 'one e-mail');
  t.same(mails[0]?.rcptTo, [owner.organizer.email.toLowerCase()], "to the organizer's address alone");
  t.equal(messagesWithSubject(subject).length, 0, 'nothing without the [Test] mark');
  for (const email of Object.values(people)) {
    t.equal(sink.to(email).filter((mail) => notificationKind(mail) === 'message').length, 0, `nothing to ${email}`);
  }
  const mail = mails[0]!;
  checkBulkMail(t, mail, 'test');
  t.match(mail.text, /This is a test: only you received it/);
  t.ok(mail.text.includes(`http://convene.test/s/${session.slug}`), "the session's page in place of a registration link");
  t.notMatch(mail.text, /convene\.test\/m\//, 'no manage link of anyone');
  t.match(mail.html, /href="https:\/\/meet\.example\.org\/draft"/, 'the link in the body is clickable');
});

t.test('hostile subjects and bodies stay words: no header, no markup, lines within RFC 5322, characters intact', async (t) => {
  const session = await plainSession({ capacity: 10 });
  const people = { 'Hal Hostile': uniqueEmail('hostile'), 'Hap Hostile': uniqueEmail('hostile') };
  await registerAll(session, people);
  const emails = Object.values(people);

  const marker = uniqueSuffix();
  const arabic = 'مرحبا بكم في الجلسة';
  const hebrew = 'שלום לכולם, נתראה בקרוב';
  const emoji = '🎉 👩‍👩‍👧 😀';
  const long = `${marker}${'Ab1-'.repeat(1_250)}`.slice(0, 5_000);
  const subject = `Schedule ${marker} ${emoji} ${arabic}\r\nBcc: victim@evil.example\r\nX-Injected: 1`;
  const body = [
    'Hello all,',
    '<script>alert("x")</script> and <b>bold words</b> & more',
    long,
    `${arabic}\n${hebrew}`,
    `Party: ${emoji}`,
    'New room: https://meet.example.org/new?room=1&pin=2',
  ].join('\n\n');
  const message = await sent(session.id, { subject, body, audience: 'confirmed' });
  t.equal(message.recipients, emails.length);
  await delivered(session.id, message.id);
  await sleep(500);

  const oneLine = subject.replace(/\s+/g, ' ');
  const mails = messagesWithSubject(oneLine);
  t.same(sorted(mails.flatMap((mail) => mail.rcptTo)), sorted(emails), 'one e-mail to each recipient, the subject on one line');
  t.equal(sink.to('victim@evil.example').length, 0, 'nothing to the injected address');
  for (const mail of mails) {
    const label = mail.rcptTo[0]!;
    checkBulkMail(t, mail, label);
    const head = headerSection(mail);
    t.notMatch(head, /^(bcc|cc|x-injected):/im, `${label}: no injected header`);
    t.equal(head.match(/^subject:/gim)?.length, 1, `${label}: one Subject header`);
    t.notOk(mail.parsed.headers.has('bcc'), `${label}: mailparser sees no Bcc`);
    t.notOk(mail.parsed.headers.has('x-injected'), `${label}: nor the other header`);

    const tooLong = mail.raw.toString('latin1').split('\r\n').filter((line) => line.length > 998);
    t.same(tooLong.map((line) => line.length), [], `${label}: every raw line within 998 characters`);

    const html = partOf(mail, 'text/html');
    const text = partOf(mail, 'text/plain');
    t.ok(html && text, `${label}: HTML and plain-text parts`);
    const htmlText = html ? decoded(html) : '';
    const plain = text ? decoded(text) : '';
    t.notMatch(htmlText, /<script/i, `${label}: no script tag in the HTML`);
    t.ok(htmlText.includes('&lt;script&gt;alert('), `${label}: the script written as text`);
    t.notMatch(htmlText, /<b>bold words/, `${label}: no markup from the body`);
    t.ok(htmlText.includes('&lt;b&gt;bold words&lt;/b&gt; &amp; more'), `${label}: the markup written as text`);
    t.match(htmlText, /href="https:\/\/meet\.example\.org\/new\?room=1&amp;pin=2"/, `${label}: the address made a link`);
    t.ok(plain.includes('<script>alert("x")</script> and <b>bold words</b> & more'), `${label}: the plain text has the words as written`);
    t.ok(plain.includes('New room: https://meet.example.org/new?room=1&pin=2'), `${label}: and the address`);
    for (const [name, words] of [['the 5,000-character line', long], ['Arabic', arabic], ['Hebrew', hebrew], ['emoji', emoji]] as const) {
      t.ok(plain.includes(words), `${label}: ${name} intact in the plain text`);
      t.ok(htmlText.includes(words), `${label}: ${name} intact in the HTML`);
    }
    t.equal(mail.parsed.subject, oneLine, `${label}: the subject decodes to the words, emoji and Arabic included`);
    t.ok(mail.text.includes(hebrew) && mail.text.includes(emoji), `${label}: mailparser reads them back too`);
  }
});

t.test("the session's e-mail texts appear in their own e-mails only, linked and escaped", async (t) => {
  const marker = uniqueSuffix();
  const texts = {
    confirmation: `Confirmation-words-${marker}: agenda at https://agenda.example.org/day?x=1&y=2 <i>see you</i>`,
    waitlisted: `Waitlist-words-${marker}: updates at https://updates.example.org/list <u>stay tuned</u>`,
    reminder: `Reminder-words-${marker}: slides at https://slides.example.org/deck <em>thanks</em>`,
  };
  const needles = {
    confirmation: `Confirmation-words-${marker}`,
    waitlisted: `Waitlist-words-${marker}`,
    reminder: `Reminder-words-${marker}`,
  };
  const start = minuteAfter(clock.now(), 3 * HOUR);
  const session = await createSessionAt(
    app,
    headers,
    sessionAt(start, { contact, capacity: 1, reminders: [60], emailTexts: { confirmation: texts.confirmation, waitlisted: texts.waitlisted } }),
  );
  t.same(session.emailTexts, { confirmation: texts.confirmation, waitlisted: texts.waitlisted }, 'set on create');
  const patched = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${session.id}`, headers, payload: { emailTexts: texts } });
  t.equal(patched.statusCode, 200, patched.body);
  t.same(patched.json().emailTexts, texts, 'and on PATCH');

  const people = { ana: uniqueEmail('texts'), wes: uniqueEmail('texts') };
  await registered(app, session.slug, { name: 'Ana Seat', email: people.ana });
  await registered(app, session.slug, { name: 'Wes Waiting', email: people.wes });
  t.equal(await statusOf(session.id, people.wes), 'waitlisted');

  const subject = subjectFor('A message beside the texts');
  const message = await sent(session.id, { subject, body: 'Words of the message only.', audience: 'all' });
  const test = await sent(session.id, { subject, body: 'Words of the test only.', audience: 'all', test: true });
  await delivered(session.id, message.id);
  await delivered(session.id, test.id);

  // The reminder, fired early as its delayed job would fire: the clock a minute on, the job promoted.
  clock.advance(MINUTE);
  const queue = reminderQueue(t, redis.url);
  const job = await queue.getJob(reminderJobId(session.id, 60));
  t.ok(job && (await job.isDelayed()), 'the reminder job waits');
  await job!.promote();
  const kindOf = (email: string, kind: string) => sink.to(email).filter((mail) => notificationKind(mail) === kind);
  await waitFor(() => kindOf(people.ana, 'reminder').length === 1, 20_000, 'the reminder');
  await organizerCancels(session.id, people.wes); // a cancellation notice: a kind with no text of its own
  await waitFor(() => kindOf(people.wes, 'registration_cancelled').length === 1, 20_000, 'the cancellation notice');
  await sleep(500);

  const own: Array<[string, ReceivedMail | undefined, keyof typeof texts | null]> = [
    ['confirmation', kindOf(people.ana, 'confirmation')[0], 'confirmation'],
    ['waitlist', kindOf(people.wes, 'waitlisted')[0], 'waitlisted'],
    ['reminder', kindOf(people.ana, 'reminder')[0], 'reminder'],
    ['message to the seat', messagesWithSubject(subject).find((mail) => mail.rcptTo.includes(people.ana)), null],
    ['message to the waitlist', messagesWithSubject(subject).find((mail) => mail.rcptTo.includes(people.wes)), null],
    ['test message', sink.to(owner.organizer.email).find((mail) => mail.parsed.subject === `[Test] ${subject}`), null],
    ['cancellation', kindOf(people.wes, 'registration_cancelled')[0], null],
  ];
  for (const [label, mail, kind] of own) {
    if (!mail) {
      t.fail(`${label}: no e-mail`);
      continue;
    }
    for (const [key, needle] of Object.entries(needles)) {
      const expected = key === kind;
      t.equal(mail.text.includes(needle), expected, `${label}: the ${key} text ${expected ? 'in' : 'not in'} the plain text`);
      t.equal(mail.html.includes(needle), expected, `${label}: the ${key} text ${expected ? 'in' : 'not in'} the HTML`);
    }
  }
  const [confirmation, waitlist, reminder] = own.map(([, mail]) => mail?.html ?? '');
  t.match(confirmation, /<a href="https:\/\/agenda\.example\.org\/day\?x=1&amp;y=2"[^>]*>/, 'confirmation: the address is a link');
  t.ok(confirmation!.includes('&lt;i&gt;see you&lt;/i&gt;') && !confirmation!.includes('<i>see you'), 'confirmation: the markup is text');
  t.match(waitlist, /<a href="https:\/\/updates\.example\.org\/list"[^>]*>/, 'waitlist: the address is a link');
  t.ok(waitlist!.includes('&lt;u&gt;stay tuned&lt;/u&gt;') && !waitlist!.includes('<u>stay tuned'), 'waitlist: the markup is text');
  t.match(reminder, /<a href="https:\/\/slides\.example\.org\/deck"[^>]*>/, 'reminder: the address is a link');
  t.ok(reminder!.includes('&lt;em&gt;thanks&lt;/em&gt;') && !reminder!.includes('<em>thanks'), 'reminder: the markup is text');
  t.ok(own[0]![1]!.text.includes(texts.confirmation), 'the plain text has the confirmation text as written');
});

t.test('an erased person gets nothing: no row, no e-mail, before or after the message is written', async (t) => {
  const admin = await signIn(app, 'admin');
  const session = await plainSession({ capacity: 10 });
  const people = { stays: uniqueEmail('stays'), erased: uniqueEmail('erased'), later: uniqueEmail('later') };
  await registerAll(session, { 'Sam Stays': people.stays, 'Eve Erased': people.erased, 'Lee Later': people.later });
  const erasedId = await registrationId(database.pool, session.id, people.erased);
  const erase = (email: string) => app.inject({ method: 'POST', url: '/api/v1/attendees/erase', headers: admin.headers, payload: { email } });
  t.equal((await erase(people.erased)).statusCode, 200);

  const subject = subjectFor('After an erasure');
  const message = await sent(session.id, { subject, body: 'To the confirmed.', audience: 'confirmed' });
  t.equal(message.recipients, 2, 'the erased person is not counted');
  const log = await delivered(session.id, message.id);
  t.notOk(log.items.some((row) => row.registrationId === erasedId), 'no row for the erased registration');
  t.same(sorted(log.items.map((row) => row.recipient ?? '')), sorted([people.stays, people.later]));

  // Erased after the message was written, before it went: the row is dropped.
  await ctx.stopWorker();
  const second = subjectFor('Erased meanwhile');
  const pending = await sent(session.id, { subject: second, body: 'To the confirmed, again.', audience: 'confirmed' });
  t.equal(pending.recipients, 2);
  t.equal((await erase(people.later)).statusCode, 200);
  await ctx.startWorker();
  const after = await delivered(session.id, pending.id);
  const staysId = await registrationId(database.pool, session.id, people.stays);
  t.same(
    after.items.map((row) => [row.registrationId === staysId ? 'stays' : 'erased', row.status]).sort(),
    [
      ['erased', 'skipped'],
      ['stays', 'sent'],
    ],
    "the erased person's row skipped, the other sent",
  );
  await sleep(500);
  t.same(inboxesOf(subject), sorted([people.stays, people.later]), 'the first message: the two not erased then');
  t.same(inboxesOf(second), [people.stays.toLowerCase()], 'the second: only the one who stays');
  t.equal(sink.to(people.erased).filter((mail) => notificationKind(mail) === 'message').length, 0, 'no message ever to the one erased first');
  t.same(
    sink.to(people.later).filter((mail) => notificationKind(mail) === 'message').map((mail) => mail.parsed.subject),
    [subject],
    'the one erased later: the first message only',
  );
  t.equal(sink.messages.filter((mail) => mail.rcptTo.some((to) => to.endsWith('@invalid'))).length, 0, 'nothing to a placeholder address');
});

t.test('whoever leaves after the message is written, before it goes, is skipped', async (t) => {
  const session = await plainSession({ capacity: 2 });
  const people = { ada: uniqueEmail('leaves'), ben: uniqueEmail('stays'), wil: uniqueEmail('promoted'), wyn: uniqueEmail('leaves') };
  await registerAll(session, { 'Ada Leaves': people.ada, 'Ben Stays': people.ben, 'Wil Promoted': people.wil, 'Wyn Leaves': people.wyn });
  t.equal(await statusOf(session.id, people.wyn), 'waitlisted');

  await ctx.stopWorker();
  const subject = subjectFor('Before you go');
  const message = await sent(session.id, { subject, body: 'For everyone registered.', audience: 'all' });
  t.equal(message.recipients, 4);
  // Ada cancels by her manage link (Wil gets her seat), Wyn leaves the waitlist.
  for (const email of [people.ada, people.wyn]) {
    const id = await registrationId(database.pool, session.id, email);
    const res = await app.inject({ method: 'POST', url: `/api/v1/registrations/${app.services.tokens.derive('manage', id, 0)}/cancel` });
    t.equal(res.statusCode, 200, `${email} cancels by the manage link`);
  }
  t.equal(await statusOf(session.id, people.wil), 'confirmed', 'Wil promoted');
  await ctx.startWorker();

  const log = await delivered(session.id, message.id);
  const byRecipient = new Map(log.items.map((row) => [row.recipient, row]));
  for (const email of [people.ada, people.wyn]) {
    const row = byRecipient.get(email);
    t.same([row?.status, row?.lastError], ['skipped', 'the registration is cancelled'], `${email}: skipped`);
  }
  for (const email of [people.ben, people.wil]) t.equal(byRecipient.get(email)?.status, 'sent', `${email}: sent`);
  t.equal(log.message.skipped, 2, 'the counts say two skipped');
  await sleep(500);
  t.same(inboxesOf(subject), sorted([people.ben, people.wil]), 'only those still registered got it (the promoted one too)');
});

t.test('every e-mail of the message kind is marked automatic and bulk and has a plain-text part', async (t) => {
  const messages = sink.messages.filter((mail) => notificationKind(mail) === 'message');
  t.ok(messages.length >= 20, `the file's messages (${messages.length})`);
  const missing = messages.filter((mail) => {
    const head = headerSection(mail);
    return !/^Auto-Submitted: auto-generated$/m.test(head) || !/^Precedence: bulk$/m.test(head) || !partOf(mail, 'text/plain');
  });
  t.same(missing.map((mail) => mail.parsed.subject), [], 'none lacks them');
  // And the transactional e-mails are not bulk: a confirmation must not look like a mass mailing.
  const confirmations = sink.messages.filter((mail) => notificationKind(mail) === 'confirmation');
  t.ok(confirmations.length > 0);
  t.same(confirmations.filter((mail) => /^Precedence:/im.test(headerSection(mail))).length, 0, 'no Precedence on a confirmation');
});
