import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { registrations, sessions, type SessionRow } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { howToJoin, type HowToJoin } from './how-to-join.js';
import { joinWindowOf, joinWindowPhase, type JoinWindow } from './links.js';
import type { Tokens } from './tokens.js';

/** What a refusal page may show of the session: never its meeting URL. */
export type JoinedSession = Pick<SessionRow, 'title' | 'slug' | 'timezone' | 'startsAt' | 'endsAt' | 'contactName' | 'contactEmail' | 'cancelReason'>;

/** Everything a refusal page of a known link shows: the session, how to join, the person's manage token. */
export interface JoinContext {
  session: JoinedSession;
  window: JoinWindow;
  howTo: HowToJoin;
  /** The same registration's manage token (tokens are derived: the page links to /m/). */
  manageToken: string;
}

/** Where a join link leads now: the meeting, or why not (the route words it). */
export type JoinOutcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'unknown-link' }
  | ({ kind: 'session-cancelled' | 'registration-cancelled' | 'waitlisted' | 'session-ended' | 'no-meeting-link' } & JoinContext)
  | ({ kind: 'not-open-yet'; /** Milliseconds until the window opens, by the service's clock. */ opensInMs: number } & JoinContext);

/**
 * The personal join link: a redirect to the session's current meeting URL for a confirmed
 * registrant inside the join window, otherwise the reason, never the URL. Every redirect
 * records attendance (first and last join time).
 */
export function createJoinService({ db, clock, tokens, joinWindowMinutes }: { db: Database; clock: Clock; tokens: Tokens; joinWindowMinutes: number }) {
  /** `record`: false for HEAD requests (link checkers), which must not count as a join. */
  async function resolve(token: string, { record = true }: { record?: boolean } = {}): Promise<JoinOutcome> {
    const hash = tokens.lookupHash(token);
    if (!hash) return { kind: 'unknown-link' };
    const [found] = await db
      .select({ registration: registrations, session: sessions })
      .from(registrations)
      .innerJoin(sessions, eq(sessions.id, registrations.sessionId))
      .where(eq(registrations.joinTokenHash, hash));
    if (!found) return { kind: 'unknown-link' };
    const { registration, session } = found;
    const now = clock.now();
    const window = joinWindowOf(session, joinWindowMinutes);
    const phase = joinWindowPhase(window, now);
    const context = (): JoinContext => ({
      // Field by field: the meeting URL stays out of every refusal.
      session: {
        title: session.title,
        slug: session.slug,
        timezone: session.timezone,
        startsAt: session.startsAt,
        endsAt: session.endsAt,
        contactName: session.contactName,
        contactEmail: session.contactEmail,
        cancelReason: session.cancelReason,
      },
      window,
      howTo: howToJoin(session, joinWindowMinutes),
      manageToken: tokens.derive('manage', registration.id, registration.tokenVersion),
    });

    if (session.status === 'cancelled') return { kind: 'session-cancelled', ...context() };
    // Only a seat opens the meeting: a request, an offer not yet accepted or a place in line does not.
    if (registration.status === 'cancelled' || registration.status === 'declined' || registration.status === 'expired') {
      return { kind: 'registration-cancelled', ...context() };
    }
    if (registration.status !== 'confirmed') return { kind: 'waitlisted', ...context() };
    if (phase === 'after') return { kind: 'session-ended', ...context() };
    if (phase === 'before') return { kind: 'not-open-yet', opensInMs: window.opensAt.getTime() - now.getTime(), ...context() };
    if (!session.joinUrl) return { kind: 'no-meeting-link', ...context() };
    if (record) {
      await db
        .update(registrations)
        .set({ firstJoinedAt: sql`coalesce(${registrations.firstJoinedAt}, ${now}::timestamptz)`, lastJoinedAt: now })
        .where(eq(registrations.id, registration.id));
    }
    return { kind: 'redirect', url: session.joinUrl };
  }

  return { resolve };
}

export type JoinService = ReturnType<typeof createJoinService>;
