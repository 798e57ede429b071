import type { Database } from '../../../db/client.js';
import type { RegistrationRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { recordAudit, type AuditActor } from '../audit.service.js';
import { cancelRegistration, isActiveStatus, lockSession } from '../capacity.js';
import type { OutboxRelay } from '../notifications/relay.js';
import type { OfferTimers } from '../offer-timers.js';
import type { RegistrationQueries } from './queries.js';

export interface CancelDeps {
  db: Database;
  clock: Clock;
  outbox: OutboxRelay;
  offerTimers: OfferTimers;
  queries: RegistrationQueries;
}

/**
 * Cancels one registration (a seat, a waitlist place, a request, or a held offer: declining it),
 * giving a freed seat to the first waiting person in the same transaction. Cancelling again, or
 * cancelling a declined or expired registration, changes nothing. `actor`: an organizer cancelling for the person, recorded
 * in the audit log with the change.
 */
export async function cancelAndPromote({ db, clock, outbox, offerTimers, queries }: CancelDeps, registrationId: string, actor?: AuditActor): Promise<RegistrationRow> {
  const now = clock.now();
  const row = await queries.registrationById(registrationId);
  if (isActiveStatus(row.status)) {
    const outcome = await db.transaction(async (tx) => {
      await lockSession(tx, row.sessionId);
      const outcome = await cancelRegistration(tx, registrationId, now);
      if (actor && isActiveStatus(outcome.previousStatus)) {
        const { promoted, offers } = outcome.filled;
        const details = { sessionId: row.sessionId, previousStatus: outcome.previousStatus, promoted: promoted.length, offered: offers.length };
        await recordAudit(tx, { at: now, actor, action: 'registration.cancel', subjectType: 'registration', subjectId: registrationId, details });
      }
      return outcome;
    });
    outbox.kick();
    await offerTimers.schedule(outcome.filled.offers);
  }
  return queries.registrationById(registrationId);
}
