import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { DbHandle } from '../db/client.js';
import type { Clock } from '../src/clock.js';
import type { Config } from '../src/config.js';
import { settlesWithin } from '../src/deadline.js';
import { createRedis } from '../src/redis.js';
import { createMailer, type Mailer } from '../src/services/notifications/mailer.js';
import { createDeliveryService } from '../src/services/notifications/delivery.js';
import { createOutboxRelay } from '../src/services/notifications/relay.js';
import { createReminderScheduler, upcomingSessions } from '../src/services/reminders.service.js';
import { createSettingsService } from '../src/services/settings.service.js';
import { createTokens } from '../src/services/tokens.js';
import { startMaintenance } from './processors/maintenance.processor.js';
import { sendEmailProcessor } from './processors/send-email.processor.js';
import { sessionReminderProcessor } from './processors/session-reminder.processor.js';
import { offerExpiryProcessor } from './processors/offer-expiry.processor.js';
import { createQueues, QUEUES, type DeliverWebhookJob, type OfferExpiryJob, type ReminderJob, type SendEmailBatchJob, type SendEmailJob } from '../src/queues.js';
import { createOfferTimers } from '../src/services/offer-timers.js';
import { createRegistrationsService } from '../src/services/registrations/index.js';
import { createWebhookDelivery, createWebhookDispatcher } from '../src/services/webhooks/delivery.js';
import { createWebhookOwnerNotices } from '../src/services/webhooks/owner-notice.js';
import { secretsKey } from '../src/services/webhooks/signing.js';
import { createWebhookTransport } from '../src/services/webhooks/transport.js';
import { deliverWebhookProcessor } from './processors/deliver-webhook.processor.js';

/**
 * Batch jobs delivered at once per worker. Each holds a pooled database connection for its
 * transaction and hands up to 100 messages to the mailer's pool (SMTP_URL: 5 connections).
 * Two keep those connections busy while the other batch loads or records its rows. Measured
 * with bench/reminders.ts (10,000 reminders, 2 CPUs): 1, 2, 3, 4 and 6 all within the noise,
 * since the worker is then CPU-bound in nodemailer; more would only hold more connections.
 */
const BATCH_CONCURRENCY = 2;

/** Webhook jobs (batches of one endpoint's rows) at once per worker; the requests in flight are limited by WEBHOOK_CONCURRENCY. */
const WEBHOOK_JOBS_AT_ONCE = 16;

export interface WorkerDeps {
  config: Config;
  database: DbHandle;
  clock: Clock;
  log: Logger;
  /** Tests pass their own mailer; otherwise SMTP_URL or the development mailbox. */
  mailer?: Mailer;
}

export interface RunningWorker {
  /** Lets the current jobs finish, then closes; gives up waiting after `deadlineMs`. */
  close(deadlineMs: number): Promise<void>;
}

/**
 * The worker role: BullMQ workers that call the services, and the outbox sweep that relays
 * rows the API could not hand over (Redis down, a process killed).
 */
