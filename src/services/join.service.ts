import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { registrations, sessions } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { instantText } from './email/format.js';
import type { Tokens } from './tokens.js';

export type JoinOutcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'refused'; status: number; title: string; message: string };

/**
 * The personal join link: a redirect to the session's current meeting URL for a confirmed
 * registrant inside the join window, otherwise the reason, never the URL. Every redirect
 * records attendance (first and last join time).
 */
export function createJoinService({ db, clock, tokens, joinWindowMinutes }: { db: Database; clock: Clock; tokens: Tokens; joinWindowMinutes: number }) {
  /** `record`: false for HEAD requests (link checkers), which must not count as a join. */
  async function resolve(token: string, { record = true }: { record?: boolean } = {}): Promise<JoinOutcome> {
    const notFound: JoinOutcome = {
      kind: 'refused',
      status: 404,
      title: 'Link not found',
      message: 'This join link is not valid. Use the link from your latest e-mail, or the manage page.',
    };
    const hash = tokens.lookupHash(token);
    if (!hash) return notFound;
    const [found] = await db
      .select({ registration: registrations, session: sessions })
      .from(registrations)
      .innerJoin(sessions, eq(sessions.id, registrations.sessionId))
      .where(eq(registrations.joinTokenHash, hash));
    if (!found) return notFound;
    const { registration, session } = found;
    const now = clock.now();
    const opensAt = new Date(session.startsAt.getTime() - joinWindowMinutes * 60_000);

    if (session.status === 'cancelled') {
      return { kind: 'refused', status: 410, title: 'Session cancelled', message: `"${session.title}" has been cancelled.` };
    }
    if (registration.status === 'cancelled') {
      return { kind: 'refused', status: 403, title: 'Registration cancelled', message: `Your registration for "${session.title}" is cancelled.` };
    }
    if (registration.status === 'waitlisted') {
      return {
        kind: 'refused',
        status: 403,
        title: 'On the waitlist',
        message: `You are on the waitlist for "${session.title}". If a seat opens up you will get an e-mail.`,
      };
    }
    if (session.endsAt.getTime() <= now.getTime()) {
      return { kind: 'refused', status: 410, title: 'Session ended', message: `"${session.title}" has ended.` };
    }
    if (now.getTime() < opensAt.getTime()) {
      return {
        kind: 'refused',
        status: 403,
        title: 'Not open yet',
        message: `The link to "${session.title}" opens at ${instantText(opensAt, session.timezone)}, ${joinWindowMinutes} minutes before the start. Come back then.`,
      };
    }
    if (!session.joinUrl) {
      return {
        kind: 'refused',
        status: 409,
        title: 'No meeting link yet',
        message: `The organisers have not set the meeting link of "${session.title}" yet. Please try again in a moment.`,
      };
    }
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
