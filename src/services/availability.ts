import { sql, type SQL } from 'drizzle-orm';
import type { SessionRow } from '../../db/schema/index.js';
import { ConflictError } from '../errors.js';
import { effectiveStatus } from './sessions.service.js';

/**
 * "May a visitor register now, and why not?": the one answer, used by the registration
 * service's checks, the API's public session and the pages.
 */

export type AvailabilityReason =
  /** A new address gets a seat. */
  | 'open'
  /** Every seat is taken (or people are already waiting): a new address gets a waitlist place. */
  | 'waitlist'
  /** Neither a seat nor a waitlist place. */
  | 'full'
  /** Before the registration window. */
  | 'not-yet'
  /** After the registration window. */
  | 'closed'
  | 'cancelled'
  | 'finished'
  | 'draft';

export interface Availability {
  reason: AvailabilityReason;
  /** A new address may register now: a seat or a waitlist place. */
  open: boolean;
  /**
   * The session takes registrations now (published, not over, inside its window): only its
   * capacity may still refuse, and that is decided by the seat statement (see SEAT_IS_FREE).
   */
  accepting: boolean;
  /** When registration opens, for reason 'not-yet'. */
  opensAt: Date | null;
  /** Seats not yet confirmed; null for a session without a capacity. */
  seatsLeft: number | null;
  waitlistOpen: boolean;
}

export type SessionRules = Pick<
  SessionRow,
  'status' | 'endsAt' | 'registrationOpensAt' | 'registrationClosesAt' | 'capacity' | 'waitlistEnabled' | 'waitlistLimit'
>;

/**
 * The counters apart from the rules: they are what moves, and a caller may hold fresher ones
 * than its session row (the seat statement reads them under the row lock).
 */
export type SessionCounts = Pick<SessionRow, 'confirmedCount' | 'waitlistedCount' | 'offeredCount'>;

export function availabilityOf(session: SessionRules, counts: SessionCounts, now: Date): Availability {
  // A seat held by an open offer is taken until the offer is accepted or runs out.
  const seatsTaken = counts.confirmedCount + counts.offeredCount;
  const seatsLeft = session.capacity === null ? null : Math.max(session.capacity - seatsTaken, 0);
  // The same two conditions as SEAT_IS_FREE and WAITLIST_HAS_ROOM below.
  const seatFree = (session.capacity === null || seatsTaken < session.capacity) && counts.waitlistedCount === 0;
  const waitlistOpen = session.waitlistEnabled && (session.waitlistLimit === null || counts.waitlistedCount < session.waitlistLimit);
  const closedFor = (reason: AvailabilityReason, opensAt: Date | null = null): Availability => ({
    reason,
    open: false,
    accepting: false,
    opensAt,
    seatsLeft,
    waitlistOpen,
  });

  const status = effectiveStatus(session, now);
  if (status !== 'published') return closedFor(status);
  const opensAt = session.registrationOpensAt;
  if (opensAt && opensAt.getTime() > now.getTime()) return closedFor('not-yet', opensAt);
  if (session.registrationClosesAt && session.registrationClosesAt.getTime() <= now.getTime()) return closedFor('closed');
  const reason = seatFree ? 'open' : waitlistOpen ? 'waitlist' : 'full';
  return { reason, open: reason !== 'full', accepting: true, opensAt: null, seatsLeft, waitlistOpen };
}

/**
 * The concurrent form of the capacity half of availabilityOf, evaluated by the seat statement
 * (services/capacity.ts) on the locked session row `s`, so that two registrations for the last
 * seat can never both take it. A seat is free only when nobody is waiting, so nobody can
 * overtake the waitlist. Change these together with availabilityOf.
 */
export const SEAT_IS_FREE = sql`(s.capacity IS NULL OR s.confirmed_count + s.offered_count < s.capacity) AND s.waitlisted_count = 0`;
export const WAITLIST_HAS_ROOM = sql`s.waitlist_enabled AND (s.waitlist_limit IS NULL OR s.waitlisted_count < s.waitlist_limit)`;

/**
 * The same two rules for the newcomer of a group with `ahead` newcomers before it, admitted
 * together on the locked row `s` (group admission, registrations/admission.ts): a seat while the
 * group has not taken every free seat, else a waitlist place while the group has not filled the
 * waitlist; 'none' otherwise. With ahead = 0 it is SEAT_IS_FREE, then WAITLIST_HAS_ROOM.
 */
export function placeAfter(ahead: SQL): SQL<'confirmed' | 'waitlisted' | 'none'> {
  const freeSeats = sql`CASE WHEN s.waitlisted_count > 0 THEN 0 ELSE GREATEST(s.capacity - s.confirmed_count - s.offered_count, 0) END`;
  return sql`CASE
    WHEN s.waitlisted_count = 0 AND (s.capacity IS NULL OR s.confirmed_count + s.offered_count + ${ahead} < s.capacity) THEN 'confirmed'
    WHEN s.waitlist_enabled AND (s.waitlist_limit IS NULL OR s.waitlisted_count + ${ahead} - ${freeSeats} < s.waitlist_limit) THEN 'waitlisted'
    ELSE 'none' END`;
}

/**
 * The services' refusal (409) when the session's state or window shuts registration; the pages
 * say the same in their own words (routes/pages/view.ts).
 */
export function closedError(availability: Pick<Availability, 'reason' | 'opensAt'>): ConflictError {
  switch (availability.reason) {
    case 'cancelled':
      return new ConflictError('This session has been cancelled');
    case 'finished':
      return new ConflictError('This session has ended');
    case 'not-yet':
      return new ConflictError(`Registration opens at ${availability.opensAt?.toISOString()}`);
    case 'closed':
      return new ConflictError('Registration for this session is closed');
    default:
      return new ConflictError('This session is not open for registration');
  }
}
