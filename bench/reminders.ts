import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { createQueues, type ReminderJob } from '../src/queues.js';
import { systemClock } from '../src/clock.js';
import { createServices } from '../src/services/index.js';
import type { SessionRow } from '../db/schema/index.js';
import { kinds } from '../src/services/notifications/kinds.js';
import { renderEmail } from '../src/services/notifications/templates.js';
import { registrationLinks } from '../src/services/links.js';
import { messageIdFor, registrantEmailContext } from '../src/services/notifications/delivery.js';
import { DEFAULT_BRANDING } from '../src/services/settings.service.js';
import { createReminderScheduler, reminderLead } from '../src/services/reminders.service.js';
import { createTokens } from '../src/services/tokens.js';
import { clearMail, cpuMeter, fixed, median, percentile, publishedBenchSession, report, smtpSink, startServer, type BenchContext, type RunningServer } from './lib.js';

const ATTENDEES = Number(process.env.BENCH_REMINDER_ATTENDEES ?? 10_000);
const SMALL = 100;
/** Ours and the raw baseline take turns this many times; their medians are compared. */
const ROUNDS = Number(process.env.BENCH_REMINDER_ROUNDS ?? 5);
/** Registrations timed per round, with nothing else running and while the message is delivered. */
const CONFIRMATIONS = 20;
/** A steady trickle, as in bench/invite-latency.ts: this measures latency, not throughput. */
const CONFIRMATIONS_PER_SECOND = 5;
/**
 * A message of the usual length, with a link. nodemailer's cost per e-mail grows with the body:
 * ten lines of text measured about 0.8 of the reminder's rate, two lines as many as it.
 */
const MESSAGE_BODY = 'The session moves to room 4 on the second floor; the join link stays https://meet.example.org/j/bench.\nSee you there.';
const ADMIN = { email: 'bench-messages-admin@example.org', password: 'bench-messages-password-0123' };

/** A session starting in a week with `attendees` confirmed registrations, inserted in bulk. */
async function sessionWith(ctx: BenchContext, attendees: number) {
  const start = new Date(Date.now() + 7 * 86_400_000);
  start.setUTCMinutes(0, 0, 0);
  const session = await ctx.services.sessions.create(
    {
      title: `Reminders ${randomUUID().slice(0, 8)}`,
      startsAt: start.toISOString(),
      endsAt: new Date(start.getTime() + 3_600_000).toISOString(),
      timezone: 'America/Chicago',
      capacity: null,
      reminders: [1440, 60],
      joinUrl: 'https://meet.example.org/j/bench',
      contact: { name: 'Bench', email: 'bench@example.org' },
    },
    null,
  );
  await ctx.services.sessions.publish(session.id);
  const tag = randomUUID().slice(0, 8);
  await ctx.database.pool.query(
    `WITH people AS (
       INSERT INTO attendees (email) SELECT 'rem-' || $2 || '-' || g || '@example.org' FROM generate_series(1, $3::int) g RETURNING id
     )
     INSERT INTO registrations (session_id, attendee_id, name, status, manage_token_hash, join_token_hash, confirmed_at)
     SELECT $1, id, 'Reminder Person', 'confirmed', md5(random()::text || id::text), md5(id::text || random()::text), now() FROM people`,
    [session.id, tag, attendees],
  );
  await ctx.database.pool.query(`UPDATE sessions SET confirmed_count = $2 WHERE id = $1`, [session.id, attendees]);
  return (await ctx.services.sessions.get(session.id))!;
}

/** Reschedules through the real service with a scheduler whose Redis connection counts commands. */
async function rescheduleOps(ctx: BenchContext, attendees: number): Promise<{ commands: number; jobs: number }> {
  const session = await sessionWith(ctx, attendees);
  const connection = new Redis(ctx.config.redisUrl, { maxRetriesPerRequest: 1 });
  let commands = 0;
  const send = connection.sendCommand.bind(connection);
  connection.sendCommand = ((command: Parameters<typeof send>[0], stream?: Parameters<typeof send>[1]) => {
    commands += 1;
    return send(command, stream);
  }) as typeof connection.sendCommand;
  const queues = createQueues(connection, ctx.config.queuePrefix);
  const reminders = createReminderScheduler({ queues, clock: systemClock });
  const services = createServices({ db: ctx.database.db, clock: systemClock, config: ctx.config, reminders });
  await reminders.schedule(session);
  commands = 0;
  await services.sessions.update(session.id, {
    startsAt: new Date(session.startsAt.getTime() + 30 * 60_000).toISOString(),
    endsAt: new Date(session.endsAt.getTime() + 30 * 60_000).toISOString(),
  });
  const counted = commands;
  const jobs = (await queues.sessionReminders.getJobs(['delayed'])).filter((job) => job.data.sessionId === session.id).length;
  await queues.close();
  connection.disconnect();
  return { commands: counted, jobs };
}

