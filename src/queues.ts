import { createHash } from 'node:crypto';
import { Queue, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import type { WebhookEvent } from '../db/schema/index.js';

/** Queue names and the payload of each job: ids only, never personal data. */
export const QUEUES = {
  sendEmail: 'send-email',
  sendEmailBatch: 'send-email-batch',
  sessionReminders: 'session-reminders',
  offerExpiry: 'offer-expiry',
  maintenance: 'maintenance',
  deliverWebhook: 'deliver-webhook',
} as const;

/**
 * Transactional mail (confirmations, cancellations, offers...): the rows of one hand-over, up to
 * SEND_EMAIL_GROUP_SIZE, delivered together (one transaction): a crowd registering in the same
 * moment costs a transaction per group, not per person. At rest a job carries one row.
 */
export interface SendEmailJob {
  notificationIds: string[];
}

/** A send-email job queued by a version that sent one row per job (still in Redis after an upgrade). */
interface SingleRowSendEmailJob {
  notificationId: string;
}

export const SEND_EMAIL_GROUP_SIZE = 16;

/** Rows in chunks of at most `size`, in their order: the rows of a job each. */
export function chunksOf<T>(rows: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < rows.length; start += size) chunks.push(rows.slice(start, start + size));
  return chunks;
}

/** The rows of a send-email job, in either form. */
export function notificationIdsOf(data: SendEmailJob | SingleRowSendEmailJob): string[] {
  return 'notificationIds' in data ? data.notificationIds : [data.notificationId];
}

/**
 * Bulk mail (reminders, follow-ups): up to SEND_EMAIL_BATCH_SIZE outbox rows delivered together,
 * one transaction and one pass of sends for all of them.
 */
export interface SendEmailBatchJob {
  notificationIds: string[];
}

export const SEND_EMAIL_BATCH_SIZE = 100;

/**
 * The id of a job of outbox rows. One row: the row id, so BullMQ refuses a second copy of a
 * job it still holds. Several: a digest of the (sorted) row ids, so handing the same rows over
 * again (the relay's transaction rolled back after Redis had taken the jobs, and the next relay
 * claims the same rows) adds nothing while BullMQ holds the first job. Rows grouped differently
 * (a re-queue of stale rows) get another id; such a second job is harmless: delivery locks the
 * rows and only sends those still pending or queued. While BullMQ keeps a finished job
 * (removeOnComplete / removeOnFail) it refuses the id.
 */
export function notificationsJobId(notificationIds: string[]): string {
  if (notificationIds.length === 1) return notificationIds[0]!;
  return `batch-${createHash('sha256').update([...notificationIds].sort().join(',')).digest('hex').slice(0, 40)}`;
}

/** One job per (session, offset): it fans out to the attendees confirmed when it fires. */
export interface ReminderJob {
  sessionId: string;
  /** Minutes before the start. */
  offset: number;
  /** The start the job was scheduled for; a moved session makes the job stale. */
  startsAt: string;
}

/** Deterministic, and free of ':' (BullMQ reserves it in job ids). */
export function reminderJobId(sessionId: string, offset: number): string {
  return `reminder-${sessionId}-${offset}`;
}

export const REMINDER_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: true,
  removeOnFail: { count: 1_000 },
};

/** One delayed job per waitlist offer, due when the offer runs out. */
export interface OfferExpiryJob {
  registrationId: string;
}

/** A registration is offered a seat at most once, so its id names the job (deterministic, no ':'). */
export function offerExpiryJobId(registrationId: string): string {
  return `offer-${registrationId}`;
}

/**
 * A job that fires a moment before its deadline (another process's clock) fails and is retried
 * after the backoff; the worker's sweep expires whatever Redis lost.
 */
export const OFFER_EXPIRY_JOB_OPTIONS: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: true,
  removeOnFail: { count: 1_000 },
};

/** Temporary SMTP failures retry with exponential backoff: 2 s, 4 s, 8 s ... about 8.5 minutes in all. */
export const SEND_EMAIL_JOB_OPTIONS: JobsOptions = {
  attempts: 9,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 5_000 },
};

