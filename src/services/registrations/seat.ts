import { randomUUID } from 'node:crypto';
import type { Database } from '../../../db/client.js';
import { isUniqueViolation } from '../../../db/errors.js';
import type { SessionRow } from '../../../db/schema/index.js';
import { takeSeat, takeSeatWithinLimit, type SeatResult } from '../capacity.js';
import type { Membership } from '../organisations.service.js';
import type { Tokens } from '../tokens.js';
import type { Person } from './person.js';

/** Repeat registrations re-send the manage link at most once per window (bounds mail bombing). */
const MANAGE_LINK_RESEND_WINDOW_MS = 10 * 60 * 1000;

export interface SeatOptions {
  source: 'public' | 'organizer';
  force: boolean;
  addedBy: string | null;
  consentVersion: string | null;
  /** The attendee's own zone, kept on a new registration only (checked by the caller). */
  attendeeTimezone?: string | null;
  /** The address's member organisation, recorded on the registration. */
  organisation?: Membership | null;
}

/** The session's cap on one organisation's active registrations, if it has one (members-only sessions). */
export function organisationLimitOf(session: SessionRow): number | null {
  return session.audience.kind === 'members' ? (session.audience.perOrganisationLimit ?? null) : null;
}

/** The registration's attendee row was deleted under the statement (drizzle wraps the pg error). */
export function isAttendeeForeignKeyViolation(error: unknown): boolean {
  const cause = ((error as { cause?: unknown } | null)?.cause ?? error) as { code?: string; constraint?: string } | null;
  return cause?.code === '23503' && cause.constraint === 'registrations_attendee_id_attendees_id_fk';
}

/** A new registration's id and token hashes, and those of its attendee should the address be new. */
export function newRegistrationIds(tokens: Tokens) {
  const registrationId = randomUUID();
  const attendeeId = randomUUID();
  return {
    registrationId,
    manageTokenHash: tokens.hash(tokens.derive('manage', registrationId, 0)),
    joinTokenHash: tokens.hash(tokens.derive('join', registrationId, 0)),
    newAttendee: { id: attendeeId, feedTokenHash: tokens.hash(tokens.derive('feed', attendeeId, 0)) },
  };
}

/** A public repeat at `now` re-sends the manage link unless one went in the window (see SeatRequest). */
export function manageLinkResendAt(now: Date): { since: Date; window: number } {
  return { since: new Date(now.getTime() - MANAGE_LINK_RESEND_WINDOW_MS), window: Math.floor(now.getTime() / MANAGE_LINK_RESEND_WINDOW_MS) };
}

/**
 * Takes a seat or a waitlist place with one autocommitted statement (capacity.ts), so the
 * session row is locked only while Postgres runs it, never while a round trip or our event
 * loop is pending. A repeat of someone already registered takes nothing (and, for a public
 * repeat, queues the manage link again in the same statement).
 */
export async function seatPerson(
  { db, tokens }: { db: Database; tokens: Tokens },
  session: SessionRow,
  person: Person,
  options: SeatOptions,
  now: Date,
): Promise<SeatResult> {
  for (let attempt = 1; ; attempt += 1) {
    // An organizer's override (force) is beyond every limit, the organisation's too.
    const limit = options.force ? null : organisationLimitOf(session);
    const organisationId = options.organisation?.id ?? null;
    try {
      const request = {
        ...newRegistrationIds(tokens),
        sessionId: session.id,
        ...person,
        consentVersion: options.consentVersion,
        attendeeTimezone: options.attendeeTimezone ?? null,
        source: options.source,
        force: options.force,
        addedBy: options.addedBy,
        organisationId,
        now,
        manageLinkResend: options.source === 'public' ? manageLinkResendAt(now) : null,
      };
      return limit !== null && organisationId !== null
        ? await takeSeatWithinLimit(db, { ...request, organisationId }, limit)
        : await takeSeat(db, request);
    } catch (error) {
      // The same person at the same moment (the unique index let the other one through), or
      // the attendee row erased under the statement: it failed whole, and the next try sees why.
      const retry = isUniqueViolation(error, 'registrations_one_active_per_attendee') || isAttendeeForeignKeyViolation(error);
      if (attempt >= 3 || !retry) throw error;
    }
  }
}
