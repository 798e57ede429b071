import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import { attendees, registrations, sessions, type RegistrationRow, type SessionRow } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { renderInvite } from './calendar/index.js';
import { registrationLinks, type RegistrationLinks } from './links.js';
import { mailAddress } from './notifications/mailer.js';
import type { SettingsService } from './settings.service.js';
import type { Tokens } from './tokens.js';

/**
 * How many earlier registrations this person had for the session, as SQL about the registration
 * row named `row` in the enclosing statement, compared in SQL's own precision (a Date would drop
 * the microseconds of registered_at). Each cancelled registration used two SEQUENCE numbers (its
 * REQUEST and its CANCEL), so a renewed registration starts above them.
 */
export function earlierRegistrationsOf(row: string): SQL<number> {
  const registration = sql.identifier(row);
  return sql<number>`(SELECT count(*)::int FROM ${registrations} earlier
    WHERE earlier.session_id = ${registration}.session_id AND earlier.attendee_id = ${registration}.attendee_id
      AND (earlier.registered_at, earlier.id) < (${registration}.registered_at, ${registration}.id))`;
}

/** earlierRegistrationsOf for one registration. */
export async function earlierRegistrations(executor: Executor, registrationId: string): Promise<number> {
  const { rows } = await executor.execute<{ earlier: number }>(
    sql`SELECT ${earlierRegistrationsOf('r')} AS earlier FROM ${registrations} r WHERE r.id = ${registrationId}`,
  );
  return rows[0]?.earlier ?? 0;
}

/**
 * The SEQUENCE of an invite: the session's sequence (raised by every change and by its
 * cancellation), plus two for each earlier registration of the same person, plus one for the
 * CANCEL of this registration. It only ever grows for a (session, attendee) pair.
 */
export function inviteSequence(sessionSequence: number, earlier: number, registrationCancelled: boolean): number {
  return sessionSequence + 2 * earlier + (registrationCancelled ? 1 : 0);
}

/** Which invite an e-mail or a download carries. */
export interface InviteIntent {
  method: 'REQUEST' | 'CANCEL';
  /** A CANCEL because this registration (not the session) was cancelled: its SEQUENCE is one above the REQUEST's. */
  registrationCancelled: boolean;
}

/**
 * The invite that describes a registration now, as the download behind the manage page: the
 * event while the seat is held, its cancellation once the registration or the session is
 * cancelled; null while no seat was ever held (waitlisted, pending, offered, declined, expired:
 * no invite was ever sent). An e-mail carries its kind's invite
 * instead (notifications/kinds.ts): the change the row was written for.
 */
export function currentInvite(registrationStatus: RegistrationRow['status'], sessionStatus: SessionRow['status']): InviteIntent | null {
  if (registrationStatus !== 'confirmed' && registrationStatus !== 'cancelled') return null;
  if (registrationStatus === 'confirmed' && sessionStatus !== 'cancelled') return { method: 'REQUEST', registrationCancelled: false };
  return { method: 'CANCEL', registrationCancelled: registrationStatus === 'cancelled' && sessionStatus !== 'cancelled' };
}

export interface InviteContext {
  session: SessionRow;
  registration: Pick<RegistrationRow, 'attendeeId' | 'name'>;
  email: string;
  intent: InviteIntent;
  earlier: number;
  links: RegistrationLinks;
  mailFrom: string;
  /** The organisation's name (Branding.name): the ORGANIZER's CN, beside MAIL_FROM's address. */
  organizerName: string;
  uidDomain: string;
  stamp: Date;
}

export function inviteFor(context: InviteContext): string {
  const { session, registration, intent } = context;
  return renderInvite({
    method: intent.method,
    session,
    attendeeId: registration.attendeeId,
    attendee: { name: registration.name, email: context.email },
    sequence: inviteSequence(session.sequence, context.earlier, intent.registrationCancelled),
    organizer: { name: context.organizerName, email: mailAddress(context.mailFrom) },
    joinLink: intent.method === 'REQUEST' ? context.links.joinLink : null,
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
  settings: Pick<SettingsService, 'branding'>;
}

type RegistrationWithInvite = RegistrationRow & { status: 'confirmed' | 'cancelled' };

/** The registrant's current invite, as the download behind the manage page. */
export function createInviteService({ db, clock, tokens, publicBaseUrl, mailFrom, settings }: InviteServiceDeps) {
  const uidDomain = new URL(publicBaseUrl).hostname;

  /**
   * The newest registration of the same person for the same session made after `registration`
   * that has an invite (not on the waitlist), if any. Every registration of the pair shares one
   * UID and its SEQUENCE grows with each, so an older registration's invite (the CANCEL of a
   * registration cancelled before this person registered again) would be stale.
   */
  async function laterWithInvite(registration: RegistrationRow): Promise<RegistrationWithInvite | null> {
    // Every registration of the pair, oldest first: a handful at most, compared in SQL's own
    // precision (a Date would drop the microseconds of registered_at).
    const all = await db
      .select()
      .from(registrations)
      .where(and(eq(registrations.sessionId, registration.sessionId), eq(registrations.attendeeId, registration.attendeeId)))
      .orderBy(asc(registrations.registeredAt), asc(registrations.id));
    const later = all.slice(all.findIndex((row) => row.id === registration.id) + 1);
    const withInvite = later.filter((row): row is RegistrationWithInvite => row.status === 'confirmed' || row.status === 'cancelled');
    return withInvite[withInvite.length - 1] ?? null;
  }

  /**
   * The invite of the registration behind a manage token, in the state calendars should hold now.
   *
   * When the person registered again after this registration (cancelled, then a new row), the
   * calendar event (one UID per session and person) is the newer registration's: its REQUEST
   * (or CANCEL) with its higher SEQUENCE, with its join link, which this token's holder can
   * already reach through the personal feed (any of the person's manage tokens shows and replaces
   * it). The manage link inside stays the one in hand: an old token never learns the newer
   * registration's manage token, which could cancel it.
   */
  async function forManageToken(token: string): Promise<{ method: InviteIntent['method']; ics: string }> {
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
    const { session, email } = found;
    const registration = (await laterWithInvite(found.registration)) ?? found.registration;
    const intent = currentInvite(registration.status, session.status);
    if (!intent) {
      throw new ConflictError(
        registration.status === 'waitlisted' ? 'You are on the waitlist: the invite comes when a seat is yours' : 'No seat is yours yet: the invite comes with a seat',
      );
    }
    const live = registrationLinks(registration, tokens, publicBaseUrl);
    const presented = registrationLinks(found.registration, tokens, publicBaseUrl);
    const ics = inviteFor({
      session,
      registration,
      email,
      intent,
      earlier: await earlierRegistrations(db, registration.id),
      links: { joinLink: live.joinLink, manageLink: presented.manageLink },
      mailFrom,
      organizerName: (await settings.branding()).name,
      uidDomain,
      stamp: clock.now(),
    });
    return { method: intent.method, ics };
  }

  return { forManageToken };
}

export type InviteService = ReturnType<typeof createInviteService>;
