import { once } from 'node:events';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import t from 'tap';
import { uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { spawnWorkerProcess, startRedisProcess } from '../helpers/processes.js';
import { createSession, registered } from '../helpers/registrations.js';
import { toReceivedMail, type ReceivedMail } from '../helpers/smtp-sink.js';
import { waitFor } from '../helpers/waiting.js';

/**
 * Issue #20: a message to 10,000 people never blocks a confirmation to one person. Bulk mail
 * (messages, reminders) and transactional mail keep separate queues, so a confirmation written
 * while a 10,000-recipient message is being delivered goes out among the message's e-mails, not
 * after them. How fast (invite latency under bulk load) is bench/reminders.ts's figure: here
 * only the order is asserted, and the latency printed as a comment.
 */

const RECIPIENTS = 10_000;
/** The confirmation is registered once this many of the message's e-mails arrived: the bulk is flowing. */
const DELIVERING = 500;
/**
 * Each e-mail waits this long at RCPT TO: at most 5 connections x 1000 / 2 = 2,500 e-mails a
 * second, so however fast the machine the 10,000 take seconds, and the confirmation has a bulk
 * delivery to overtake.
 */
const RCPT_DELAY_MS = 2;

interface Arrival {
  to: string;
  /** The X-Convene-Notification header. */
  kind: string;
  at: number;
  /** Kept (and parsed) for the transactional e-mails only. */
  mail: ReceivedMail | null;
}

/**
 * An SMTP sink that reads the envelope and one header of each e-mail. tests/helpers/smtp-sink.ts
 * parses every e-mail twice (mailparser, and the MIME tree) and keeps it: for 10,000 of them that
 * is a minute of this process's CPU, and the sink, not the worker, would set the pace.
 */
async function countingSink() {
  const arrivals: Arrival[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onRcptTo(_address, _session, callback) {
      setTimeout(() => callback(), RCPT_DELAY_MS);
    },
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const at = Date.now();
        const raw = Buffer.concat(chunks);
        const to = session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()).join(',');
        const kind = /^X-Convene-Notification: *(\S+)/im.exec(raw.subarray(0, 8_192).toString('latin1'))?.[1] ?? '';
        const arrival: Arrival = { to, kind, at, mail: null };
        arrivals.push(arrival);
        callback();
        if (kind !== 'message') {
          void toReceivedMail(raw, { mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', rcptTo: [to] }).then((mail) => {
            arrival.mail = mail;
          });
        }
      });
    },
  });
  server.on('error', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `smtp://127.0.0.1:${port}`, arrivals };
}

const redis = await startRedisProcess(t);
const sink = await countingSink();
const ctx = await startMailTest(t, { name: 'messages_latency', redisUrl: redis.url, worker: false, smtp: false, env: { SMTP_URL: sink.url } });
const { app, database, owner } = ctx;

// The Redis is new, so only the database can hold what an interrupted earlier run left pending.
await database.pool.query(`UPDATE notifications SET status = 'skipped', last_error = 'left over by an earlier test run' WHERE status IN ('pending', 'queued')`);

/** `count` confirmed attendees inserted in bulk, as bench/reminders.ts does; their addresses. */
async function confirmedAttendees(sessionId: string, count: number): Promise<string[]> {
  const tag = `latency-${uniqueSuffix()}`;
  const { rows } = await database.pool.query<{ email: string }>(
    `WITH people AS (
       INSERT INTO attendees (email) SELECT $2 || '-' || g || '@example.org' FROM generate_series(1, $3::int) g RETURNING id, email
     ), registered AS (
       INSERT INTO registrations (session_id, attendee_id, name, status, manage_token_hash, join_token_hash, confirmed_at)
       SELECT $1, id, 'Message Person', 'confirmed', md5(random()::text || id::text), md5(id::text || random()::text), now() - interval '1 minute'
       FROM people RETURNING 1
     )
     SELECT email FROM people WHERE (SELECT count(*) FROM registered) > 0`,
    [sessionId, tag, count],
  );
  await database.pool.query(`UPDATE sessions SET confirmed_count = confirmed_count + $2 WHERE id = $1`, [sessionId, count]);
  t.teardown(async () => {
    // 10,000 rows a run would pile up in the file's database: the session takes its registrations,
    // outbox rows and messages along; the attendees go after them.
    await database.pool.query(`DELETE FROM sessions WHERE id = $1`, [sessionId]);
    await database.pool.query(`DELETE FROM attendees WHERE email LIKE $1`, [`${tag}-%`]);
  });
  return rows.map((row) => row.email);
}

