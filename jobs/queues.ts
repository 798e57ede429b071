import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

/** Queue names and the payload of each job: ids only, never personal data. */
export const QUEUES = {
  sendEmail: 'send-email',
  sessionReminders: 'session-reminders',
  maintenance: 'maintenance',
} as const;

export interface SendEmailJob {
  notificationId: string;
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

/** Temporary SMTP failures retry with exponential backoff: 2 s, 4 s, 8 s ... about 8.5 minutes in all. */
export const SEND_EMAIL_JOB_OPTIONS: JobsOptions = {
  attempts: 9,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 5_000 },
};

export interface Queues {
  sendEmail: Queue<SendEmailJob>;
  sessionReminders: Queue<ReminderJob>;
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions, prefix: string): Queues {
  const sendEmail = new Queue<SendEmailJob>(QUEUES.sendEmail, { connection, prefix, defaultJobOptions: SEND_EMAIL_JOB_OPTIONS });
  const sessionReminders = new Queue<ReminderJob>(QUEUES.sessionReminders, { connection, prefix, defaultJobOptions: REMINDER_JOB_OPTIONS });
  return {
    sendEmail,
    sessionReminders,
    async close() {
      await Promise.all([sendEmail.close(), sessionReminders.close()]);
    },
  };
}

/** Periodic housekeeping: `retention` anonymises the registrations of long-ended sessions. */
export interface MaintenanceJob {
  /** Empty: the job reads RETENTION_DAYS from the worker's configuration when it runs. */
  reason?: 'scheduled';
}

/** The repeatable job's scheduler id: one schedule however many workers upsert it. */
export const RETENTION_SCHEDULER_ID = 'retention';

export function createMaintenanceQueue(connection: ConnectionOptions, prefix: string): Queue<MaintenanceJob> {
  return new Queue<MaintenanceJob>(QUEUES.maintenance, {
    connection,
    prefix,
    defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  });
}