/**
 * The reminder the worker sends to one attendee, built with the same template and options (From
 * and To with names, Reply-To, Message-ID, the two headers), for the raw baseline. The baseline
 * must send this e-mail and not a cheaper one: ours holds non-ASCII text (the en dash of the
 * time, from the template) and lines longer than 76 characters (the links), so nodemailer
 * quoted-printable-encodes both parts, a JavaScript stream per part and message: raw sends of
 * it take 10-15 % more CPU than those of a plain-ASCII message with short lines (the earlier
 * baseline, still printed for reference), which goes out as 7bit. Rendered here, untimed.
 */
async function sameAsOurs(ctx: BenchContext, session: SessionRow, index: number): Promise<Mail.Options> {
  const id = randomUUID();
  const links = registrationLinks({ id, tokenVersion: 0 }, createTokens(ctx.config.tokenSecret), ctx.config.publicBaseUrl);
  const context = registrantEmailContext({
    session,
    registration: { name: 'Reminder Person', status: 'confirmed', attendeeTimezone: null },
    links,
    branding: DEFAULT_BRANDING,
    waitlistPosition: null,
    joinWindowMinutes: ctx.config.joinWindowMinutes,
    now: new Date(),
  });
  const rendered = await renderEmail(
    context,
    kinds.reminder.template(context, { offset: 60, startsAt: session.startsAt.toISOString(), lead: reminderLead(60) }),
  );
  return {
    from: ctx.config.mailFrom,
    to: { name: 'Reminder Person', address: `raw-${index}@example.org` },
    replyTo: { name: session.contactName, address: session.contactEmail },
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    messageId: messageIdFor(id, ctx.config.mailFrom),
    headers: { 'X-Convene-Notification': 'reminder', 'Auto-Submitted': 'auto-generated', Precedence: 'bulk' },
  };
}

/**
 * Raw nodemailer pooled sends (5 connections, like SMTP_URL's pool) of `count` messages to the
 * sink; the seconds until the sink has them all. The messages are built before the clock starts.
 * With `ownProcess` the sender runs in a child process, as our worker does, so both cross the
 * same process boundary to the sink; otherwise it shares this process (and the sink's event loop:
 * loopback writes to a reader in the same process skip waking another one).
 */
