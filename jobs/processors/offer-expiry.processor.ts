import type { Job } from 'bullmq';
import type { OfferExpiryJob } from '../../src/queues.js';
import type { RegistrationsService } from '../../src/services/registrations/index.js';

/**
 * Ends one waitlist offer when its time is up: the session's due offers expire together and their
 * seats go to the next people (with their own timers). A job that fires before the deadline (a
 * clock behind another process's) fails, so BullMQ retries it after the backoff.
 */
export function offerExpiryProcessor(registrations: Pick<RegistrationsService, 'expireOffer'>) {
  return async (job: Job<OfferExpiryJob>): Promise<string> => {
    const outcome = await registrations.expireOffer(job.data.registrationId);
    if (outcome === 'not-due') throw new Error('the offer is not due yet');
    return outcome;
  };
}
