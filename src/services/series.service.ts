import { and, asc, desc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { anyUuid, type Database, type Executor } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { attendees, registrations, series, seriesSessions, sessions, type RegistrationStatus, type SeriesRow, type SessionRow } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, type FieldError } from '../errors.js';
import { isUuid } from '../ids.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import { isActiveStatus, placeOnWaitlist } from './capacity.js';
import { normalizeEmail } from './email-address.js';
import { seesEverySession, visibleTo, type Viewer } from './hosts.js';
import { kinds } from './notifications/kinds.js';
import { OUTBOX_COLUMNS, outboxValues } from './notifications/outbox.js';
import type { OutboxRelay } from './notifications/relay.js';
import type { RegisterOptions, RegistrationInput, RegistrationsService } from './registrations/index.js';
import { checkPerson } from './registrations/person.js';
import { SLUG_MAX_LENGTH, slugify } from './session-values.js';

/**
 * Series (api.md "Member organisations and series"): a titled set of sessions, in the order
 * given, with one public page, one form and one feed.
 *
 * Who may see or change a series: an admin, any; an organizer, a series whose every session it
 * hosts (the hosts rule of services/hosts.ts, applied to each session), and an empty one only if
 * it created it. So a series never shows an organizer a session it does not host, and co-hosts
 * of all the sessions share the series as they share the sessions. Only sessions the caller
 * hosts may be put into a series: any other id, existing or not, gets the same 400.
 *
 * One registration for the series registers the person for each of its published sessions that
 * have not ended, through the public registration of a single session (registrations/public.ts):
 * each seats, waitlists or refuses on its own, with its own e-mail and invite. The series form
 * asks only the person's fixed fields (name, e-mail, organisation, job title, consent): a session
 * that asks a required question of its own, or an access code, is left out of the series form
 * and its page says so (see `joinsThroughSeries`); optional questions stay unanswered.
 */

export const SERIES_TITLE_MAX_LENGTH = 200;
export const SERIES_DESCRIPTION_MAX_LENGTH = 20_000;
/** A series is a cohort's programme, not a catalogue: a few sessions, at most this many. */
export const SERIES_SESSIONS_MAX = 50;
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * A repeat of the series form within this window sends no second summary (its sessions' own
 * rules re-send each manage link, at most once per window, see registrations/seat.ts).
 */
const SUMMARY_WINDOW_MS = 10 * 60 * 1000;

export interface SeriesInput {
  title: string;
  slug?: string;
  description?: string | null;
  /** The sessions in their order in the series. */
  sessionIds: string[];
}

export type SeriesChanges = Partial<SeriesInput>;

/** A series with its sessions in their order (every status: organizers see drafts and past ones too). */
export interface Series extends SeriesRow {
  sessions: SessionRow[];
}

/** What anyone may see of a series: the series and its sessions that take part now. */
export interface PublicSeries {
  series: SeriesRow;
  /** Published sessions that have not ended, in the series' order. */
  sessions: SessionRow[];
}

/** What a series registration answers: the series alone (the outcome of each session goes by e-mail). */
export interface SeriesReceipt {
  series: SeriesRow;
}

/** A person's registration in a session of the series, as the summary e-mail lists it. */
export interface SeriesRegistration {
  session: SessionRow;
  registration: { id: string; status: RegistrationStatus; tokenVersion: number; waitlistPosition: number | null };
}

/**
 * Whether the series form registers for this session: not when it asks a required question of
 * its own (the form has only the fixed fields) nor when it wants an access code. Such a session
 * is registered for on its own page.
 */
export function joinsThroughSeries(session: Pick<SessionRow, 'questions' | 'audience'>): boolean {
  return session.audience.kind !== 'code' && !session.questions.some((question) => question.required);
}

/**
 * A condition on `series`: the series this viewer may see and change (see the file comment).
 * Undefined for an admin, so it drops out of `and(...)`.
 */
export function seriesVisibleTo(viewer: Viewer): SQL | undefined {
  if (seesEverySession(viewer)) return undefined;
  const foreignSession = sql`EXISTS (SELECT 1 FROM ${seriesSessions} JOIN ${sessions} ON ${sessions.id} = ${seriesSessions.sessionId}
    WHERE ${seriesSessions.seriesId} = ${series.id} AND NOT (${visibleTo(viewer)}))`;
  const anySession = sql`EXISTS (SELECT 1 FROM ${seriesSessions} WHERE ${seriesSessions.seriesId} = ${series.id})`;
  return sql`(NOT ${foreignSession} AND (${anySession} OR ${series.createdBy} = ${viewer.id}))`;
}

