import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Queue } from 'bullmq';
import ICAL from 'ical.js';
import { simpleParser, type ParsedMail } from 'mailparser';
import { pino } from 'pino';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Test } from 'tap';
import { createDb, type DbHandle } from '../../db/client.js';
import { migrateDatabase } from '../../db/migrate.js';
import { startWorker, type RunningWorker } from '../../jobs/worker.js';
import { QUEUES } from '../../jobs/queues.js';
import { buildApp, type App } from '../../src/app.js';
import { systemClock, type Clock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { createRedis } from '../../src/redis.js';
import { signIn, TEST_DATABASE_URL, TEST_REDIS_URL, testConfig, type SignedInOrganizer } from './app.js';
import { icsProblems } from './ics.js';

/**
 * Helpers for the notification tests: a real SMTP server in the test process, a parser for what
 * it receives (mailparser for the MIME, ical.js for the invite), one checker of the iCalendar
 * bytes for every invite, and an app + worker wired to all of it.
 *
 * Isolation: every notification test file gets its own Postgres database and its own Redis
 * logical database. The queue name is fixed ('send-email') and the relay sweeps every pending
 * outbox row of its database, so on the shared test database a worker of one file would deliver
 * the rows of the other test files (hundreds of them, to the wrong SMTP server) and mark them
 * sent under their feet.
 */

export const MAIL_FROM = 'Convene Events <events@mail.convene.test>';
export const MAIL_FROM_ADDRESS = 'events@mail.convene.test';

// ---------------------------------------------------------------------------------------------
// Polling

/** Polls `predicate` until it returns a truthy value (which is returned) or the time is up. */
export async function waitFor<T>(predicate: () => T | Promise<T>, timeoutMs: number, label = 'condition', intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${why}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------------
// A small MIME reader: the structure of what was sent, independent of mailparser's flattening.

export interface MimePart {
  /** Lower-cased header names with their unfolded values, in order. */
  headers: Array<[string, string]>;
  type: string;
  params: Record<string, string>;
  children: MimePart[];
  /** The raw (still transfer-encoded) body, as latin1 text so bytes are kept. */
  body: string;
}

export function parseContentType(value: string): { type: string; params: Record<string, string> } {
  const [type = '', ...rest] = value.split(';');
  const params: Record<string, string> = {};
  const re = /\s*([^=\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)\s*(?:;|$)/g;
  const text = rest.join(';');
  for (let match = re.exec(text); match; match = re.exec(text)) {
    const raw = match[2]!.trim();
    params[match[1]!.toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return { type: type.trim().toLowerCase(), params };
}

export function parseMime(raw: Buffer | string): MimePart {
  const text = typeof raw === 'string' ? raw : raw.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  const body = split === -1 ? '' : text.slice(split + 4);
  const headers: Array<[string, string]> = [];
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  const contentType = headers.find(([name]) => name === 'content-type')?.[1] ?? 'text/plain';
  const { type, params } = parseContentType(contentType);
  const children: MimePart[] = [];
  if (type.startsWith('multipart/') && params.boundary) {
    const pieces = `\r\n${body}`.split(`\r\n--${params.boundary}`);
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith('--')) break;
      children.push(parseMime(piece.replace(/^[ \t]*\r\n/, '')));
    }
  }
  return { headers, type, params, children, body };
}

export function mimeParts(part: MimePart): MimePart[] {
  return [part, ...part.children.flatMap(mimeParts)];
}

// ---------------------------------------------------------------------------------------------
// iCalendar: the byte rules of calendar.md, checked on the raw bytes, then ical.js.

export { icsProblems };

export interface InviteFacts {
  method: string | null;
  uid: string;
  sequence: number;
  status: string | null;
  start: Date;
  end: Date;
  stamp: Date;
  summary: string;
  description: string;
  url: string | null;
  location: string | null;
  organizers: Array<{ value: string; cn: string | null }>;
  attendees: Array<{ value: string; cn: string | null; partstat: string | null; rsvp: string | null }>;
  alarms: number;
  /** VEVENT property names in order. */
  eventProperties: string[];
  calendarProperties: string[];
}

function paramText(property: ICAL.Property, name: string): string | null {
  const value = property.getParameter(name);
  if (value === undefined || value === null) return null;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** The facts of an invite as ical.js reads it (independent of our renderer). */
export function inviteFacts(ics: string): InviteFacts {
  const calendar = new ICAL.Component(ICAL.parse(ics));
  const vevent = calendar.getFirstSubcomponent('vevent');
  if (!vevent) throw new Error('no VEVENT');
  const event = new ICAL.Event(vevent);
  const text = (name: string) => {
    const value = vevent.getFirstPropertyValue(name);
    return value === null || value === undefined ? null : String(value);
  };
  return {
    method: calendar.getFirstPropertyValue('method') === null ? null : String(calendar.getFirstPropertyValue('method')),
    uid: event.uid,
    sequence: event.sequence,
    status: text('status'),
    start: event.startDate.toJSDate(),
    end: event.endDate.toJSDate(),
    stamp: (vevent.getFirstPropertyValue('dtstamp') as ICAL.Time).toJSDate(),
    summary: event.summary,
    description: event.description,
    url: text('url'),
    location: text('location'),
    organizers: vevent.getAllProperties('organizer').map((p) => ({ value: String(p.getFirstValue()), cn: paramText(p, 'cn') })),
    attendees: vevent.getAllProperties('attendee').map((p) => ({
      value: String(p.getFirstValue()),
      cn: paramText(p, 'cn'),
      partstat: paramText(p, 'partstat'),
      rsvp: paramText(p, 'rsvp'),
    })),
    alarms: vevent.getAllSubcomponents('valarm').length,
    eventProperties: vevent.getAllProperties().map((p) => p.name.toUpperCase()),
    calendarProperties: calendar.getAllProperties().map((p) => p.name.toUpperCase()),
  };
}

/** The only properties an invite's VEVENT may carry: anything else came from a hostile value. */
export const INVITE_EVENT_PROPERTIES = new Set([
  'UID', 'SEQUENCE', 'DTSTAMP', 'DTSTART', 'DTEND', 'SUMMARY', 'DESCRIPTION', 'LOCATION', 'URL', 'STATUS', 'ORGANIZER', 'ATTENDEE',
]);

/** Asserts every byte rule on one invite and returns what ical.js reads from it. */
export function checkInvite(t: Test, ics: Buffer | string, label: string): InviteFacts {
  const text = typeof ics === 'string' ? ics : ics.toString('utf8');
  t.same(icsProblems(ics), [], `${label}: the iCalendar bytes follow RFC 5545`);
  const facts = inviteFacts(text);
  const unexpected = facts.eventProperties.filter((name) => !INVITE_EVENT_PROPERTIES.has(name));
  t.same(unexpected, [], `${label}: no unexpected VEVENT properties`);
  const singles = facts.eventProperties.filter((name) => name !== 'ATTENDEE');
  t.equal(new Set(singles).size, singles.length, `${label}: no property repeated`);
  t.same(facts.calendarProperties.sort(), ['METHOD', 'PRODID', 'VERSION'], `${label}: calendar properties`);
  return facts;
}

/** `mailto:a@b` in any case, as a plain lower-case address. */
export function calAddress(value: string): string {
  return value.replace(/^mailto:/i, '').toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// The SMTP server

export interface ReceivedInvite {
  /** The text/calendar alternative, decoded. */
  bytes: Buffer;
  text: string;
  /** The `method` parameter of its Content-Type. */
  method: string | undefined;
  /** The same invite attached as invite.ics (application/ics), decoded. */
  attachment: Buffer | null;
}

export interface ReceivedMail {
  raw: Buffer;
  mailFrom: string;
  rcptTo: string[];
  parsed: ParsedMail;
  mime: MimePart;
  messageId: string;
  text: string;
  html: string;
  invite: ReceivedInvite | null;
  receivedAt: number;
}

export interface FailureRule {
  remaining: number;
  code: number;
  message: string;
  /** Only messages to this address fail (lower case); any message when absent. */
  to?: string;
}

export interface SmtpSink {
  port: number;
  url: string;
  /** Accepted messages, in arrival order. */
  messages: ReceivedMail[];
  /** Messages answered with an error code. */
  refused: Array<{ rcptTo: string[]; code: number; at: number }>;
  /** Answers the next `count` messages (to `to`, when given) with `code`. */
  failNext(count: number, code: number, options?: { message?: string; to?: string }): void;
  /** Accepted messages to one recipient. */
  to(address: string): ReceivedMail[];
  /** Waits until `address` has received `count` messages (or more), returns them. */
  waitForMail(address: string, count?: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Hooks for crash tests: may delay the answer to RCPT TO, or hold a received message before answering. */
  hooks: {
    onRcptTo?: (address: string) => Promise<void> | void;
    afterData?: (mail: ReceivedMail) => Promise<void> | void;
  };
  close(): Promise<void>;
}

async function readStream(stream: SMTPServerDataStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function toReceivedMail(raw: Buffer, envelope: { mailFrom: string; rcptTo: string[] }): Promise<ReceivedMail> {
  const parsed = await simpleParser(raw);
  const calendars = parsed.attachments.filter((a) => a.contentType === 'text/calendar');
  const files = parsed.attachments.filter((a) => a.contentType === 'application/ics');
  const calendar = calendars[0];
  let invite: ReceivedInvite | null = null;
  if (calendar) {
    const contentType = calendar.headers.get('content-type') as { value: string; params?: Record<string, string> } | undefined;
    invite = {
      bytes: calendar.content,
      text: calendar.content.toString('utf8'),
      method: contentType?.params?.method,
      attachment: files[0]?.content ?? null,
    };
  }
  return {
    raw,
    mailFrom: envelope.mailFrom,
    rcptTo: envelope.rcptTo,
    parsed,
    mime: parseMime(raw),
    messageId: parsed.messageId ?? '',
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : '',
    invite,
    receivedAt: Date.now(),
  };
}

/** A real SMTP server (smtp-server) on a free port of 127.0.0.1; closed in teardown. */
export async function startSmtpSink(t: Test): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const refused: SmtpSink['refused'] = [];
  const rules: FailureRule[] = [];
  const hooks: SmtpSink['hooks'] = {};
  const address = (a: SMTPServerAddress | false) => (a ? a.address.toLowerCase() : '');

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onRcptTo(rcpt, _session, callback) {
      const hook = hooks.onRcptTo;
      if (!hook) return callback();
      Promise.resolve(hook(rcpt.address.toLowerCase())).then(
        () => callback(),
        () => callback(),
      );
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      void (async () => {
        const raw = await readStream(stream);
        const rcptTo = session.envelope.rcptTo.map(address);
        const rule = rules.find((r) => r.remaining > 0 && (!r.to || rcptTo.includes(r.to)));
        if (rule) {
          rule.remaining -= 1;
          refused.push({ rcptTo, code: rule.code, at: Date.now() });
          const error = new Error(rule.message) as Error & { responseCode: number };
          error.responseCode = rule.code;
          return callback(error);
        }
        const mail = await toReceivedMail(raw, { mailFrom: address(session.envelope.mailFrom), rcptTo });
        messages.push(mail);
        if (hooks.afterData) await hooks.afterData(mail);
        callback(null, `queued as ${messages.length}`);
      })().catch((error: unknown) => {
        try {
          callback(error as Error);
        } catch {
          // the client is gone (a crash test killed it)
        }
      });
    },
  });
  server.on('error', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const info = server.server.address();
  const port = typeof info === 'object' && info ? info.port : 0;

  const sink: SmtpSink = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    refused,
    hooks,
    failNext(count, code, options = {}) {
      rules.push({ remaining: count, code, message: options.message ?? (code >= 500 ? 'mailbox unavailable' : 'try later'), to: options.to?.toLowerCase() });
    },
    to(recipient) {
      const wanted = recipient.toLowerCase();
      return messages.filter((m) => m.rcptTo.includes(wanted));
    },
    async waitForMail(recipient, count = 1, timeoutMs = 15_000) {
      await waitFor(() => sink.to(recipient).length >= count, timeoutMs, `${count} message(s) to ${recipient}`);
      return sink.to(recipient);
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  t.teardown(() => sink.close());
  return sink;
}

// ---------------------------------------------------------------------------------------------
// E-mail assertions shared by the files

/** The manage token in an e-mail's text. */
export function manageTokenOf(mail: ReceivedMail): string {
  const token = /\/m\/([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  if (!token) throw new Error(`no manage link in: ${mail.text}`);
  return token;
}

export function headerSection(mail: ReceivedMail): string {
  const text = mail.raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return end === -1 ? text : text.slice(0, end);
}

/**
 * What every e-mail to a registrant satisfies: one envelope recipient, From = MAIL_FROM,
 * Reply-To = the session contact, a manage link, a Message-ID of our domain. With `invite`,
 * the text/calendar part sits in multipart/alternative beside text and HTML and its `method`
 * equals the METHOD inside; without, there is no calendar anywhere.
 */
export function checkMail(
  t: Test,
  mail: ReceivedMail,
  expected: { to: string; contact: { name: string; email: string }; invite: 'REQUEST' | 'CANCEL' | null; manageLink?: boolean },
  label: string,
): InviteFacts | null {
  t.same(mail.rcptTo, [expected.to.toLowerCase()], `${label}: exactly one envelope recipient`);
  t.equal(mail.mailFrom, MAIL_FROM_ADDRESS, `${label}: envelope sender is MAIL_FROM`);
  t.same(mail.parsed.from?.value.map((a) => a.address), [MAIL_FROM_ADDRESS], `${label}: From is MAIL_FROM`);
  t.equal(mail.parsed.from?.value[0]?.name, 'Convene Events', `${label}: From name`);
  const replyTo = mail.parsed.replyTo?.value ?? [];
  t.same(replyTo.map((a) => [a.name, a.address]), [[expected.contact.name, expected.contact.email]], `${label}: Reply-To is the session contact`);
  const to = Array.isArray(mail.parsed.to) ? mail.parsed.to.flatMap((a) => a.value) : (mail.parsed.to?.value ?? []);
  t.same(to.map((a) => a.address), [expected.to.toLowerCase()], `${label}: To holds the one recipient`);
  t.match(mail.messageId, /^<notification-[0-9a-f-]{36}@mail\.convene\.test>$/, `${label}: Message-ID from the notification id`);
  t.notMatch(headerSection(mail), /^(bcc|cc):/im, `${label}: no Cc or Bcc header`);
  if (expected.manageLink !== false) {
    t.match(mail.text, /http:\/\/convene\.test\/m\/[A-Za-z0-9_-]{16,}/, `${label}: the text holds the manage link`);
    t.match(mail.html, /href="http:\/\/convene\.test\/m\/[A-Za-z0-9_-]{16,}"/, `${label}: the HTML holds the manage link`);
  }

  const parts = mimeParts(mail.mime);
  const calendarParts = parts.filter((p) => p.type === 'text/calendar' || p.type === 'application/ics');
  if (!expected.invite) {
    t.equal(mail.invite, null, `${label}: no invite`);
    t.same(calendarParts.map((p) => p.type), [], `${label}: no calendar part in the MIME tree`);
    return null;
  }
  const alternative = parts.find((p) => p.type === 'multipart/alternative');
  t.ok(alternative, `${label}: a multipart/alternative part`);
  t.same(alternative?.children.map((p) => p.type), ['text/plain', 'text/html', 'text/calendar'], `${label}: text, HTML and calendar alternatives`);
  const calendarPart = alternative?.children.find((p) => p.type === 'text/calendar');
  t.equal(calendarPart?.params.method, expected.invite, `${label}: Content-Type method=${expected.invite}`);
  t.equal(calendarPart?.params.charset?.toLowerCase(), 'utf-8', `${label}: Content-Type charset=utf-8`);
  if (!mail.invite) {
    t.fail(`${label}: mailparser found no text/calendar part`);
    return null;
  }
  t.equal(mail.invite.method, expected.invite, `${label}: mailparser sees method=${expected.invite}`);
  if (mail.invite.attachment) t.ok(mail.invite.attachment.equals(mail.invite.bytes), `${label}: invite.ics attachment equals the alternative`);
  const facts = checkInvite(t, mail.invite.attachment ?? mail.invite.bytes, label);
  t.equal(facts.method, expected.invite, `${label}: METHOD equals the Content-Type method`);
  const organizers = facts.organizers.map((o) => calAddress(o.value));
  t.same(organizers, [MAIL_FROM_ADDRESS], `${label}: exactly one ORGANIZER, the sending address`);
  t.not(organizers[0], expected.to.toLowerCase(), `${label}: the organizer is not the recipient`);
  t.same(facts.attendees.map((a) => calAddress(a.value)), [expected.to.toLowerCase()], `${label}: the recipient is the one ATTENDEE`);
  t.equal(facts.attendees[0]?.rsvp, 'FALSE', `${label}: RSVP=FALSE`);
  t.ok(facts.attendees[0]?.partstat, `${label}: ATTENDEE has a PARTSTAT`);
  if (expected.invite === 'REQUEST') {
    t.equal(facts.status, 'CONFIRMED', `${label}: STATUS:CONFIRMED`);
    t.ok(facts.alarms >= 1, `${label}: a VALARM`);
    t.match(facts.url ?? '', /^http:\/\/convene\.test\/j\/[A-Za-z0-9_-]{16,}$/, `${label}: URL is the personal join link`);
  } else {
    t.equal(facts.alarms, 0, `${label}: no VALARM in a CANCEL`);
  }
  return facts;
}

// ---------------------------------------------------------------------------------------------
// App + worker, isolated per test file

export interface MailTestOptions {
  /** Names this file's own Postgres database: <test database>_mail_<name>. */
  name: string;
  /** This file's own Redis logical database (1..15), unless `redisUrl` is given. */
  redisDb?: number;
  redisUrl?: string;
  /** Extra environment (SMTP_URL, MAIL_DIR ...); SMTP_URL defaults to the sink's. */
  env?: Record<string, string | undefined>;
  /** Start an SMTP sink (default true). */
  smtp?: boolean;
  /** Start the worker right away (default true). */
  worker?: boolean;
  clock?: Clock;
}

export interface MailTest {
  app: App;
  config: Config;
  database: DbHandle;
  sink: SmtpSink;
  owner: SignedInOrganizer;
  /** The environment of the test (for a child process). */
  env: Record<string, string>;
  startWorker(): Promise<RunningWorker>;
  stopWorker(): Promise<void>;
  worker(): RunningWorker | null;
}

export function isolatedDatabaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `${url.pathname.replace(/^\//, '')}_mail_${name}`;
  return url.toString();
}

export function isolatedRedisUrl(db: number): string {
  const url = new URL(TEST_REDIS_URL);
  url.pathname = `/${db}`;
  return url.toString();
}

/** Clears what an earlier, interrupted run of the same file may have left: queued jobs and unsent rows. */
async function clearLeftovers(database: DbHandle, redisUrl: string): Promise<void> {
  await database.pool.query(
    `UPDATE notifications SET status = 'skipped', last_error = 'left over by an earlier test run', updated_at = now()
     WHERE status IN ('pending', 'queued')`,
  );
  const connection = createRedis(redisUrl, 'worker');
  const queues = [new Queue(QUEUES.sendEmail, { connection }), new Queue(QUEUES.sendEmailBatch, { connection })];
  try {
    for (const queue of queues) await queue.obliterate({ force: true });
  } finally {
    for (const queue of queues) await queue.close();
    connection.disconnect();
  }
}

export const silentLog = pino({ level: 'silent' });

/**
 * The app on this file's own database and Redis, an SMTP sink, and an in-process worker
 * (startWorker with the same configuration). Everything is closed in teardown, worker first.
 */
export async function startMailTest(t: Test, options: MailTestOptions): Promise<MailTest> {
  const sink = options.smtp === false ? null : await startSmtpSink(t);
  const redisUrl = options.redisUrl ?? isolatedRedisUrl(options.redisDb ?? 1);
  const env: Record<string, string> = {
    DATABASE_URL: isolatedDatabaseUrl(options.name),
    REDIS_URL: redisUrl,
    MAIL_FROM,
    OUTBOX_SWEEP_MS: '200',
    ...(sink ? { SMTP_URL: sink.url } : {}),
  };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const config = testConfig(env);
  await migrateDatabase(config.databaseUrl);
  const database = createDb(config.databaseUrl, { max: 10, acquireTimeoutMs: 30_000 });
  if (!options.redisUrl) await clearLeftovers(database, redisUrl);
  const redis = createRedis(config.redisUrl, 'producer');
  const clock = options.clock ?? systemClock;
  const app = await buildApp({ config, database, redis, clock });
  await app.ready();

  let running: RunningWorker | null = null;
  const start = async () => {
    if (running) return running;
    running = await startWorker({ config, database, clock, log: silentLog });
    return running;
  };
  const stop = async () => {
    const worker = running;
    running = null;
    await worker?.close(5_000);
  };
  t.teardown(async () => {
    await stop();
    await app.close();
    redis.disconnect();
    await database.pool.end();
  });
  if (options.worker !== false) await start();
  const owner = await signIn(app);
  return {
    app,
    config,
    database,
    sink: sink ?? (null as unknown as SmtpSink),
    owner,
    env: { ...env, NODE_ENV: 'test', LOG_LEVEL: 'silent' },
    startWorker: start,
    stopWorker: stop,
    worker: () => running,
  };
}

// ---------------------------------------------------------------------------------------------
// Database look-ups

export interface NotificationState {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  last_error: string | null;
  message_id: string | null;
  email: string;
}

/** The outbox rows of one recipient in one session, oldest first. */
export async function notificationsOf(database: DbHandle, sessionId: string, email: string): Promise<NotificationState[]> {
  const { rows } = await database.pool.query<NotificationState>(
    `SELECT n.id, n.kind::text, n.status::text, n.attempts, n.last_error, n.message_id, a.email
     FROM notifications n JOIN registrations r ON r.id = n.registration_id JOIN attendees a ON a.id = r.attendee_id
     WHERE n.session_id = $1 AND a.email = $2 ORDER BY n.created_at, n.id`,
    [sessionId, email.toLowerCase()],
  );
  return rows;
}

export async function sessionRow(database: DbHandle, sessionId: string): Promise<{ starts_at: Date; ends_at: Date; sequence: number; status: string }> {
  const { rows } = await database.pool.query('SELECT starts_at, ends_at, sequence, status::text FROM sessions WHERE id = $1', [sessionId]);
  if (!rows[0]) throw new Error(`no session ${sessionId}`);
  return rows[0];
}

// ---------------------------------------------------------------------------------------------
// Child processes: a throwaway Redis, a worker that can be SIGKILLed

export interface RedisProcess {
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGKILL: nothing is saved. */
  kill(): Promise<void>;
}

/** A redis-server of our own (no persistence) on a free port, killed in teardown. */
export async function startRedisProcess(t: Test): Promise<RedisProcess> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const handle: RedisProcess = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let output = '';
      proc.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      await waitFor(() => /ready to accept connections/i.test(output) || proc.exitCode !== null, 10_000, 'redis-server to start');
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
    },
    async kill() {
      const proc = child;
      child = null;
      if (!proc || proc.exitCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGKILL');
      await exited;
    },
  };
  await handle.start();
  t.teardown(() => handle.kill());
  return handle;
}

export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<unknown>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs jobs/worker.ts in a child process (tests/helpers/worker-process.ts) with this environment. */
export async function spawnWorkerProcess(t: Test, env: Record<string, string>): Promise<WorkerProcess> {
  const script = new URL('./worker-process.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, CONVENE_TEST_ENV: JSON.stringify(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = once(child, 'exit');
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  t.teardown(() => kill());
  await waitFor(() => output.includes('worker-ready') || child.exitCode !== null, 20_000, 'the worker process to start');
  if (child.exitCode !== null) throw new Error(`worker process exited: ${output}`);
  return { child, exited, kill };
}
