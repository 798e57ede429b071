import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../../db/client.js';
import { registrations } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { ConflictError } from '../../errors.js';
import { recordAudit, type AuditActor } from '../audit.service.js';
import { availabilityOf, closedError } from '../availability.js';
import { CONSENT } from '../consent.js';
import type { OutboxRelay } from '../notifications/relay.js';
import type { OfferTimers } from '../offer-timers.js';
import type { Tokens } from '../tokens.js';
import { cancelAndPromote } from './cancel.js';
import { checkPerson, type OrganizerRegistrationInput } from './person.js';
import type { RegistrationDetail, RegistrationQueries } from './queries.js';
import { membershipOf } from '../organisations.service.js';
import { seatPerson } from './seat.js';

export interface OrganizerRegistrationsDeps {
  db: Database;
  clock: Clock;
  tokens: Tokens;
  outbox: OutboxRelay;
  offerTimers: OfferTimers;
  queries: RegistrationQueries;
}

/** What a session's organizers do with its registrations: add someone, cancel for them, check in. */
export function createOrganizerRegistrations({ db, clock, tokens, outbox, offerTimers, queries }: OrganizerRegistrationsDeps) {
  /** An organizer adds someone by hand; `force` confirms beyond capacity. */
  async function addByOrganizer(
    sessionId: string,
    input: OrganizerRegistrationInput,
    organizerId: string,
    actor?: AuditActor | null,
  ): Promise<RegistrationDetail> {
    const now = clock.now();
    const session = await queries.sessionById(sessionId);
    // Organizers may add to a draft, outside the registration window and (with force) beyond
    // the capacity, but not once the session is over.
    const { reason } = availabilityOf(session, session, now);
    if (reason === 'cancelled' || reason === 'finished') throw closedError({ reason, opensAt: null });
    const person = checkPerson(session, input, false);
    const force = input.force ?? false;
    const consentVersion = input.consent === true ? CONSENT.version : null;
    const organisation = await membershipOf(db, person.email);
    const { taken, existing, organisationFull } = await seatPerson(
      { db, tokens },
      session,
      person,
      { source: 'organizer', force, addedBy: organizerId, consentVersion, organisation },
      now,
    );
    if (taken) {
      outbox.kick();
      // The seat is one autocommitted statement (see capacity.ts), so the entry follows it.
      const details = { sessionId, status: taken.status, forced: force };
      await recordAudit(db, { at: now, actor, action: 'registration.add', subjectType: 'registration', subjectId: taken.registrationId, details });
      return queries.get(taken.registrationId);
    }
    if (existing) throw new ConflictError('This person is already registered for the session');
    if (organisationFull) throw new ConflictError(`${organisation!.name} has all the places this session allows it; add them with "force": true to exceed the limit`);
    throw new ConflictError('The session is full; add them with "force": true to exceed the capacity');
  }

  async function cancelForSession(sessionId: string, registrationId: string, actor?: AuditActor): Promise<RegistrationDetail> {
    await queries.registrationOfSession(sessionId, registrationId);
    return queries.detail(await cancelAndPromote({ db, clock, outbox, offerTimers, queries }, registrationId, actor));
  }

  async function checkIn(sessionId: string, registrationId: string, actor?: AuditActor | null): Promise<RegistrationDetail> {
    const now = clock.now();
    const row = await queries.registrationOfSession(sessionId, registrationId);
    if (row.status !== 'confirmed') throw new ConflictError(`A ${row.status} registration cannot be checked in`);
    const [updated] = await db
      .update(registrations)
      .set({ checkedInAt: sql`coalesce(${registrations.checkedInAt}, ${now}::timestamptz)`, updatedAt: now })
      .where(and(eq(registrations.id, registrationId), eq(registrations.status, 'confirmed')))
      .returning();
    if (!updated) throw new ConflictError('The registration changed meanwhile; try again');
    await recordAudit(db, { at: now, actor, action: 'registration.check_in', subjectType: 'registration', subjectId: registrationId, details: { sessionId } });
    return queries.detail(updated);
  }

  return { addByOrganizer, cancelForSession, checkIn };
}