/**
 * The person's active registrations in the sessions of the series that have not ended, in the
 * series' order, as they are now (the summary e-mail reads them at send time); null when the
 * series no longer exists.
 */
export async function seriesRegistrationsOf(
  executor: Executor,
  seriesId: string,
  attendeeId: string,
  now: Date,
): Promise<{ title: string; registrations: SeriesRegistration[] } | null> {
  if (!isUuid(seriesId)) return null;
  const [found] = await executor.select({ title: series.title }).from(series).where(eq(series.id, seriesId));
  if (!found) return null;
  const rows = await executor
    .select({
      session: sessions,
      id: registrations.id,
      status: registrations.status,
      tokenVersion: registrations.tokenVersion,
      waitlistPosition: sql<number | null>`CASE WHEN ${registrations.status} = 'waitlisted'
        THEN ${placeOnWaitlist(sql`${registrations.sessionId}`, sql`${registrations.waitlistTicket}`)} END`,
    })
    .from(seriesSessions)
    .innerJoin(sessions, eq(sessions.id, seriesSessions.sessionId))
    .innerJoin(registrations, and(eq(registrations.sessionId, sessions.id), eq(registrations.attendeeId, attendeeId)))
    .where(and(eq(seriesSessions.seriesId, seriesId), gt(sessions.endsAt, now), sql`${registrations.status} IN ('confirmed', 'waitlisted', 'pending', 'offered')`))
    .orderBy(asc(seriesSessions.position), asc(sessions.startsAt));
  return {
    title: found.title,
    registrations: rows.map((row) => ({
      session: row.session,
      registration: { id: row.id, status: row.status, tokenVersion: row.tokenVersion, waitlistPosition: row.waitlistPosition === null ? null : Number(row.waitlistPosition) },
    })),
  };
}

export interface SeriesServiceDeps {
  db: Database;
  clock: Clock;
  outbox: OutboxRelay;
  /** The public registration of one session: the series form goes through it for each session. */
  registrations: Pick<RegistrationsService, 'register'>;
}

interface CheckedValues {
  title?: string;
  slug?: string;
  description?: string | null;
  sessionIds?: string[];
}

/** Checks the fields given (every problem at once, 400) and returns them as they are stored. */
function checkValues(input: SeriesChanges, errors: FieldError[]): CheckedValues {
  const values: CheckedValues = {};
  if (input.title !== undefined) {
    const title = input.title.normalize('NFC').replace(/\s+/g, ' ').trim();
    if (title === '') errors.push({ path: '/title', message: 'is required' });
    else if (title.length > SERIES_TITLE_MAX_LENGTH) errors.push({ path: '/title', message: `must be at most ${SERIES_TITLE_MAX_LENGTH} characters` });
    values.title = title;
  }
  if (input.slug !== undefined) {
    if (input.slug.length > SLUG_MAX_LENGTH || !SLUG.test(input.slug)) {
      errors.push({ path: '/slug', message: `must be lower-case letters and digits separated by single hyphens, at most ${SLUG_MAX_LENGTH} characters` });
    }
    values.slug = input.slug;
  }
  if (input.description !== undefined) {
    const description = input.description === null ? '' : input.description.normalize('NFC').replace(/\r\n?/g, '\n').trim();
    if (description.length > SERIES_DESCRIPTION_MAX_LENGTH) {
      errors.push({ path: '/description', message: `must be at most ${SERIES_DESCRIPTION_MAX_LENGTH} characters` });
    }
    values.description = description === '' ? null : description;
  }
  if (input.sessionIds !== undefined) {
    const ids = input.sessionIds.map((id) => id.toLowerCase());
    if (ids.length === 0) errors.push({ path: '/sessionIds', message: 'must name at least one session' });
    if (ids.length > SERIES_SESSIONS_MAX) errors.push({ path: '/sessionIds', message: `may name at most ${SERIES_SESSIONS_MAX} sessions` });
    ids.forEach((id, index) => {
      if (ids.indexOf(id) !== index) errors.push({ path: `/sessionIds/${index}`, message: 'is listed twice' });
    });
    values.sessionIds = ids;
  }
  return values;
}

/** The same words for a session of another organizer and for no session at all. */
const NOT_HOSTED = 'is not a session you host';

