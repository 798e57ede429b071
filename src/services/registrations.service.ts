import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import { and, asc, eq, gt, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import {
  attendees,
  registrations,
  sessions,
  type Answers,
  type Question,
  type RegistrationRow,
  type RegistrationStatus,
  type SessionRow,
} from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, type FieldError } from '../errors.js';
import { cancelRegistration, lockSession, takeSeat, waitlistPosition, type SeatResult } from './capacity.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import { CONSENT } from './consent.js';
import { emailDomain, normalizeEmail } from './email-address.js';
import { decodeKeysetCursor, encodeKeysetCursor } from './keyset-cursor.js';
import { effectiveStatus } from './sessions.service.js';
import type { OutboxRelay } from './outbox.js';
import type { Tokens } from './tokens.js';

export interface RegistrationInput {
  name: string;
  email: string;
  organization?: string | null;
  jobTitle?: string | null;
  answers?: Record<string, string | boolean>;
  consent?: boolean;
  accessCode?: string;
}

export interface OrganizerRegistrationInput extends RegistrationInput {
  force?: boolean;
}

/**
 * What a public registration answers: only the session. Whether the address was new, confirmed
 * or waiting goes by e-mail, so the answer cannot tell a stranger who is registered.
 */
export interface RegistrationReceipt {
  session: SessionRow;
}

export interface RegisterOptions {
  /**
   * Called once the request is valid for a session open for registration, before anything is
   * written: the per-recipient rate limit, so that posts which register nothing (a missing
   * session, no consent, a closed session) never count against a real person.
   */
  admitRecipient?: (email: string) => Promise<void>;
}

export interface RegistrationDetail extends RegistrationRow {
  email: string;
  waitlistPosition: number | null;
}

export interface ListFilter {
  statuses?: RegistrationStatus[];
  attendance?: 'attended' | 'no-show';
  q?: string;
  limit: number;
  cursor?: string;
}

/** Repeat registrations re-send the manage link at most once per window (bounds mail bombing). */
const MANAGE_LINK_RESEND_WINDOW_MS = 10 * 60 * 1000;
const TEXT_ANSWER_MAX = 500;
const TEXTAREA_ANSWER_MAX = 5000;

/** Single-line text as people meant it: control characters (CR, LF, tabs) become spaces. */
export function singleLine(value: string): string {
  return value
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

function multiLine(value: string): string {
  return value
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]+/g, ' ')
    .trim();
}

const TRUE_WORDS = new Set(['true', 'on', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'off', 'no', '0', '']);

/** Checks answers against the session's questions; form posts send checkboxes as text. */
export function validateAnswers(questions: Question[], raw: Record<string, string | boolean>, errors: FieldError[]): Answers {
  const answers: Answers = {};
  const known = new Set(questions.map((question) => question.id));
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) errors.push({ path: `/answers/${key}`, message: 'is not a question of this session' });
  }
  for (const question of questions) {
    const path = `/answers/${question.id}`;
    const value = raw[question.id];
    if (question.type === 'checkbox') {
      let checked: boolean | undefined;
      if (typeof value === 'boolean') checked = value;
      else if (typeof value === 'string' && TRUE_WORDS.has(value.toLowerCase())) checked = true;
      else if (typeof value === 'string' && FALSE_WORDS.has(value.toLowerCase())) checked = false;
      else if (value !== undefined) errors.push({ path, message: 'must be true or false' });
      if (question.required && checked !== true) errors.push({ path, message: 'must be checked' });
      if (checked !== undefined) answers[question.id] = checked;
      continue;
    }
    if (value !== undefined && typeof value !== 'string') {
      errors.push({ path, message: 'must be text' });
      continue;
    }
    const text = value === undefined ? '' : question.type === 'textarea' ? multiLine(value) : singleLine(value);
    if (text === '') {
      if (question.required) errors.push({ path, message: 'is required' });
      continue;
    }
    const max = question.type === 'textarea' ? TEXTAREA_ANSWER_MAX : TEXT_ANSWER_MAX;
    if (text.length > max) errors.push({ path, message: `must be at most ${max} characters` });
    else if (question.type === 'select' && !question.options.includes(text)) {
      errors.push({ path, message: `must be one of: ${question.options.join(', ')}` });
    } else answers[question.id] = text;
  }
  return answers;
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given.trim()).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function encodeCursor(row: { registeredAt: Date; id: string }): string {
  return encodeKeysetCursor({ at: row.registeredAt, id: row.id });
}

