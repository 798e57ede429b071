import type { Job } from 'bullmq';
import type { DeliverWebhookJob } from '../../src/queues.js';
import type { WebhookDelivery } from '../../src/services/webhooks/delivery.js';

/**
 * One attempt of each row of a batch. The outcomes (a retry time, failed, the endpoint disabled)
 * are recorded on the rows by the delivery service, so the job itself fails only when they could
 * not be recorded (the rows' lease then brings them back).
 */
export function deliverWebhookProcessor(delivery: Pick<WebhookDelivery, 'deliverBatch'>) {
  return (job: Job<DeliverWebhookJob>): Promise<void> => delivery.deliverBatch(job.data);
}