export function createSeriesService({ db, clock, outbox, registrations: sessionRegistrations }: SeriesServiceDeps) {
  /** The sessions of these series, in each series' order. */
  async function withSessions(rows: SeriesRow[], executor: Executor = db): Promise<Series[]> {
    if (rows.length === 0) return [];
    const members = await executor
      .select({ seriesId: seriesSessions.seriesId, session: sessions })
      .from(seriesSessions)
      .innerJoin(sessions, eq(sessions.id, seriesSessions.sessionId))
      .where(
        anyUuid(
          seriesSessions.seriesId,
          rows.map((row) => row.id),
        ),
      )
      .orderBy(asc(seriesSessions.position), asc(sessions.startsAt));
    return rows.map((row) => ({ ...row, sessions: members.filter((member) => member.seriesId === row.id).map((member) => member.session) }));
  }

  /** The series, if the viewer may see it; 404 otherwise, the same as for no series at all. */
  async function visibleRow(executor: Executor, id: string, viewer: Viewer, lock = false): Promise<SeriesRow> {
    if (!isUuid(id)) throw new NotFoundError('No series with this id');
    const query = executor.select().from(series).where(and(eq(series.id, id), seriesVisibleTo(viewer)));
    const [row] = lock ? await query.for('update') : await query;
    if (!row) throw new NotFoundError('No series with this id');
    return row;
  }

  /** 400 at `/sessionIds/<i>` for every id that is not a session the viewer hosts (an admin: not a session). */
  async function checkHosted(executor: Executor, ids: string[], viewer: Viewer): Promise<void> {
    const wellFormed = ids.filter(isUuid);
    const found =
      wellFormed.length === 0
        ? []
        : await executor
            .select({ id: sessions.id })
            .from(sessions)
            .where(and(anyUuid(sessions.id, wellFormed), visibleTo(viewer)));
    const hosted = new Set(found.map((row) => row.id));
    const errors: FieldError[] = [];
    ids.forEach((id, index) => {
      if (!hosted.has(id)) errors.push({ path: `/sessionIds/${index}`, message: NOT_HOSTED });
    });
    if (errors.length > 0) throw new BadRequestError('A series may hold only sessions you host', errors);
  }

  async function writeSessions(tx: Executor, seriesId: string, ids: string[]): Promise<void> {
    await tx.delete(seriesSessions).where(eq(seriesSessions.seriesId, seriesId));
    if (ids.length > 0) await tx.insert(seriesSessions).values(ids.map((sessionId, position) => ({ seriesId, sessionId, position })));
  }

  const slugTaken = (slug: string) => new ConflictError(`The slug "${slug}" is already used by another series`);

  async function create(input: SeriesInput, actor: AuditActor & Viewer): Promise<Series> {
    const errors: FieldError[] = [];
    const values = checkValues(input, errors);
    if (errors.length > 0) throw new BadRequestError('The series is not valid', errors);
    const now = clock.now();
    const base = values.slug ?? slugify(values.title!);
    for (let attempt = 0; ; attempt += 1) {
      const slug = attempt === 0 ? base : `${base.slice(0, SLUG_MAX_LENGTH - 7)}-${randomSuffix()}`;
      try {
        return await db.transaction(async (tx) => {
          await checkHosted(tx, values.sessionIds!, actor);
          const [row] = await tx
            .insert(series)
            .values({ slug, title: values.title!, description: values.description ?? null, createdBy: actor.id, createdAt: now, updatedAt: now })
            .returning();
          await writeSessions(tx, row!.id, values.sessionIds!);
          const details = { slug, sessionIds: values.sessionIds };
          await recordAudit(tx, { at: now, actor, action: 'series.create', subjectType: 'series', subjectId: row!.id, details });
          return (await withSessions([row!], tx))[0]!;
        });
      } catch (error) {
        if (!isUniqueViolation(error, 'series_slug_unique')) throw error;
        if (values.slug !== undefined || attempt >= 5) throw slugTaken(slug);
      }
    }
  }

  /** The series the viewer may see (an admin: all), latest first. */
  async function list(viewer: Viewer): Promise<Series[]> {
    const rows = await db.select().from(series).where(seriesVisibleTo(viewer)).orderBy(desc(series.createdAt), asc(series.id));
    return withSessions(rows);
  }

  async function get(id: string, viewer: Viewer): Promise<Series> {
    return (await withSessions([await visibleRow(db, id, viewer)]))[0]!;
  }

  /** Changes the title, slug, description or the sessions (the whole list, in its new order). */
  async function update(id: string, changes: SeriesChanges, actor: AuditActor & Viewer): Promise<Series> {
    const errors: FieldError[] = [];
    const values = checkValues(changes, errors);
    if (errors.length > 0) throw new BadRequestError('The series is not valid', errors);
    const now = clock.now();
    try {
      return await db.transaction(async (tx) => {
        const before = (await withSessions([await visibleRow(tx, id, actor, true)], tx))[0]!;
        if (values.sessionIds) await checkHosted(tx, values.sessionIds, actor);
        const set = {
          ...(values.title === undefined ? {} : { title: values.title }),
          ...(values.slug === undefined ? {} : { slug: values.slug }),
          ...(values.description === undefined ? {} : { description: values.description }),
          updatedAt: now,
        };
        const [row] = await tx.update(series).set(set).where(eq(series.id, id)).returning();
        if (values.sessionIds) await writeSessions(tx, id, values.sessionIds);
        const after = (await withSessions([row!], tx))[0]!;
        const fields: string[] = (['title', 'slug', 'description'] as const).filter((field) => before[field] !== after[field]);
        const sessionIds = after.sessions.map((session) => session.id);
        const reordered = sessionIds.join() !== before.sessions.map((session) => session.id).join();
        if (reordered) fields.push('sessionIds');
        const details = { fields, ...(reordered ? { sessionIds } : {}), ...(fields.includes('slug') ? { slug: after.slug } : {}) };
        await recordAudit(tx, { at: now, actor, action: 'series.update', subjectType: 'series', subjectId: id, details });
        return after;
      });
    } catch (error) {
      if (isUniqueViolation(error, 'series_slug_unique')) throw slugTaken(values.slug!);
      throw error;
    }
  }

  /** Deletes the series (its sessions and their registrations stay as they are). */
  async function remove(id: string, actor: AuditActor & Viewer): Promise<void> {
    await db.transaction(async (tx) => {
      const row = await visibleRow(tx, id, actor, true);
      await tx.delete(series).where(eq(series.id, id));
      await recordAudit(tx, { at: clock.now(), actor, action: 'series.delete', subjectType: 'series', subjectId: id, details: { slug: row.slug } });
    });
  }

  // ---- the public side ----------------------------------------------------------------------

  async function bySlug(slug: string): Promise<SeriesRow> {
    const [row] = slug.length <= SLUG_MAX_LENGTH && SLUG.test(slug) ? await db.select().from(series).where(eq(series.slug, slug)) : [];
    if (!row) throw new NotFoundError('No series with this address');
    return row;
  }

  /** The published sessions of the series that have not ended, in its order. */
  async function sessionsTakingPart(row: SeriesRow): Promise<SessionRow[]> {
    const members = await db
      .select({ session: sessions })
      .from(seriesSessions)
      .innerJoin(sessions, eq(sessions.id, seriesSessions.sessionId))
      .where(and(eq(seriesSessions.seriesId, row.id), eq(sessions.status, 'published'), gt(sessions.endsAt, clock.now())))
      .orderBy(asc(seriesSessions.position), asc(sessions.startsAt));
    return members.map((member) => member.session);
  }

  /** The series and its published sessions that have not ended, in its order (404 for no such series). */
  async function publicBySlug(slug: string): Promise<PublicSeries> {
    const row = await bySlug(slug);
    return { series: row, sessions: await sessionsTakingPart(row) };
  }

  /** The ids of the person's active registrations among these sessions (none for an address never seen). */
  async function activeRegistrationIds(email: string, sessionIds: string[]): Promise<Array<{ id: string; sessionId: string }>> {
    if (sessionIds.length === 0) return [];
    const rows = await db
      .select({ id: registrations.id, sessionId: registrations.sessionId, status: registrations.status })
      .from(registrations)
      .innerJoin(attendees, eq(attendees.id, registrations.attendeeId))
      .where(and(eq(attendees.email, email), anyUuid(registrations.sessionId, sessionIds)));
    return rows.filter((row) => isActiveStatus(row.status));
  }

  /**
   * The summary e-mail of a series registration, for its first new registration (the row's
   * session and recipient): one per new registration (its dedupe key), none while the person got
   * one for this series within the window. Written after the seats: each seat commits on its own.
   */
  async function writeSummary(seriesId: string, firstNew: string | null, now: Date): Promise<void> {
    const since = new Date(now.getTime() - SUMMARY_WINDOW_MS);
    const summary = kinds.series_summary.row(sql`r.id`, { seriesId: sql`${seriesId}::text` });
    await db.execute(sql`
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(sql`r.session_id`, summary, sql`${now}::timestamptz`)}
      FROM registrations r
      WHERE r.id = ${firstNew}::uuid
        AND NOT EXISTS (
          SELECT 1 FROM notifications n JOIN registrations earlier ON earlier.id = n.registration_id
          WHERE n.kind = ${kinds.series_summary.name}::notification_kind AND earlier.attendee_id = r.attendee_id
            AND n.payload->>'seriesId' = ${seriesId}::text AND n.created_at > ${since}::timestamptz
        )
      ON CONFLICT (dedupe_key) DO NOTHING`);
  }

  /**
   * One form for the whole series (see the file comment). Every valid request for a series with
   * at least one session that took it gets the same receipt, whatever each session did (a seat,
   * a waitlist place, the manage link again, or a refusal: full, closed, not open to this
   * address); the outcome goes by e-mail, with one summary when something new was registered.
   * When no session takes it: 409 (closed or full; the same for every address), or 403 when the
   * only refusals were of the audience (as a single session's, it names no organisation).
   */
  async function register(slug: string, input: RegistrationInput, options: RegisterOptions = {}): Promise<SeriesReceipt> {
    const row = await bySlug(slug);
    const errors: FieldError[] = [];
    if (input.answers && Object.keys(input.answers).length > 0) {
      errors.push({ path: '/answers', message: 'are not taken by a series form: a session with questions of its own is registered for on its own page' });
    }
    if (input.accessCode !== undefined) {
      errors.push({ path: '/accessCode', message: 'is not taken by a series form: a session with an access code is registered for on its own page' });
    }
    try {
      checkPerson(NO_QUESTIONS, { ...input, answers: {} }, true);
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
      errors.unshift(...(error.errors ?? []));
    }
    if (errors.length > 0) throw new BadRequestError('The registration is not valid', errors);

    const joining = (await sessionsTakingPart(row)).filter(joinsThroughSeries);
    if (joining.length === 0) throw new ConflictError('No session of this series is open for registration through this form');

    const email = normalizeEmail(input.email)!;
    const ids = joining.map((session) => session.id);
    const before = new Set((await activeRegistrationIds(email, ids)).map((registration) => registration.id));
    // The per-recipient limit counts the series form once, at its first session open for registration.
    let admitted: Promise<void> | null = null;
    const admitOnce = (address: string) => (admitted ??= options.admitRecipient?.(address) ?? Promise.resolve());
    const person: RegistrationInput = { name: input.name, email: input.email, organization: input.organization, jobTitle: input.jobTitle, consent: input.consent, timezone: input.timezone };
    let received = 0;
    let refusedForAudience = 0;
    for (const session of joining) {
      try {
        await sessionRegistrations.register(session.slug, person, { admitRecipient: admitOnce });
        received += 1;
      } catch (error) {
        // Refused here, and for every address alike: the series goes on with its other sessions.
        if (error instanceof ForbiddenError) refusedForAudience += 1;
        else if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
      }
    }
    if (received === 0) {
      if (refusedForAudience === joining.length) throw new ForbiddenError('None of the sessions of this series open for registration is open to this address');
      throw new ConflictError('The sessions of this series open for registration are full or closed');
    }
    const now = clock.now();
    const position = new Map(ids.map((id, index) => [id, index]));
    const created = (await activeRegistrationIds(email, ids))
      .filter((registration) => !before.has(registration.id))
      .sort((a, b) => position.get(a.sessionId)! - position.get(b.sessionId)!);
    // Run for a repeat too (it then writes nothing), so the answer's time does not tell whether
    // the address was new to the series.
    await writeSummary(row.id, created[0]?.id ?? null, now);
    outbox.kick();
    return { series: row };
  }

  return { create, list, get, update, remove, publicBySlug, register };
}

/** checkPerson reads only the session's questions: the series form has none. */
const NO_QUESTIONS = { questions: [] } as Pick<SessionRow, 'questions'> as SessionRow;

export type SeriesService = ReturnType<typeof createSeriesService>;

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 8).padEnd(6, '0');
}
