import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { registrations, sessions, type SessionRow } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { joinWindowOf, joinWindowPhase, type JoinWindow } from './links.js';
import type { Tokens } from './tokens.js';

type JoinedSession = Pick<SessionRow, 'title' | 'timezone'>;

/** Where a join link leads now: the meeting, or why not (the route words it). */
export type JoinOutcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'unknown-link' }
  | { kind: 'session-cancelled'; session: JoinedSession }
  | { kind: 'registration-cancelled'; session: JoinedSession }
  | { kind: 'waitlisted'; session: JoinedSession }
  | { kind: 'session-ended'; session: JoinedSession }
  | { kind: 'not-open-yet'; session: JoinedSession; window: JoinWindow }
  | { kind: 'no-meeting-link'; session: JoinedSession };

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

    if (session.status === 'cancelled') return { kind: 'session-cancelled', session };
    if (registration.status === 'cancelled') return { kind: 'registration-cancelled', session };
    if (registration.status === 'waitlisted') return { kind: 'waitlisted', session };
    if (phase === 'after') return { kind: 'session-ended', session };
    if (phase === 'before') return { kind: 'not-open-yet', session, window };
    if (!session.joinUrl) return { kind: 'no-meeting-link', session };
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
