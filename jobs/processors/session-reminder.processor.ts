import type { Job } from 'bullmq';
import type { Database } from '../../db/client.js';
import type { Clock } from '../../src/clock.js';
import type { OutboxRelay } from '../../src/services/outbox.js';
import { fanOutReminder } from '../../src/services/reminders.service.js';
import type { ReminderJob } from '../queues.js';

/**
 * Fans one reminder out to the attendees confirmed now, handing each committed batch's e-mails
 * to the outbox relay at once: the first ones go out while the rest are still being written.
 */
export function sessionReminderProcessor({ db, clock, relay }: { db: Database; clock: Clock; relay: OutboxRelay }) {
  return async (job: Job<ReminderJob>): Promise<string> => {
    const result = await fanOutReminder(db, job.data, clock.now(), () => relay.kick());
    return `${result.status}: ${result.notifications} notifications`;
  };
}