/**
 * One attempt of each of a batch of webhook delivery rows of one endpoint, as the dispatcher
 * claimed them (services/webhooks/delivery.ts); the rows hold the events.
 */
export interface DeliverWebhookJob {
  endpointId: string;
  /**
   * Until when the claim holds these rows (ISO 8601): past it they may be claimed again, so a
   * job that waited longer posts nothing. Before it no other claim can take them.
   */
  leaseUntil: string;
  /**
   * Each row as claimed, with what its body is made of (ids and non-personal fields only, by
   * design of the payloads): the job posts without reading the rows again. The endpoint's address
   * and secrets are not here; they are read when the job runs (a secret never goes to Redis).
   */
  deliveries: { id: string; attempt: number; eventType: WebhookEvent; occurredAt: string; data: Record<string, unknown> }[];
}

/**
 * Retries are the delivery's own (its schedule is hours long and keeps the order of events), so
 * BullMQ runs a job once; a job that dies with its worker is taken again when its lease runs out.
 */
export const DELIVER_WEBHOOK_JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: true,
  removeOnFail: { count: 1_000 },
};

/** Whether BullMQ will not retry this job after the attempt now running. */
export function isFinalAttempt(job: Pick<Job, 'attemptsMade' | 'opts'>): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

export interface Queues {
  sendEmail: Queue<SendEmailJob>;
  /** Same retries and backoff as send-email: a retry re-sends only the rows with a temporary failure. */
  sendEmailBatch: Queue<SendEmailBatchJob>;
  sessionReminders: Queue<ReminderJob>;
  offerExpiry: Queue<OfferExpiryJob>;
  deliverWebhook: Queue<DeliverWebhookJob>;
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions, prefix: string): Queues {
  const sendEmail = new Queue<SendEmailJob>(QUEUES.sendEmail, { connection, prefix, defaultJobOptions: SEND_EMAIL_JOB_OPTIONS });
  const sendEmailBatch = new Queue<SendEmailBatchJob>(QUEUES.sendEmailBatch, { connection, prefix, defaultJobOptions: SEND_EMAIL_JOB_OPTIONS });
  const sessionReminders = new Queue<ReminderJob>(QUEUES.sessionReminders, { connection, prefix, defaultJobOptions: REMINDER_JOB_OPTIONS });
  const offerExpiry = new Queue<OfferExpiryJob>(QUEUES.offerExpiry, { connection, prefix, defaultJobOptions: OFFER_EXPIRY_JOB_OPTIONS });
  const deliverWebhook = new Queue<DeliverWebhookJob>(QUEUES.deliverWebhook, { connection, prefix, defaultJobOptions: DELIVER_WEBHOOK_JOB_OPTIONS });
  return {
    sendEmail,
    sendEmailBatch,
    sessionReminders,
    offerExpiry,
    deliverWebhook,
    async close() {
      await Promise.all([sendEmail.close(), sendEmailBatch.close(), sessionReminders.close(), offerExpiry.close(), deliverWebhook.close()]);
    },
  };
}

/**
 * Periodic housekeeping: `retention` anonymises the registrations of long-ended sessions;
 * `idempotency-keys` deletes the Idempotency-Keys older than their 24 hours; `console-sessions`
 * deletes the rows of ended console sessions.
 */
export interface MaintenanceJob {
  /** Empty: the job reads RETENTION_DAYS from the worker's configuration when it runs. */
  reason?: 'scheduled';
}

/** The repeatable jobs' scheduler ids (and job names): one schedule however many workers upsert it. */
export const RETENTION_SCHEDULER_ID = 'retention';
export const IDEMPOTENCY_PURGE_SCHEDULER_ID = 'idempotency-keys';
export const CONSOLE_SESSIONS_PURGE_SCHEDULER_ID = 'console-sessions';

export function createMaintenanceQueue(connection: ConnectionOptions, prefix: string): Queue<MaintenanceJob> {
  return new Queue<MaintenanceJob>(QUEUES.maintenance, {
    connection,
    prefix,
    defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  });
}