function decodeCursor(cursor: string): { registeredAt: Date; id: string } {
  const { at, id } = decodeKeysetCursor(cursor);
  return { registeredAt: at, id };
}

/** The registration's attendee row was deleted under the statement (drizzle wraps the pg error). */
function isAttendeeForeignKeyViolation(error: unknown): boolean {
  const cause = ((error as { cause?: unknown } | null)?.cause ?? error) as { code?: string; constraint?: string } | null;
  return cause?.code === '23503' && cause.constraint === 'registrations_attendee_id_attendees_id_fk';
}

export interface RegistrationsServiceDeps {
  db: Database;
  clock: Clock;
  tokens: Tokens;
  outbox: OutboxRelay;
}

export function createRegistrationsService({ db, clock, tokens, outbox }: RegistrationsServiceDeps) {
  // The hot path of a registration, prepared once per connection.
  const sessionBySlug = db
    .select()
    .from(sessions)
    .where(eq(sessions.slug, sql.placeholder('slug')))
    .prepare('convene-session-by-slug');
  /** Checks the person's details; returns the normalised values or throws 400 with every problem. */
  function checkInput(session: SessionRow, input: RegistrationInput, requireConsent: boolean) {
    const errors: FieldError[] = [];
    const name = singleLine(input.name);
    if (name === '') errors.push({ path: '/name', message: 'is required' });
    const email = normalizeEmail(input.email);
    if (!email) errors.push({ path: '/email', message: 'must be an e-mail address' });
    const organization = input.organization ? singleLine(input.organization) || null : null;
    const jobTitle = input.jobTitle ? singleLine(input.jobTitle) || null : null;
    const answers = validateAnswers(session.questions, input.answers ?? {}, errors);
    if (requireConsent && input.consent !== true) {
      errors.push({ path: '/consent', message: 'must be accepted to register' });
    }
    if (errors.length > 0) throw new BadRequestError('The registration is not valid', errors);
    return { name, email: email!, organization, jobTitle, answers };
  }

  /** The rules of who may register when: 409 for the session's state, 403 for the audience. */
  function checkOpen(session: SessionRow, email: string, accessCode: string | undefined, now: Date): void {
    const status = effectiveStatus(session, now);
    if (status === 'cancelled') throw new ConflictError('This session has been cancelled');
    if (status === 'finished') throw new ConflictError('This session has ended');
    if (session.registrationOpensAt && session.registrationOpensAt.getTime() > now.getTime()) {
      throw new ConflictError(`Registration opens at ${session.registrationOpensAt.toISOString()}`);
    }
    if (session.registrationClosesAt && session.registrationClosesAt.getTime() <= now.getTime()) {
      throw new ConflictError('Registration for this session is closed');
    }
    const audience = session.audience;
    if (audience.kind === 'domains' && !audience.domains.includes(emailDomain(email))) {
      throw new ForbiddenError('This session is open only to addresses of the invited organisations');
    }
    if (audience.kind === 'code' && (!accessCode || !sameSecret(accessCode, audience.code))) {
      throw new ForbiddenError('The access code is not correct');
    }
  }

  /**
   * Takes a seat or a waitlist place with one autocommitted statement (capacity.ts), so the
   * session row is locked only while Postgres runs it, never while a round trip or our event
   * loop is pending. A repeat of someone already registered takes nothing (and, for a public
   * repeat, queues the manage link again in the same statement).
   */
  async function seat(
    session: SessionRow,
    person: ReturnType<typeof checkInput>,
    options: { source: 'public' | 'organizer'; force: boolean; addedBy: string | null; consentVersion: string | null },
    now: Date,
  ): Promise<SeatResult> {
    for (let attempt = 1; ; attempt += 1) {
      const registrationId = randomUUID();
      try {
        return await takeSeat(db, {
          registrationId,
          sessionId: session.id,
          email: person.email,
          name: person.name,
          organization: person.organization,
          jobTitle: person.jobTitle,
          answers: person.answers,
          consentVersion: options.consentVersion,
          source: options.source,
          force: options.force,
          addedBy: options.addedBy,
          manageTokenHash: tokens.hash(tokens.derive('manage', registrationId, 0)),
          joinTokenHash: tokens.hash(tokens.derive('join', registrationId, 0)),
          now,
          manageLinkResend:
            options.source === 'public'
              ? { since: new Date(now.getTime() - MANAGE_LINK_RESEND_WINDOW_MS), window: Math.floor(now.getTime() / MANAGE_LINK_RESEND_WINDOW_MS) }
              : null,
        });
      } catch (error) {
        // The same person at the same moment (the unique index let the other one through), or
        // the attendee row erased under the statement: it failed whole, and the next try sees why.
        const retry = isUniqueViolation(error, 'registrations_one_active_per_attendee') || isAttendeeForeignKeyViolation(error);
        if (attempt >= 3 || !retry) throw error;
      }
    }
  }

  async function freshSession(id: string): Promise<SessionRow> {
    const [row] = await db.select().from(sessions).where(eq(sessions.id, id));
    if (!row) throw new NotFoundError('No such session');
    return row;
  }

  /**
   * Public registration. Every valid request for a session open for registration gets the same
   * receipt, and every refusal the same error, whether the address is new or registered; both do
   * the same database work (one seat statement, see capacity.ts). The outcome goes by e-mail
   * only: the confirmation or waitlist notice to a new person, the manage link again (at most
   * once per window) to someone already registered, also when the session is full.
   */
  async function register(slug: string, input: RegistrationInput, options: RegisterOptions = {}): Promise<RegistrationReceipt> {
    const now = clock.now();
    const [session] = await sessionBySlug.execute({ slug });
    if (!session || session.status === 'draft') throw new NotFoundError('No published session with this address');
    const person = checkInput(session, input, true);
    checkOpen(session, person.email, input.accessCode, now);
    await options.admitRecipient?.(person.email);

    const result = await seat(session, person, { source: 'public', force: false, addedBy: null, consentVersion: CONSENT.version }, now);
    outbox.kick();
    if (result.taken || result.room) return { session };
    const current = await freshSession(session.id);
    if (current.status !== 'published') throw new ConflictError('This session is no longer open for registration');
    throw new ConflictError(current.waitlistEnabled ? 'The session and its waitlist are full' : 'The session is full');
  }

  /** An organizer adds someone by hand; `force` confirms beyond capacity. */
  async function addByOrganizer(
    sessionId: string,
    input: OrganizerRegistrationInput,
    organizerId: string,
    actor?: AuditActor | null,
  ): Promise<RegistrationDetail> {
    const now = clock.now();
    const session = await freshSession(sessionId);
    const status = effectiveStatus(session, now);
    if (status === 'cancelled') throw new ConflictError('This session has been cancelled');
    if (status === 'finished') throw new ConflictError('This session has ended');
    const person = checkInput(session, input, false);
    const force = input.force ?? false;
    const { taken, existing } = await seat(
      session,
      person,
      { source: 'organizer', force, addedBy: organizerId, consentVersion: input.consent === true ? CONSENT.version : null },
      now,
    );
    if (taken) {
      outbox.kick();
      // The seat is one autocommitted statement (see capacity.ts), so the entry follows it.
      const details = { sessionId, status: taken.status, forced: force };
      await recordAudit(db, { at: now, actor, action: 'registration.add', subjectType: 'registration', subjectId: taken.registrationId, details });
      return detail(await getRow(taken.registrationId));
    }
    if (existing) throw new ConflictError('This person is already registered for the session');
    throw new ConflictError('The session is full; add them with "force": true to exceed the capacity');
  }

  async function getRow(id: string): Promise<RegistrationRow> {
    const [row] = await db.select().from(registrations).where(eq(registrations.id, id));
    if (!row) throw new NotFoundError('No such registration');
    return row;
  }

  async function detail(row: RegistrationRow): Promise<RegistrationDetail> {
    const [attendee] = await db.select({ email: attendees.email }).from(attendees).where(eq(attendees.id, row.attendeeId));
    return { ...row, email: attendee?.email ?? '', waitlistPosition: await waitlistPosition(db, row) };
  }

  async function byManageToken(token: string): Promise<RegistrationRow> {
    const hash = tokens.lookupHash(token);
    if (!hash) throw new NotFoundError('This link is not valid');
    const [row] = await db.select().from(registrations).where(eq(registrations.manageTokenHash, hash));
    if (!row) throw new NotFoundError('This link is not valid');
    return row;
  }

  /** The registrant's own view, found by the secret manage token. */
  async function viewByManageToken(token: string): Promise<{ registration: RegistrationDetail; session: SessionRow }> {
    const row = await byManageToken(token);
    return { registration: await detail(row), session: await freshSession(row.sessionId) };
  }

  /**
   * Cancels one registration, promoting the first waiting person in the same transaction.
   * Cancelling again changes nothing.
   */
  /** `actor`: an organizer cancelling for the person, recorded in the audit log with the change. */
  async function cancel(registrationId: string, actor?: AuditActor): Promise<RegistrationRow> {
    const now = clock.now();
    const row = await getRow(registrationId);
    if (row.status !== 'cancelled') {
      await db.transaction(async (tx) => {
        await lockSession(tx, row.sessionId);
        const outcome = await cancelRegistration(tx, registrationId, now);
        if (actor && outcome.previousStatus !== 'cancelled') {
          const details = { sessionId: row.sessionId, previousStatus: outcome.previousStatus, promoted: outcome.promoted.length };
          await recordAudit(tx, { at: now, actor, action: 'registration.cancel', subjectType: 'registration', subjectId: registrationId, details });
        }
      });
      outbox.kick();
    }
    return getRow(registrationId);
  }

  async function cancelByManageToken(token: string): Promise<{ registration: RegistrationDetail; session: SessionRow }> {
    const row = await byManageToken(token);
    await cancel(row.id);
    return viewByManageToken(token);
  }

  async function cancelForSession(sessionId: string, registrationId: string, actor?: AuditActor): Promise<RegistrationDetail> {
    const row = await getRow(registrationId);
    if (row.sessionId !== sessionId) throw new NotFoundError('No such registration in this session');
    return detail(await cancel(registrationId, actor));
  }

  async function checkIn(sessionId: string, registrationId: string, actor?: AuditActor | null): Promise<RegistrationDetail> {
    const now = clock.now();
    const row = await getRow(registrationId);
    if (row.sessionId !== sessionId) throw new NotFoundError('No such registration in this session');
    if (row.status !== 'confirmed') throw new ConflictError(`A ${row.status} registration cannot be checked in`);
    const [updated] = await db
      .update(registrations)
      .set({ checkedInAt: sql`coalesce(${registrations.checkedInAt}, ${now}::timestamptz)`, updatedAt: now })
      .where(and(eq(registrations.id, registrationId), eq(registrations.status, 'confirmed')))
      .returning();
    if (!updated) throw new ConflictError('The registration changed meanwhile; try again');
    await recordAudit(db, { at: now, actor, action: 'registration.check_in', subjectType: 'registration', subjectId: registrationId, details: { sessionId } });
    return detail(updated);
  }

  async function list(sessionId: string, filter: ListFilter): Promise<{ items: RegistrationDetail[]; nextCursor: string | null }> {
    await freshSession(sessionId);
    const conditions: SQL[] = [eq(registrations.sessionId, sessionId)];
    if (filter.statuses && filter.statuses.length > 0) conditions.push(inArray(registrations.status, filter.statuses));
    if (filter.attendance === 'attended') {
      conditions.push(sql`(${registrations.checkedInAt} IS NOT NULL OR ${registrations.firstJoinedAt} IS NOT NULL)`);
    } else if (filter.attendance === 'no-show') {
      conditions.push(
        eq(registrations.status, 'confirmed'),
        sql`${registrations.checkedInAt} IS NULL AND ${registrations.firstJoinedAt} IS NULL`,
      );
    }
    if (filter.q) {
      const pattern = `%${filter.q.trim().toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      conditions.push(or(sql`lower(${registrations.name}) LIKE ${pattern}`, sql`${attendees.email} LIKE ${pattern}`)!);
    }
    if (filter.cursor) {
      const { registeredAt, id } = decodeCursor(filter.cursor);
      conditions.push(
        or(gt(registrations.registeredAt, registeredAt), and(eq(registrations.registeredAt, registeredAt), gt(registrations.id, id)))!,
      );
    }
    const rows = await db
      .select({
        registration: registrations,
        email: attendees.email,
        waitlistPosition: sql<number | null>`CASE WHEN ${registrations.status} = 'waitlisted' THEN (
          SELECT count(*)::int FROM registrations w
          WHERE w.session_id = ${registrations.sessionId} AND w.status = 'waitlisted' AND w.waitlist_ticket <= ${registrations.waitlistTicket}
        ) END`,
      })
      .from(registrations)
      .innerJoin(attendees, eq(attendees.id, registrations.attendeeId))
      .where(and(...conditions))
      .orderBy(asc(registrations.registeredAt), asc(registrations.id))
      .limit(filter.limit + 1);
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => ({ ...row.registration, email: row.email, waitlistPosition: row.waitlistPosition })),
      nextCursor: rows.length > filter.limit && last ? encodeCursor(last.registration) : null,
    };
  }

  return {
    register,
    addByOrganizer,
    viewByManageToken,
    cancelByManageToken,
    cancelForSession,
    checkIn,
    list,
    get: async (id: string) => detail(await getRow(id)),
  };
}

export type RegistrationsService = ReturnType<typeof createRegistrationsService>;
