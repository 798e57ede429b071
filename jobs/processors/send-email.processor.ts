import type { Job } from 'bullmq';
import type { DeliveryService } from '../../src/services/notifications/delivery.js';
import { isFinalAttempt, notificationIdsOf, type SendEmailBatchJob, type SendEmailJob } from '../../src/queues.js';

/**
 * Delivers the rows of a send-email or send-email-batch job in one transaction. When any of them
 * had a temporary failure the job throws, so BullMQ retries it with backoff; the retry finds only
 * the rows still pending or queued (the others are sent, failed or skipped) and sends just those.
 * On the last attempt a temporary failure is recorded as final.
 */
export function sendEmailProcessor(delivery: DeliveryService) {
  return async (job: Job<SendEmailJob | SendEmailBatchJob>): Promise<string> => {
    const finalAttempt = isFinalAttempt(job);
    const results = await delivery.deliverMany(notificationIdsOf(job.data), { finalAttempt });
    const counts: Record<string, number> = {};
    const codes = new Set<string>();
    for (const { outcome, error } of results.values()) {
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      if (outcome !== 'retry') continue;
      const { responseCode, code } = (error ?? {}) as { responseCode?: number; code?: string };
      codes.add(String(responseCode ?? code ?? 'no SMTP answer'));
    }
    const summary = Object.entries(counts)
      .map(([outcome, count]) => `${outcome} ${count}`)
      .join(', ');
    // The SMTP server's texts (which may name an address) stay on the rows: the job's failure
    // reason, kept in Redis and logged, carries counts and codes only.
    if (counts.retry) throw new Error(`${summary}: to retry after temporary failures (${[...codes].join(', ')})`);
    return summary;
  };
}