export async function startWorker({ config, database, clock, log, mailer: givenMailer }: WorkerDeps): Promise<RunningWorker> {
  // Blocking worker connections wait for Redis; the relay's producer connection fails fast so
  // a sweep never holds outbox rows locked while Redis is away.
  const workerConnection = createRedis(config.redisUrl, 'worker', log);
  const producerConnection = createRedis(config.redisUrl, 'producer', log);
  const queues = createQueues(producerConnection, config.queuePrefix);
  const relay = createOutboxRelay(database.db, queues, { requeueAfterMs: config.outboxRequeueAfterMs, log });
  const tokens = createTokens(config.tokenSecret);
  // Transactional and bulk mail have SMTP connections of their own, not only queues of their
  // own: a batch hands its 100 e-mails to its pool at once, and a confirmation sharing that
  // pool would wait behind up to 200 of them (seconds against a real provider).
  const transactionalMailer = givenMailer ?? createMailer({ smtpUrl: config.smtpUrl, mailDir: config.mailDir, log });
  const bulkMailer = givenMailer ?? createMailer({ smtpUrl: config.smtpUrl, mailDir: config.mailDir, log });
  // The organisation's name, colours and footer as they are when each e-mail goes out.
  const branding = createSettingsService({ db: database.db, publicBaseUrl: config.publicBaseUrl, mailFrom: config.mailFrom }).branding;
  const deliveryThrough = (mailer: Mailer) => createDeliveryService({ db: database.db, clock, tokens, mailer, config, branding, log });
  const transactionalDelivery = deliveryThrough(transactionalMailer);
  const bulkDelivery = deliveryThrough(bulkMailer);

  const sendEmail = new Worker<SendEmailJob>(QUEUES.sendEmail, sendEmailProcessor(transactionalDelivery), {
    connection: workerConnection,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
  });
  sendEmail.on('failed', (job, error) => {
    log.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: { message: error.message } }, 'send-email job failed');
  });
  sendEmail.on('error', (error) => log.warn({ err: { message: error.message } }, 'send-email worker error'));

  const sendEmailBatch = new Worker<SendEmailBatchJob>(QUEUES.sendEmailBatch, sendEmailProcessor(bulkDelivery), {
    connection: workerConnection,
    prefix: config.queuePrefix,
    concurrency: BATCH_CONCURRENCY,
  });
  sendEmailBatch.on('failed', (job, error) => {
    log.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: { message: error.message } }, 'send-email-batch job failed');
  });
  sendEmailBatch.on('error', (error) => log.warn({ err: { message: error.message } }, 'send-email-batch worker error'));

  const sessionReminders = new Worker<ReminderJob>(
    QUEUES.sessionReminders,
    sessionReminderProcessor({ db: database.db, clock, relay }),
    { connection: workerConnection, prefix: config.queuePrefix, concurrency: 2 },
  );
  sessionReminders.on('failed', (job, error) => {
    log.warn({ jobId: job?.id, err: { message: error.message } }, 'session-reminder job failed');
  });
  sessionReminders.on('error', (error) => log.warn({ err: { message: error.message } }, 'session-reminder worker error'));

  // Waitlist offers: one delayed job per offer, and a sweep for the offers whose job Redis lost.
  const registrations = createRegistrationsService({
    db: database.db,
    clock,
    tokens,
    outbox: relay,
    offerTimers: createOfferTimers({ queues, clock, log }),
  });
  const offerExpiry = new Worker<OfferExpiryJob>(QUEUES.offerExpiry, offerExpiryProcessor(registrations), {
    connection: workerConnection,
    prefix: config.queuePrefix,
    concurrency: 4,
  });
  offerExpiry.on('failed', (job, error) => {
    log.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: { message: error.message } }, 'offer-expiry job failed');
  });
  offerExpiry.on('error', (error) => log.warn({ err: { message: error.message } }, 'offer-expiry worker error'));
  const sweepOffers = async () => {
    try {
      await registrations.sweepExpiredOffers();
    } catch (error) {
      log.warn({ err: { message: (error as Error).message } }, 'offer sweep deferred');
    }
  };
  void sweepOffers();
  const offerSweep = setInterval(() => void sweepOffers(), config.offerSweepMs);
  offerSweep.unref();

  // Reminder jobs are scheduled by the API after each change; this sweep repairs what a Redis
  // outage or a lost Redis made it miss.
  const scheduler = createReminderScheduler({ queues, clock, log });
  const reconcile = async () => {
    try {
      for (const session of await upcomingSessions(database.db, clock.now())) await scheduler.schedule(session);
    } catch (error) {
      log.warn({ err: { message: (error as Error).message } }, 'reminder sweep deferred');
    }
  };
  void reconcile();
  const reminderSweep = setInterval(() => void reconcile(), config.reminderSweepMs);
  reminderSweep.unref();

  // Webhooks: a queue and HTTP connections of their own, so a slow receiver never delays e-mail.
  const webhookTransport = createWebhookTransport({ allowPrivate: config.webhookAllowPrivate });
  const webhookDispatcher = createWebhookDispatcher({ db: database.db, queues, clock, log });
  const webhookDelivery = createWebhookDelivery({
    db: database.db,
    clock,
    transport: webhookTransport,
    secretsKey: secretsKey(config.tokenSecret),
    concurrency: config.webhookConcurrency,
    onRunningLow: webhookDispatcher.kick,
    log,
  });
  // A job is a batch of one endpoint's rows whose requests wait on the delivery's limits, so
  // several jobs at once keep every connection busy while a slow receiver holds its share.
  const deliverWebhook = new Worker<DeliverWebhookJob>(QUEUES.deliverWebhook, deliverWebhookProcessor(webhookDelivery), {
    connection: workerConnection,
    prefix: config.queuePrefix,
    concurrency: WEBHOOK_JOBS_AT_ONCE,
    // A job whose worker stalled is not run again: some of its rows may be recorded already,
    // and the rest come back when their lease runs out.
    maxStalledCount: 0,
  });
  deliverWebhook.on('failed', (job, error) => {
    log.warn({ jobId: job?.id, err: { message: error.message } }, 'deliver-webhook job failed');
  });
  deliverWebhook.on('error', (error) => log.warn({ err: { message: error.message } }, 'deliver-webhook worker error'));
  webhookDispatcher.sweep();
  const webhookSweep = setInterval(() => webhookDispatcher.sweep(), config.webhookSweepMs);
  webhookSweep.unref();

  // The owner of an endpoint Convene disabled gets an e-mail (issue #22). A fixed 5 s rather than
  // WEBHOOK_SWEEP_MS: the notice is not urgent, and a tick is one statement on a partial index that
  // is empty nearly always. A tick is skipped while the previous one still runs; stopping waits for it.
  const webhookOwnerNotices = createWebhookOwnerNotices({ db: database.db, clock, mailer: transactionalMailer, config, branding, log });
  let ownerNoticesRun: Promise<void> | null = null;
  const sendOwnerNotices = () => {
    ownerNoticesRun ??= webhookOwnerNotices
      .sendDue()
      .then(
        () => undefined,
        (error: unknown) => log.warn({ err: { message: (error as Error).message } }, 'webhook owner notices deferred'),
      )
      .finally(() => {
        ownerNoticesRun = null;
      });
  };
  sendOwnerNotices();
  const ownerNoticeSweep = setInterval(sendOwnerNotices, 5_000);
  ownerNoticeSweep.unref();

  // Retention (RETENTION_DAYS): a repeatable job on the maintenance queue.
  const maintenance = startMaintenance({ config, db: database.db, clock, log, connection: workerConnection });

  relay.kick();
  const sweep = setInterval(() => relay.kick(), config.outboxSweepMs);
  sweep.unref();
  log.info(
    { queues: [QUEUES.sendEmail, QUEUES.sendEmailBatch, QUEUES.sessionReminders, QUEUES.offerExpiry, QUEUES.deliverWebhook], concurrency: config.workerConcurrency, batchConcurrency: BATCH_CONCURRENCY },
    'worker started',
  );

  return {
    async close(deadlineMs) {
      clearInterval(sweep);
      clearInterval(reminderSweep);
      clearInterval(offerSweep);
      clearInterval(webhookSweep);
      clearInterval(ownerNoticeSweep);
      // Each part has a deadline of its own and is logged by name when it overruns it; closing
      // the queues' connection gets the last fifth (at most 500 ms).
      const deadline = Date.now() + deadlineMs;
      const jobsDeadline = deadline - Math.min(500, Math.floor(deadlineMs / 5));
      const within = async (part: string, until: number, work: Promise<unknown>) => {
        if (await settlesWithin(work, until - Date.now())) return;
        log.warn({ step: `worker: ${part}` }, 'shutdown step hit its deadline; going on without it');
      };
      await within(
        'jobs in flight',
        jobsDeadline,
        Promise.allSettled([
          sendEmail.close(),
          sendEmailBatch.close(),
          sessionReminders.close(),
          offerExpiry.close(),
          deliverWebhook.close(),
          maintenance.close(),
          relay.idle(),
          webhookDispatcher.idle(),
          ownerNoticesRun,
        ]),
      );
      await within('queues', deadline, queues.close());
      await webhookTransport.close();
      if (!givenMailer) {
        transactionalMailer.close();
        bulkMailer.close();
      }
      workerConnection.disconnect();
      producerConnection.disconnect();
    },
  };
}
