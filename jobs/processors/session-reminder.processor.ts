import type { Job } from 'bullmq';
import type { Database } from '../../db/client.js';
import type { Clock } from '../../src/clock.js';
import type { OutboxRelay } from '../../src/services/outbox.js';
import { fanOutReminder } from '../../src/services/reminders.service.js';
import type { ReminderJob } from '../queues.js';

/** Fans one reminder out to the attendees confirmed now, then hands the e-mails to the outbox relay. */
export function sessionReminderProcessor({ db, clock, relay }: { db: Database; clock: Clock; relay: OutboxRelay }) {
  return async (job: Job<ReminderJob>): Promise<string> => {
    const result = await fanOutReminder(db, job.data, clock.now());
    if (result.notifications > 0) relay.kick();
    return `${result.status}: ${result.notifications} notifications`;
  };
}
