import type { Database } from '../../../db/client.js';
import type { RegistrationRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { recordAudit, type AuditActor } from '../audit.service.js';
import { cancelRegistration, lockSession } from '../capacity.js';
import type { OutboxRelay } from '../notifications/relay.js';
import type { RegistrationQueries } from './queries.js';

export interface CancelDeps {
  db: Database;
  clock: Clock;
  outbox: OutboxRelay;
  queries: RegistrationQueries;
}

/**
 * Cancels one registration, promoting the first waiting person in the same transaction.
 * Cancelling again changes nothing. `actor`: an organizer cancelling for the person, recorded
 * in the audit log with the change.
 */
export async function cancelAndPromote({ db, clock, outbox, queries }: CancelDeps, registrationId: string, actor?: AuditActor): Promise<RegistrationRow> {
  const now = clock.now();
  const row = await queries.registrationById(registrationId);
  if (row.status !== 'cancelled') {
    await db.transaction(async (tx) => {
      await lockSession(tx, row.sessionId);
      const outcome = await cancelRegistration(tx, registrationId, now);
      if (actor && outcome.previousStatus !== 'cancelled') {
        const details = { sessionId: row.sessionId, previousStatus: outcome.previousStatus, promoted: outcome.promoted.length };
        await recordAudit(tx, { at: now, actor, action: 'registration.cancel', subjectType: 'registration', subjectId: registrationId, details });
      }
    });
    outbox.kick();
  }
  return queries.registrationById(registrationId);
}
