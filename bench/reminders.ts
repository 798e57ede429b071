import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { createQueues } from '../jobs/queues.js';
import { systemClock } from '../src/clock.js';
import { createServices } from '../src/services/index.js';
import { createReminderScheduler, fanOutReminder } from '../src/services/reminders.service.js';
import { clearMail, fixed, report, startServer, type BenchContext } from './lib.js';

const ATTENDEES = Number(process.env.BENCH_REMINDER_ATTENDEES ?? 10_000);
const SMALL = 100;

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

async function smtpSink(onMessage: () => void) {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        onMessage();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
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

  await clearMail(ctx);
  // Fan one reminder out to every attendee, delivered by a worker process into a sink...
  let received = 0;
  const sink = await smtpSink(() => (received += 1));
  const session = await sessionWith(ctx, ATTENDEES);
  const worker = await startServer({ ...ctx.env, SMTP_URL: `smtp://127.0.0.1:${sink.port}`, OUTBOX_SWEEP_MS: '200', WORKER_CONCURRENCY: '16' }, 'worker');
  const began = performance.now();
  const fanOut = await fanOutReminder(ctx.database.db, { sessionId: session.id, offset: 60, startsAt: session.startsAt.toISOString() }, new Date());
  await waitUntil(() => received >= ATTENDEES, 600_000);
  const oursSeconds = (performance.now() - began) / 1000;
  const oursReceived = received;
  await worker.stop();

  // ...beside raw nodemailer pooled sends of a message of the same size to the same sink.
  received = 0;
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, pool: true, maxConnections: 5, maxMessages: 500 });
  const body = 'Reminder: the session starts in 1 hour.\n'.repeat(20);
  const rawBegan = performance.now();
  await Promise.all(
    Array.from({ length: ATTENDEES }, (_, index) =>
      transport.sendMail({ from: 'bench@example.org', to: `raw-${index}@example.org`, subject: 'Reminder', text: body, html: `<p>${body}</p>` }),
    ),
  );
  await waitUntil(() => received >= ATTENDEES, 60_000);
  const rawSeconds = (performance.now() - rawBegan) / 1000;
  transport.close();
  await sink.close();

  const oursRate = oursReceived / oursSeconds;
  const rawRate = ATTENDEES / rawSeconds;
  report({
    bench: 'reminders',
    metric: `fan-out send rate (msg/s, ${fanOut.notifications} rows)`,
    ours: fixed(oursRate),
    baseline: fixed(rawRate),
    ratio: fixed(oursRate / rawRate, 2),
    target: '>= 0.8',
    ok: oursReceived >= ATTENDEES && oursRate / rawRate >= 0.8,
  });
}
