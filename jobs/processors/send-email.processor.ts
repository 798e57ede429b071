import type { Job } from 'bullmq';
import type { DeliveryService } from '../../src/services/notifications/delivery.js';
import { isFinalAttempt, type SendEmailJob } from '../../src/queues.js';

/**
 * Delivers one notification. A temporary failure is rethrown so BullMQ retries it with backoff;
 * a permanent one (5xx, or the last attempt) is recorded on the row and ends the job.
 */
export function sendEmailProcessor(delivery: DeliveryService) {
  return async (job: Job<SendEmailJob>): Promise<string> => {
    const finalAttempt = isFinalAttempt(job);
    const { outcome, error } = await delivery.deliver(job.data.notificationId, { finalAttempt });
    if (outcome === 'retry') throw error instanceof Error ? error : new Error(String(error));
    return outcome;
  };
}