async function rawSends(
  sink: { port: number },
  count: number,
  message: (index: number) => Mail.Options | Promise<Mail.Options>,
  received: () => number,
  reset: (value: number) => void,
  ownProcess: boolean,
): Promise<{ seconds: number; cpu: number | null }> {
  const messages = await Promise.all(Array.from({ length: count }, (_, index) => message(index)));
  reset(0);
  if (!ownProcess) {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, pool: true, maxConnections: 5, maxMessages: 500 });
    const began = performance.now();
    await Promise.all(messages.map((mail) => transport.sendMail(mail)));
    await waitUntil(() => received() >= count, 60_000);
    const seconds = (performance.now() - began) / 1000;
    transport.close();
    return { seconds, cpu: null };
  }
  const sender = fork(fileURLToPath(new URL('./raw-sender.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => sender.once('exit', resolve));
  const ready = new Promise((resolve) => sender.once('message', resolve));
  sender.send({ port: sink.port, messages });
  await ready;
  const cpu = cpuMeter(sender.pid!);
  const began = performance.now();
  sender.send('go');
  await waitUntil(() => received() >= count, 60_000);
  const seconds = (performance.now() - began) / 1000;
  const used = cpu();
  await exited;
  return { seconds, cpu: used };
}

/**
 * One reminder fired as in production: a session-reminders job that a worker process fans out,
 * its e-mails relayed batch by batch as the fan-out commits them, delivered into the sink. The
 * rate counts from the job's arrival to the last message in the sink.
 */
async function fanOutThroughWorker(ctx: BenchContext, sink: { port: number }, session: SessionRow, received: () => number) {
  const worker = await startServer({ ...ctx.env, SMTP_URL: `smtp://127.0.0.1:${sink.port}`, OUTBOX_SWEEP_MS: '200', WORKER_CONCURRENCY: '16' }, 'worker');
  const producer = new Redis(ctx.config.redisUrl, { maxRetriesPerRequest: 1 });
  const queues = createQueues(producer, ctx.config.queuePrefix);
  try {
    const job: ReminderJob = { sessionId: session.id, offset: 60, startsAt: session.startsAt.toISOString() };
    const cpu = cpuMeter(worker.pid);
    const began = performance.now();
    await queues.sessionReminders.add('session-reminder', job, { jobId: `bench-${session.id}` });
    await waitUntil(() => received() >= ATTENDEES, 600_000);
    const seconds = (performance.now() - began) / 1000;
    const used = cpu();
    const { rows } = await ctx.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notifications WHERE session_id = $1 AND kind = 'reminder'`,
      [session.id],
    );
    return { rate: received() / seconds, cpu: used, rows: rows[0]!.n, complete: received() >= ATTENDEES };
  } finally {
    await queues.close();
    producer.disconnect();
    await worker.stop();
  }
}

/** Confirmations the sink watches for: when each awaited recipient's e-mail arrived. */
interface ConfirmationProbe {
  awaited: Set<string>;
  arrivals: Map<string, number>;
}

/** Milliseconds from each registration's request to its confirmation in the sink, and how many never came. */
interface Latencies {
  latencies: number[];
  missing: number;
}

/**
 * Registers people on `slug` through the API process, CONFIRMATIONS_PER_SECOND of them, up to
 * CONFIRMATIONS and while `going()` holds; how long each confirmation took to reach the sink.
 */
async function confirmationLatencies(api: RunningServer, slug: string, probe: ConfirmationProbe, going: () => boolean): Promise<Latencies> {
  const sentAt = new Map<string, number>();
  const posts: Promise<void>[] = [];
  while (sentAt.size < CONFIRMATIONS && going()) {
    const email = `confirm-${randomUUID().slice(0, 12)}@example.org`;
    probe.awaited.add(email);
    sentAt.set(email, performance.now());
    posts.push(register(api, slug, email));
    await new Promise((resolve) => setTimeout(resolve, 1000 / CONFIRMATIONS_PER_SECOND));
  }
  await Promise.all(posts);
  await waitUntil(() => [...sentAt.keys()].every((email) => probe.arrivals.has(email)), 60_000);
  const latencies = [...sentAt].filter(([email]) => probe.arrivals.has(email)).map(([email, at]) => probe.arrivals.get(email)! - at);
  return { latencies, missing: sentAt.size - latencies.length };
}

async function register(api: RunningServer, slug: string, email: string): Promise<void> {
  const response = await fetch(`${api.url}/api/v1/public/sessions/${slug}/registrations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Latency Person', email, consent: true }),
  });
  if (response.status !== 202) throw new Error(`registration answered ${response.status}`);
}

/**
 * A message to the session's confirmed attendees as an organizer sends it: the API process writes
 * its outbox rows and relays them, a worker process started as fanOutThroughWorker starts its own
 * delivers them into the sink. The rate counts from the request to the last message in the sink.
 * While it is delivered people register on another session; their confirmations' latency is
 * measured beside that of the same registrations just before, with nothing else running.
 */
async function messageThroughWorker(
  ctx: BenchContext,
  sink: { port: number },
  session: SessionRow,
  received: () => number,
  probe: ConfirmationProbe,
) {
  const env = { ...ctx.env, SMTP_URL: `smtp://127.0.0.1:${sink.port}`, OUTBOX_SWEEP_MS: '200', WORKER_CONCURRENCY: '16' };
  const worker = await startServer(env, 'worker');
  const api = await startServer(env, 'api');
  try {
    const login = await fetch(`${api.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    if (login.status !== 200) throw new Error(`login answered ${login.status}`);
    const { token } = (await login.json()) as { token: string };
    const other = await publishedBenchSession(ctx, 'Message latency');
    // The first requests of a new process compile its code paths and open its connections.
    for (let index = 0; index < 3; index += 1) {
      const email = `warm-${randomUUID().slice(0, 12)}@example.org`;
      probe.awaited.add(email);
      await register(api, other.slug, email);
    }
    const idle = await confirmationLatencies(api, other.slug, probe, () => true);

    const cpu = cpuMeter(worker.pid);
    const began = performance.now();
    const sent = await fetch(`${api.url}/api/v1/sessions/${session.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ subject: 'The room changed', body: MESSAGE_BODY, audience: 'confirmed' }),
    });
    if (sent.status !== 202) throw new Error(`the message answered ${sent.status}: ${await sent.text()}`);
    const { id } = (await sent.json()) as { id: string };
    // From the 202 on: the first confirmations find the relay still handing the message's rows over.
    const underBulk = confirmationLatencies(api, other.slug, probe, () => received() < ATTENDEES);
    await waitUntil(() => received() >= ATTENDEES, 600_000);
    const seconds = (performance.now() - began) / 1000;
    const used = cpu();
    const { rows } = await ctx.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE session_message_id = $1`, [id]);
    return {
      rate: received() / seconds,
      cpu: used,
      rows: rows[0]!.n,
      complete: received() >= ATTENDEES,
      idle,
      underBulk: await underBulk,
    };
  } finally {
    await api.stop();
    await worker.stop();
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

export async function reminderBenches(ctx: BenchContext): Promise<void> {
  const small = await rescheduleOps(ctx, SMALL);
  const large = await rescheduleOps(ctx, ATTENDEES);
  report({
    bench: 'reminders',
    metric: `reschedule: Redis commands (${ATTENDEES} vs ${SMALL} attendees)`,
    ours: String(large.commands),
    baseline: String(small.commands),
    ratio: fixed(large.commands / Math.max(small.commands, 1), 2),
    target: 'O(offsets): ratio 1',
    ok: large.commands <= small.commands && large.jobs === 2,
  });

  // Ours and the raw baseline take turns, ROUNDS times, and the medians are compared: on a small
  // machine either figure moves by 10-20 % from one run to the next.
  let received = 0;
  // The confirmations timed beside the message are kept apart from the count of bulk e-mails.
  const probe: ConfirmationProbe = { awaited: new Set(), arrivals: new Map() };
  const sink = await smtpSink(([recipient = '']) => {
    if (probe.awaited.has(recipient)) probe.arrivals.set(recipient, performance.now());
    else received += 1;
  });
  const reset = (value: number) => (received = value);
  const ours: Array<{ rate: number; cpu: number | null; rows: number; complete: boolean }> = [];
  const raw: Array<{ rate: number; cpu: number | null }> = [];
  const messages: Array<Awaited<ReturnType<typeof messageThroughWorker>>> = [];
  await ctx.services.organizers.ensureAdmin(ADMIN.email, ADMIN.password);
  let lastSession: SessionRow | null = null;
  for (let round = 0; round < ROUNDS; round += 1) {
    await clearMail(ctx);
    const session = await sessionWith(ctx, ATTENDEES);
    lastSession = session;
    reset(0);
    ours.push(await fanOutThroughWorker(ctx, sink, session, () => received));
    // ...beside raw nodemailer pooled sends to the same sink of the e-mail the worker sends: same
    // template, headers and encodings (see sameAsOurs), no database, no queue.
    const sent = await rawSends(sink, ATTENDEES, (index) => sameAsOurs(ctx, session, index), () => received, reset, true);
    raw.push({ rate: ATTENDEES / sent.seconds, cpu: sent.cpu });
    // ...and a message to the same attendees, the other bulk mail, its rate held against the
    // reminder's of the same round.
    reset(0);
    messages.push(await messageThroughWorker(ctx, sink, session, () => received, probe));
  }
  const { seconds: sharedSeconds } = await rawSends(sink, ATTENDEES, (index) => sameAsOurs(ctx, lastSession!, index), () => received, reset, false);
  const body = 'Reminder: the session starts in 1 hour.\n'.repeat(20);
  const { seconds: plainSeconds } = await rawSends(
    sink,
    ATTENDEES,
    (index) => ({ from: 'bench@example.org', to: `raw-${index}@example.org`, subject: 'Reminder', text: body, html: `<p>${body}</p>` }),
    () => received,
    reset,
    true,
  );
  await sink.close();

  const oursRate = median(ours.map((run) => run.rate));
  const rawRate = median(raw.map((run) => run.rate));
  const complete = ours.every((run) => run.complete && run.rows === ATTENDEES);
  report({
    bench: 'reminders',
    metric: `fan-out send rate (msg/s, ${ATTENDEES} rows, median of ${ROUNDS}) vs raw sends of the same e-mail`,
    ours: fixed(oursRate),
    baseline: fixed(rawRate),
    ratio: fixed(oursRate / rawRate, 2),
    target: '>= 0.8',
    ok: complete && oursRate / rawRate >= 0.8,
  });
  console.log(
    `      reminders        rounds, ours / raw msg/s: ${ours.map((run, index) => `${fixed(run.rate)} / ${fixed(raw[index]!.rate)}`).join(', ')}`,
  );

  const messageRate = median(messages.map((run) => run.rate));
  report({
    bench: 'reminders',
    metric: `message to ${ATTENDEES}: rate vs the reminder fan-out (msg/s, median of ${ROUNDS})`,
    ours: fixed(messageRate),
    baseline: fixed(oursRate),
    ratio: fixed(messageRate / oursRate, 2),
    target: '>= 0.9',
    ok: messages.every((run) => run.complete && run.rows === ATTENDEES) && messageRate / oursRate >= 0.9,
  });
  console.log(`      reminders        rounds, message / reminder msg/s: ${messages.map((run, index) => `${fixed(run.rate)} / ${fixed(ours[index]!.rate)}`).join(', ')}`);
  // Every round's registrations together: 20 a round are too few for a percentile of their own.
  const pooled = (pick: (run: (typeof messages)[number]) => Latencies) => ({
    sorted: messages.flatMap((run) => pick(run).latencies).sort((a, b) => a - b),
    missing: messages.reduce((sum, run) => sum + pick(run).missing, 0),
  });
  const underBulk = pooled((run) => run.underBulk);
  const idle = pooled((run) => run.idle);
  const bulkP50 = percentile(underBulk.sorted, 0.5);
  const idleP50 = percentile(idle.sorted, 0.5);
  report({
    bench: 'reminders',
    metric: `confirmation p50 (ms) while the message is delivered (${underBulk.sorted.length} reg.) vs nothing running`,
    ours: fixed(bulkP50, 0),
    baseline: fixed(idleP50, 0),
    ratio: fixed(bulkP50 / idleP50, 2),
    target: '<= 1000 ms',
    ok: bulkP50 <= 1000 && underBulk.missing === 0 && idle.missing === 0,
  });
  console.log(
    `      reminders        (reference) confirmation p95 (ms): ${fixed(percentile(underBulk.sorted, 0.95), 0)} while the message is delivered, ${fixed(percentile(idle.sorted, 0.95), 0)} with nothing running; missing ${underBulk.missing} / ${idle.missing}`,
  );
  // CPU per message of the sending process (ours: the whole worker, fan-out, relay and delivery;
  // Postgres and Redis not counted), in the same rounds: steadier than the rates on a shared machine.
  const cpuPerMessage = (runs: Array<{ cpu: number | null }>) =>
    runs.every((run) => run.cpu !== null) ? median(runs.map((run) => run.cpu!)) / ATTENDEES : null;
  const oursCpu = cpuPerMessage(ours);
  const rawCpu = cpuPerMessage(raw);
  if (oursCpu !== null && rawCpu !== null) {
    console.log(
      `      reminders        (reference) CPU per message, median: ours ${fixed(oursCpu * 1e6)} µs (worker process), raw ${fixed(rawCpu * 1e6)} µs; raw / ours ${fixed(rawCpu / oursCpu, 2)}`,
    );
  }
  const messageCpu = cpuPerMessage(messages);
  if (oursCpu !== null && messageCpu !== null) {
    console.log(
      `      reminders        (reference) worker CPU per e-mail of the message, median: ${fixed(messageCpu * 1e6)} µs (its rows written and mostly relayed by the API process); message / reminder ${fixed(messageCpu / oursCpu, 2)}`,
    );
  }
  const plainRate = ATTENDEES / plainSeconds;
  const sharedRate = ATTENDEES / sharedSeconds;
  console.log(
    `      reminders        (reference, not targets) raw sends of the same e-mail from the sink's own process: ${fixed(sharedRate)} msg/s, ours / that ${fixed(oursRate / sharedRate, 2)}; ` +
      `raw sends of a plain-ASCII 7bit message: ${fixed(plainRate)} msg/s, ours / that ${fixed(oursRate / plainRate, 2)}`,
  );
}
