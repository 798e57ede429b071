import { and, eq, lt, or, sql } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import { attendees, registrations, sessions, type RegistrationRow, type SessionRow } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { renderInvite } from './calendar/index.js';
import type { Tokens } from './tokens.js';

export interface InviteLinks {
  manageLink: string;
  joinLink: string;
}

/** The address part of "Name <address>". */
export function mailAddress(from: string): string {
  return /<([^>]+)>/.exec(from)?.[1]?.trim() ?? from.trim();
}

export function mailDisplayName(from: string): string {
  const match = /^\s*"?([^"<]*?)"?\s*</.exec(from);
  return match?.[1]?.trim() || 'Convene';
}

export function linksFor(registration: Pick<RegistrationRow, 'id' | 'tokenVersion'>, tokens: Tokens, publicBaseUrl: string): InviteLinks {
  return {
    manageLink: `${publicBaseUrl}/m/${tokens.derive('manage', registration.id, registration.tokenVersion)}`,
    joinLink: `${publicBaseUrl}/j/${tokens.derive('join', registration.id, registration.tokenVersion)}`,
  };
}

/**
 * How many earlier registrations this person had for the session. Each cancelled registration
 * used two SEQUENCE numbers (its REQUEST and its CANCEL), so a renewed registration starts above them.
 */
export async function earlierRegistrations(
  executor: Executor,
  registration: Pick<RegistrationRow, 'id' | 'sessionId' | 'attendeeId' | 'registeredAt'>,
): Promise<number> {
  const [row] = await executor
    .select({ count: sql<number>`count(*)::int` })
    .from(registrations)
    .where(
      and(
        eq(registrations.sessionId, registration.sessionId),
        eq(registrations.attendeeId, registration.attendeeId),
        or(
          lt(registrations.registeredAt, registration.registeredAt),
          and(eq(registrations.registeredAt, registration.registeredAt), lt(registrations.id, registration.id)),
        ),
      ),
    );
  return row?.count ?? 0;
}

/**
 * The SEQUENCE of an invite: the session's sequence (raised by every change and by its
 * cancellation), plus two for each earlier registration of the same person, plus one for the
 * CANCEL of this registration. It only ever grows for a (session, attendee) pair.
 */
export function inviteSequence(sessionSequence: number, earlier: number, registrationCancelled: boolean): number {
  return sessionSequence + 2 * earlier + (registrationCancelled ? 1 : 0);
}

export interface InviteContext {
  session: SessionRow;
  registration: Pick<RegistrationRow, 'attendeeId' | 'name'>;
  email: string;
  method: 'REQUEST' | 'CANCEL';
  /** A CANCEL because this registration (not the session) was cancelled. */
  registrationCancelled: boolean;
  earlier: number;
  links: InviteLinks;
  mailFrom: string;
  uidDomain: string;
  stamp: Date;
}

export function inviteFor(context: InviteContext): string {
  const { session, registration } = context;
  return renderInvite({
    method: context.method,
    session,
    attendeeId: registration.attendeeId,
    attendee: { name: registration.name, email: context.email },
    sequence: inviteSequence(session.sequence, context.earlier, context.registrationCancelled),
    organizer: { name: session.contactName, email: mailAddress(context.mailFrom) },
    joinLink: context.method === 'REQUEST' ? context.links.joinLink : null,
    manageLink: context.links.manageLink,
    stamp: context.stamp,
    uidDomain: context.uidDomain,
  });
}

export interface InviteServiceDeps {
  db: Database;
  clock: Clock;
  tokens: Tokens;
  publicBaseUrl: string;
  mailFrom: string;
}

/** The registrant's current invite, as the download behind the manage page. */
export function createInviteService({ db, clock, tokens, publicBaseUrl, mailFrom }: InviteServiceDeps) {
  const uidDomain = new URL(publicBaseUrl).hostname;

  async function forManageToken(token: string): Promise<string> {
    const hash = tokens.lookupHash(token);
    const [found] = hash
      ? await db
          .select({ registration: registrations, session: sessions, email: attendees.email })
          .from(registrations)
          .innerJoin(sessions, eq(sessions.id, registrations.sessionId))
          .innerJoin(attendees, eq(attendees.id, registrations.attendeeId))
          .where(eq(registrations.manageTokenHash, hash))
      : [];
    if (!found) throw new NotFoundError('This link is not valid');
    const { registration, session, email } = found;
    if (registration.status === 'waitlisted') throw new ConflictError('You are on the waitlist: the invite comes when a seat is yours');
    const registrationCancelled = registration.status === 'cancelled' && session.status !== 'cancelled';
    const method = registration.status === 'confirmed' && session.status !== 'cancelled' ? 'REQUEST' : 'CANCEL';
    return inviteFor({
      session,
      registration,
      email,
      method,
      registrationCancelled,
      earlier: await earlierRegistrations(db, registration),
      links: linksFor(registration, tokens, publicBaseUrl),
      mailFrom,
      uidDomain,
      stamp: clock.now(),
    });
  }

  return { forManageToken };
}

export type InviteService = ReturnType<typeof createInviteService>;