t.test('a confirmation registered while a 10,000-recipient message is delivered arrives among its e-mails, not after them', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: null }, { daysAhead: 5 });
  const recipients = await confirmedAttendees(session.id, RECIPIENTS);
  // The worker in a process of its own, as in production: the test's requests and sink do not
  // share its event loop.
  await spawnWorkerProcess(t, ctx.env);
  const messages = () => sink.arrivals.filter((arrival) => arrival.kind === 'message');

  const began = Date.now();
  const sent = await app.inject({
    method: 'POST',
    url: `/api/v1/sessions/${session.id}/messages`,
    headers: owner.headers,
    payload: { subject: 'The room changed', body: 'We meet in room 4 now.', audience: 'confirmed' },
  });
  t.equal(sent.statusCode, 202, sent.body);
  t.equal(sent.json().recipients, RECIPIENTS, 'one outbox row per confirmed attendee');
  await waitFor(() => messages().length >= DELIVERING, 60_000, `${DELIVERING} of the message's e-mails`);

  const person = uniqueEmail('latecomer');
  const registeredAt = Date.now();
  await registered(app, session.slug, { name: 'Late Comer', email: person });
  const confirmation = await waitFor(() => sink.arrivals.find((arrival) => arrival.to === person), 30_000, 'the confirmation');
  const deliveredBefore = sink.arrivals.slice(0, sink.arrivals.indexOf(confirmation)).filter((arrival) => arrival.kind === 'message').length;
  t.equal(confirmation.kind, 'confirmation', 'the newcomer gets a confirmation');
  t.comment(`the confirmation arrived ${confirmation.at - registeredAt} ms after the registration, ${deliveredBefore} of ${RECIPIENTS} message e-mails before it`);
  // Queued behind the bulk, it would come after (nearly) all of them.
  t.ok(deliveredBefore < RECIPIENTS / 2, `the confirmation overtook the bulk: ${deliveredBefore} of the message's e-mails before it`);

  await waitFor(() => messages().length >= RECIPIENTS, 180_000, `all ${RECIPIENTS} message e-mails`);
  t.comment(`the message's ${RECIPIENTS} e-mails took ${Date.now() - began} ms`);
  // Every row recorded: no job is left to send a second copy.
  const summary = await waitFor(async () => {
    const current = await app.services.messages.get(session.id, sent.json().id);
    return current.pending === 0 ? current : null;
  }, 30_000, 'every row of the message recorded');
  t.match(summary, { recipients: RECIPIENTS, sent: RECIPIENTS, pending: 0, failed: 0, skipped: 0 }, 'the message counts every e-mail sent');
  const received = new Map<string, number>();
  for (const arrival of messages()) received.set(arrival.to, (received.get(arrival.to) ?? 0) + 1);
  t.equal(received.size, RECIPIENTS, 'the bulk completes: every recipient got the message');
  t.ok(recipients.every((to) => received.get(to) === 1), 'each of them once');
  t.equal(sink.arrivals.filter((arrival) => arrival.to === person).length, 1, 'the confirmation once');
  const mail = await waitFor(() => confirmation.mail, 5_000, 'the confirmation parsed');
  t.match(mail.parsed.subject, session.title, 'the confirmation names the session');
  t.ok(mail.invite, 'and carries its invite');
});
