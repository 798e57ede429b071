import { and, asc, eq, lte } from 'drizzle-orm';
import type { Database } from '../../../db/client.js';
import { registrations } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { recordAudit, type AuditActor } from '../audit.service.js';
import { acceptOffer, approvePending, declinePending, expireOffers, lockSession, type ApprovalOutcome, type FilledSeats } from '../capacity.js';
import type { OutboxRelay } from '../notifications/relay.js';
import type { OfferTimers } from '../offer-timers.js';
import type { RegistrationQueries } from './queries.js';

export interface WorkflowDeps {
  db: Database;
  clock: Clock;
  outbox: OutboxRelay;
  offerTimers: OfferTimers;
  queries: RegistrationQueries;
}

export interface ApprovalResult {
  registrationId: string;
  /** 'full': no seat and no waitlist place, so it stays pending; 'not-pending': not a pending registration of this session. */
  outcome: ApprovalOutcome;
}

/** How many expired sessions one sweep handles; the next sweep takes the rest. */
const SWEEP_SESSIONS = 500;

/**
 * The registration workflows beside first come, first served: an organizer's approval of
 * pending requests, and the waitlist offers that hold a freed seat for a while. Every change
 * locks the session row first (capacity.ts), so approvals, accepts, expiries, cancellations and
 * registrations of one session take turns and confirmed + offered never exceeds the capacity.
 */
export function createRegistrationWorkflow({ db, clock, outbox, offerTimers, queries }: WorkflowDeps) {
  /** After a commit that made offers: their timers, and the e-mails on their way. */
  async function afterCommit(filled: FilledSeats | null): Promise<void> {
    outbox.kick();
    if (filled) await offerTimers.schedule(filled.offers);
  }

  /**
   * Approves pending registrations in the order given, in one transaction: each takes a seat when
   * one is free and nobody waits, else a waitlist place, else stays pending ('full').
   */
  async function approve(sessionId: string, registrationIds: string[], actor?: AuditActor | null): Promise<ApprovalResult[]> {
    const now = clock.now();
    const results = await db.transaction(async (tx) => {
      const session = await lockSession(tx, sessionId);
      if (!session) throw new NotFoundError('No such session');
      if (session.status === 'cancelled') throw new ConflictError('This session has been cancelled');
      if (session.endsAt.getTime() <= now.getTime()) throw new ConflictError('This session has ended');
      const outcomes: ApprovalResult[] = [];
      for (const registrationId of registrationIds) {
        const outcome = await approvePending(tx, sessionId, registrationId, now);
        outcomes.push({ registrationId, outcome });
        if (outcome === 'confirmed' || outcome === 'waitlisted') {
          const details = { sessionId, status: outcome };
          await recordAudit(tx, { at: now, actor, action: 'registration.approve', subjectType: 'registration', subjectId: registrationId, details });
        }
      }
      return outcomes;
    });
    if (results.some(({ outcome }) => outcome === 'confirmed' || outcome === 'waitlisted')) outbox.kick();
    return results;
  }

  /** Approves one pending registration of the session: 404 for another session's, 409 when not pending or when there is no room. */
  async function approveOne(sessionId: string, registrationId: string, actor?: AuditActor | null): Promise<ApprovalOutcome> {
    await queries.registrationOfSession(sessionId, registrationId);
    const [result] = await approve(sessionId, [registrationId], actor);
    if (result?.outcome === 'not-pending') throw new ConflictError('This registration is not waiting for approval');
    if (result?.outcome === 'full') throw new ConflictError('The session is full and its waitlist is closed; raise the capacity first');
    return result!.outcome;
  }

  /** Declines a pending request, with an e-mail carrying the organizer's reason when given. */
  async function decline(sessionId: string, registrationId: string, reason: string | null, actor?: AuditActor | null): Promise<void> {
    await queries.registrationOfSession(sessionId, registrationId);
    const now = clock.now();
    const declined = await db.transaction(async (tx) => {
      await lockSession(tx, sessionId);
      if (!(await declinePending(tx, sessionId, registrationId, reason, now))) return false;
      // Whether a reason went, never its words: they are about the person.
      const details = { sessionId, reasonGiven: reason !== null };
      await recordAudit(tx, { at: now, actor, action: 'registration.decline', subjectType: 'registration', subjectId: registrationId, details });
      return true;
    });
    if (!declined) throw new ConflictError('This registration is not waiting for approval');
    outbox.kick();
  }

  /** The offered person takes the held seat; 409 once the offer has run out (or when nothing is on offer). */
  async function accept(registrationId: string): Promise<void> {
    const row = await queries.registrationById(registrationId);
    const now = clock.now();
    const outcome = await db.transaction(async (tx) => {
      await lockSession(tx, row.sessionId);
      return acceptOffer(tx, registrationId, now);
    });
    if (outcome === 'expired') throw new ConflictError('This offer has expired');
    if (outcome === 'not-offered') throw new ConflictError('No seat is on offer for this registration');
    outbox.kick();
  }

  /** Ends the session's offers that ran out and offers their seats to the next people. */
  async function expireDue(sessionId: string): Promise<number> {
    const now = clock.now();
    const { expired, filled } = await db.transaction(async (tx) => {
      if (!(await lockSession(tx, sessionId))) return { expired: 0, filled: null };
      return expireOffers(tx, sessionId, now);
    });
    if (expired > 0) await afterCommit(filled);
    return expired;
  }

  /**
   * The expiry job of one offer: 'expired' (the session's due offers ended, this one among them),
   * 'gone' (accepted, cancelled or expired already), 'not-due' (fired before its deadline).
   */
  async function expireOffer(registrationId: string): Promise<'expired' | 'gone' | 'not-due'> {
    const [row] = await db
      .select({ sessionId: registrations.sessionId, status: registrations.status, offerExpiresAt: registrations.offerExpiresAt })
      .from(registrations)
      .where(eq(registrations.id, registrationId));
    if (!row || row.status !== 'offered' || !row.offerExpiresAt) return 'gone';
    if (row.offerExpiresAt.getTime() > clock.now().getTime()) return 'not-due';
    await expireDue(row.sessionId);
    return 'expired';
  }

  /** What Redis lost: every session with an offer past its deadline. Returns the offers expired. */
  async function sweepExpiredOffers(): Promise<number> {
    const due = await db
      .selectDistinct({ sessionId: registrations.sessionId })
      .from(registrations)
      .where(and(eq(registrations.status, 'offered'), lte(registrations.offerExpiresAt, clock.now())))
      .orderBy(asc(registrations.sessionId))
      .limit(SWEEP_SESSIONS);
    let expired = 0;
    for (const { sessionId } of due) expired += await expireDue(sessionId);
    return expired;
  }

  return { approve, approveOne, decline, accept, expireDue, expireOffer, sweepExpiredOffers, afterCommit };
}

export type RegistrationWorkflow = ReturnType<typeof createRegistrationWorkflow>;

