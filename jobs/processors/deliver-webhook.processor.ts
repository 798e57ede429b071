import type { Job } from 'bullmq';
import type { DeliverWebhookJob } from '../../src/queues.js';
import type { WebhookDelivery } from '../../src/services/webhooks/delivery.js';

/**
 * One attempt of one webhook delivery. The outcome (a retry time, failed, the endpoint disabled)
 * is recorded on the row by the delivery service, so the job itself never fails for a receiver's
 * answer; `afterEach` lets the next event of the same registration go at once.
 */
export function deliverWebhookProcessor(delivery: Pick<WebhookDelivery, 'deliver'>, afterEach: () => void) {
  return async (job: Job<DeliverWebhookJob>): Promise<void> => {
    try {
      await delivery.deliver(job.data.deliveryId, job.data.attempt);
    } finally {
      afterEach();
    }
  };
}
