import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { offerExpiryJobId, type Queues } from '../queues.js';
import type { OfferTimer } from './capacity.js';

/** How long a change waits for Redis before leaving the timers to the worker's sweep. */
const SCHEDULE_WAIT_MS = 2_000;

export interface OfferTimers {
  /**
   * One delayed job per new offer, due at its deadline, with the registration's id as the job's
   * id (a second schedule of the same offer adds nothing). Best effort: a change still commits
   * when Redis is away, and the worker's sweep expires the offers whose job never came.
   */
  schedule(offers: OfferTimer[]): Promise<void>;
}

export const noOfferTimers: OfferTimers = { schedule: async () => undefined };

export function createOfferTimers({ queues, clock, log }: { queues: Queues; clock: Clock; log?: Logger }): OfferTimers {
  async function add(offers: OfferTimer[]): Promise<void> {
    const now = clock.now().getTime();
    await queues.offerExpiry.addBulk(
      offers.map(({ registrationId, expiresAt }) => ({
        name: 'offer-expiry',
        data: { registrationId },
        opts: { jobId: offerExpiryJobId(registrationId), delay: Math.max(expiresAt.getTime() - now, 0) },
      })),
    );
  }

  return {
    async schedule(offers) {
      if (offers.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log?.warn('offer timers are waiting for Redis; the sweep will expire the offers');
          resolve();
        }, SCHEDULE_WAIT_MS);
      });
      const added = add(offers).catch((error: Error) => {
        log?.warn({ err: { message: error.message }, offers: offers.length }, 'offer timers not scheduled; the sweep will expire the offers');
      });
      await Promise.race([added, waited]).finally(() => clearTimeout(timer));
    },
  };
}
