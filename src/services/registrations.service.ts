import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import { and, asc, eq, gt, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
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

/** What the public answer may say: the same for a new and a repeat registration. */
export interface RegistrationOutcome {
  session: SessionRow;
  status: 'confirmed' | 'waitlisted';
  waitlistPosition: number | null;
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
  return Buffer.from(JSON.stringify([row.registeredAt.toISOString(), row.id])).toString('base64url');
}

function decodeCursor(cursor: string): { registeredAt: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const registeredAt = new Date(at);
    if (Number.isNaN(registeredAt.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) throw new Error('bad cursor');
    return { registeredAt, id };
  } catch {
    throw new BadRequestError('The cursor is not valid', [{ path: '/query/cursor', message: 'is not a cursor from a previous page' }]);
  }
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
  const insertAttendee = db
    .insert(attendees)
    .values({ email: sql.placeholder('email') })
    .onConflictDoNothing()
    .returning({ id: attendees.id })
    .prepare('convene-insert-attendee');
  const attendeeByEmail = db
    .select({ id: attendees.id })
    .from(attendees)
    .where(eq(attendees.email, sql.placeholder('email')))
    .prepare('convene-attendee-by-email');

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

  /** The attendee's id, and whether this call created the row (so a refused registration can remove it). */
  async function findOrCreateAttendee(email: string): Promise<{ id: string; created: boolean }> {
    // DO NOTHING rather than DO UPDATE: a returning person costs a read, not a new row version.
    // A concurrent refused attempt may remove the row between the insert and the read: try again.
    for (let attempt = 1; ; attempt += 1) {
      const [inserted] = await insertAttendee.execute({ email });
      if (inserted) return { id: inserted.id, created: true };
      const [existing] = await attendeeByEmail.execute({ email });
      if (existing) return { id: existing.id, created: false };
      if (attempt >= 3) throw new Error('the attendee row keeps vanishing');
    }
  }

  /**
   * Removes an attendee row that no registration uses. The foreign key cascades, so a delete
   * whose snapshot misses a registration committed meanwhile would remove that registration
   * too. Hence the row is locked first (waiting for any insert that references it to commit,
   * and making later ones wait and then fail, see `seat`), and only then looked at again.
   */
  async function forgetUnusedAttendee(id: string): Promise<void> {
    await db
      .transaction(async (tx) => {
        const [locked] = await tx.select({ id: attendees.id }).from(attendees).where(eq(attendees.id, id)).for('update');
        if (!locked) return;
        await tx
          .delete(attendees)
          .where(and(eq(attendees.id, id), sql`NOT EXISTS (SELECT 1 FROM registrations r WHERE r.attendee_id = ${id})`));
      })
      .catch(() => undefined);
  }

  async function activeRegistration(executor: Executor, sessionId: string, attendeeId: string): Promise<RegistrationRow | null> {
    const [row] = await executor
      .select()
      .from(registrations)
      .where(and(eq(registrations.sessionId, sessionId), eq(registrations.attendeeId, attendeeId), sql`${registrations.status} <> 'cancelled'`));
    return row ?? null;
  }

  /**
   * A repeat registration: nothing changes, the manage link goes again to the stored address,
   * unless it went less than a window ago. The window slides (a fixed bucket would let two
   * through a minute apart across a bucket boundary); the bucketed dedupe key still stops two
   * concurrent repeats from both writing a row.
   */
  async function resendManageLink(row: RegistrationRow, now: Date): Promise<void> {
    const window = Math.floor(now.getTime() / MANAGE_LINK_RESEND_WINDOW_MS);
    const since = new Date(now.getTime() - MANAGE_LINK_RESEND_WINDOW_MS);
    await db.execute(sql`
      INSERT INTO notifications (kind, session_id, registration_id, dedupe_key, created_at, updated_at)
      SELECT 'manage_link', ${row.sessionId}::uuid, ${row.id}::uuid, ${`manage-link:${row.id}:${window}`}::text,
        ${now}::timestamptz, ${now}::timestamptz
      WHERE NOT EXISTS (
        SELECT 1 FROM notifications n
        WHERE n.registration_id = ${row.id}::uuid AND n.kind = 'manage_link' AND n.created_at > ${since}::timestamptz
      )
      ON CONFLICT (dedupe_key) DO NOTHING`);
    outbox.kick();
  }

  /**
   * Takes a seat or a waitlist place with one autocommitted statement, so the session row is
   * locked only while Postgres runs it, never while a round trip or our event loop is pending.
   * Returns the new registration, or the person's existing active one (a repeat), or neither
   * (no room), in which case an attendee row made for this attempt is removed again.
   */
  async function seat(
    session: SessionRow,
    person: ReturnType<typeof checkInput>,
    options: { source: 'public' | 'organizer'; force: boolean; addedBy: string | null; consentVersion: string | null },
    now: Date,
  ): Promise<{ result: SeatResult | null; existing: RegistrationRow | null }> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await seatOnce(session, person, options, now);
      } catch (error) {
        // A concurrent refused attempt for the same new address (another session, say) removed
        // the attendee row this attempt found: the seat statement failed whole, so try again.
        if (attempt >= 3 || !isAttendeeForeignKeyViolation(error)) throw error;
      }
    }
  }

  async function seatOnce(
    session: SessionRow,
    person: ReturnType<typeof checkInput>,
    options: { source: 'public' | 'organizer'; force: boolean; addedBy: string | null; consentVersion: string | null },
    now: Date,
  ): Promise<{ result: SeatResult | null; existing: RegistrationRow | null }> {
    const registrationId = randomUUID();
    const attendee = await findOrCreateAttendee(person.email);
    let result: SeatResult | null = null;
    try {
      result = await takeSeat(db, {
        registrationId,
        sessionId: session.id,
        attendeeId: attendee.id,
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
      });
    } catch (error) {
      // The same person at the same moment: the unique index let the other one through.
      if (!isUniqueViolation(error, 'registrations_one_active_per_attendee')) throw error;
    }
    if (result) {
      outbox.kick();
      return { result, existing: null };
    }
    const existing = await activeRegistration(db, session.id, attendee.id);
    if (!existing && attendee.created) await forgetUnusedAttendee(attendee.id);
    return { result: null, existing };
  }

  async function freshSession(id: string): Promise<SessionRow> {
    const [row] = await db.select().from(sessions).where(eq(sessions.id, id));
    if (!row) throw new NotFoundError('No such session');
    return row;
  }

  /**
   * Public registration. A new and a repeat registration give the same answer, so the answer
   * never tells a stranger whether an address was registered; the manage link goes by e-mail only.
   */
  async function register(slug: string, input: RegistrationInput): Promise<RegistrationOutcome> {
    const now = clock.now();
    const [session] = await sessionBySlug.execute({ slug });
    if (!session || session.status === 'draft') throw new NotFoundError('No published session with this address');
    const person = checkInput(session, input, true);
    checkOpen(session, person.email, input.accessCode, now);

    const { result, existing } = await seat(
      session,
      person,
      { source: 'public', force: false, addedBy: null, consentVersion: CONSENT.version },
      now,
    );
    if (result) {
      const counted = { ...session, confirmedCount: result.confirmedCount, waitlistedCount: result.waitlistedCount };
      return { session: counted, status: result.status, waitlistPosition: result.waitlistPosition };
    }
    if (existing) {
      await resendManageLink(existing, now);
      return {
        session: await freshSession(session.id),
        status: existing.status as 'confirmed' | 'waitlisted',
        waitlistPosition: await waitlistPosition(db, existing),
      };
    }
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
    const { result, existing } = await seat(
      session,
      person,
      { source: 'organizer', force, addedBy: organizerId, consentVersion: input.consent === true ? CONSENT.version : null },
      now,
    );
    if (result) {
      // The seat is one autocommitted statement (see capacity.ts), so the entry follows it.
      const details = { sessionId, status: result.status, forced: force };
      await recordAudit(db, { at: now, actor, action: 'registration.add', subjectType: 'registration', subjectId: result.registrationId, details });
      return detail(await getRow(result.registrationId));
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
