import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

/** Queue names and the payload of each job: ids only, never personal data. */
export const QUEUES = {
  sendEmail: 'send-email',
} as const;

export interface SendEmailJob {
  notificationId: string;
}

/** Temporary SMTP failures retry with exponential backoff: 2 s, 4 s, 8 s ... about 8.5 minutes in all. */
export const SEND_EMAIL_JOB_OPTIONS: JobsOptions = {
  attempts: 9,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 5_000 },
};

export interface Queues {
  sendEmail: Queue<SendEmailJob>;
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions): Queues {
  const sendEmail = new Queue<SendEmailJob>(QUEUES.sendEmail, { connection, defaultJobOptions: SEND_EMAIL_JOB_OPTIONS });
  return {
    sendEmail,
    async close() {
      await sendEmail.close();
    },
  };
}
