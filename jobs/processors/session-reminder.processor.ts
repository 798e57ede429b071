import type { Job } from 'bullmq';
import type { Database } from '../../db/client.js';
import type { Clock } from '../../src/clock.js';
import type { OutboxRelay } from '../../src/services/notifications/relay.js';
import { fanOutReminder } from '../../src/services/reminders.service.js';
import type { ReminderJob } from '../../src/queues.js';

/**
 * Fans one reminder out to the attendees confirmed now, relaying each committed batch's rows at
 * once: the first e-mails go out while the rest are still being written.
 */
export function sessionReminderProcessor({ db, clock, relay }: { db: Database; clock: Clock; relay: OutboxRelay }) {
  return async (job: Job<ReminderJob>): Promise<string> => {
    const result = await fanOutReminder(db, job.data, clock.now(), (ids) => relay.relayNow(ids));
    return `${result.status}: ${result.notifications} notifications`;
  };
}
