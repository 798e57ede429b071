import { isDeepStrictEqual } from 'node:util';
import { and, asc, desc, eq, getTableColumns, gt, gte, isNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import { anyUuid, type Database } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { organizers, registrations, sessionHosts, sessions, type SessionRow } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { BadRequestError, ConflictError, NotFoundError, type FieldError } from '../errors.js';
import { cancelAllRegistrations, fillFreedSeats, type FilledSeats } from './capacity.js';
import { noOfferTimers, type OfferTimers } from './offer-timers.js';
import { countFollowUpRecipients, countFollowUpsWritten, notifySessionUpdated, writeFollowUps } from './notifications/outbox.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import { hostIdsColumn, visibleTo, type Viewer } from './hosts.js';
import type { OutboxRelay } from './notifications/relay.js';
import type { ReminderScheduler } from './reminders.service.js';
import { sessionInputOf, SLUG_MAX_LENGTH, toSessionValues, type SessionInput, type SessionValues } from './session-values.js';

export type EffectiveStatus = 'draft' | 'published' | 'cancelled' | 'finished';

export type SessionPatch = Partial<SessionInput>;

/** A session as organizers see it: the row and its hosts' ids, the creator first. */
export type HostedSession = SessionRow & { hosts: string[] };

/** The columns of a select (or RETURNING) that yields a HostedSession. */
const hostedSession = () => ({ ...getTableColumns(sessions), hosts: hostIdsColumn() });

export interface SessionFilter {
  status?: EffectiveStatus;
  from?: string;
  to?: string;
  limit: number;
  /**
   * 'current-first' (the console's dashboard): sessions not ended nor cancelled first, soonest
   * first, then the others latest first; a limit then drops the oldest past sessions. Default: by start.
   */
  order?: 'start' | 'current-first';
}

export interface Actor {
  id: string;
  name: string;
  email: string;
}

/** What an update changed, for the effects that follow it (invite updates, reminders, promotion). */
export interface SessionChange {
  session: HostedSession;
  previous: SessionRow;
  sequenceRaised: boolean;
  timeChanged: boolean;
  capacityRaised: boolean;
}

/** Changes that alter what an attendee's calendar shows, so the invite SEQUENCE must rise. */
const INVITE_FIELDS = ['startsAt', 'endsAt', 'timezone', 'title', 'description', 'joinInstructions'] as const;

/** The order of `list`'s 'current-first': not ended nor cancelled (soonest first), then the rest (latest first). */
function currentFirst(now: Date): SQL[] {
  const current = sql`(${sessions.status} <> 'cancelled' AND ${sessions.endsAt} > ${now})`;
  return [sql`${current} DESC`, sql`CASE WHEN ${current} THEN ${sessions.startsAt} END ASC`, desc(sessions.startsAt), asc(sessions.id)];
}

export function effectiveStatus(session: Pick<SessionRow, 'status' | 'endsAt'>, now: Date): EffectiveStatus {
  if (session.status === 'published' && session.endsAt.getTime() <= now.getTime()) return 'finished';
  return session.status;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

/** The input field each row value comes from, to name what a change touches (counters are no input's). */
type CounterColumn = 'confirmedCount' | 'waitlistedCount' | 'cancelledCount' | 'pendingCount' | 'offeredCount' | 'waitlistTickets' | 'lastRegisteredAt';
const INPUT_FIELD_OF: Record<Exclude<keyof SessionValues, CounterColumn>, keyof SessionInput> = {
  slug: 'slug',
  title: 'title',
  summary: 'summary',
  description: 'description',
  startsAt: 'startsAt',
  endsAt: 'endsAt',
  timezone: 'timezone',
  capacity: 'capacity',
  waitlistEnabled: 'waitlist',
  waitlistLimit: 'waitlist',
  waitlistMode: 'waitlist',
  offerMinutes: 'waitlist',
  approval: 'approval',
  registrationOpensAt: 'registrationOpensAt',
  registrationClosesAt: 'registrationClosesAt',
  audience: 'audience',
  questions: 'questions',
  reminders: 'reminders',
  joinUrl: 'joinUrl',
  joinInstructions: 'joinInstructions',
  contactName: 'contact',
  contactEmail: 'contact',
  followUp: 'followUp',
  emailTexts: 'emailTexts',
};

/** A change worked out against the current row: its values and what follows from it. */
interface ChangePlan {
  values: SessionValues;
  /** The input fields whose stored value would differ (jsonb key order aside). */
  changed: Array<keyof SessionInput>;
  timeChanged: boolean;
  sequenceRaised: boolean;
  capacityRaised: boolean;
  remindersChanged: boolean;
}

/**
 * Checks a patch against the current row and the clock, and says what it would change: the one
 * reading of a change, shared by `update` (which applies it) and `previewChange` (which only tells).
 */
function planChange(previous: SessionRow, patch: SessionPatch, now: Date): ChangePlan {
  const merged: SessionInput = { ...sessionInputOf(previous), ...patch };
  // A waitlist given whole replaces the limit (omitted: none); its mode and offer time stay unless given.
  if (patch.waitlist) {
    merged.waitlist = {
      enabled: patch.waitlist.enabled,
      limit: patch.waitlist.limit ?? null,
      mode: patch.waitlist.mode ?? previous.waitlistMode,
      offerMinutes: patch.waitlist.offerMinutes ?? previous.offerMinutes,
    };
  }
  const values = toSessionValues(merged, now);

  const timeChanged = !sameValue(values.startsAt, previous.startsAt) || !sameValue(values.endsAt, previous.endsAt);
  if (timeChanged && values.endsAt.getTime() <= now.getTime()) {
    throw new BadRequestError('The session is not valid', [{ path: '/endsAt', message: 'must be in the future' }]);
  }
  // Seats held by open offers count as taken: nobody is bumped silently, nor is an offer withdrawn.
  const seatsTaken = previous.confirmedCount + previous.offeredCount;
  if (values.capacity !== null && values.capacity !== undefined && values.capacity < seatsTaken) {
    const held = previous.offeredCount > 0 ? ` and ${previous.offeredCount} seats on offer` : '';
    throw new ConflictError(
      `Capacity ${values.capacity} is below the ${previous.confirmedCount} confirmed registrations${held}; cancel registrations first`,
    );
  }
  // Follow-ups still in the outbox render the session's text when they go out: after the send,
  // a new text would reach some people and not others.
  if (previous.followUpSentAt && patch.followUp !== undefined && !isDeepStrictEqual(values.followUp ?? null, previous.followUp ?? null)) {
    throw new ConflictError('The follow-up has already been sent; its message and recording link can no longer change');
  }
  const sequenceRaised = INVITE_FIELDS.some((field) => {
    const column = field as keyof SessionValues & keyof SessionRow;
    return !sameValue(values[column], previous[column]);
  });
  const capacityRaised =
    previous.capacity !== null && (values.capacity === null || (values.capacity ?? 0) > previous.capacity);
  const changed = new Set<keyof SessionInput>();
  for (const [column, field] of Object.entries(INPUT_FIELD_OF) as Array<[Exclude<keyof SessionValues, CounterColumn>, keyof SessionInput]>) {
    const before = previous[column as keyof SessionRow] ?? null;
    const after = values[column] ?? null;
    if (!sameValue(before, after) && !isDeepStrictEqual(before, after)) changed.add(field);
  }
  const remindersChanged = values.reminders?.join(',') !== previous.reminders.join(',');
  return { values, changed: [...changed], timeChanged, sequenceRaised, capacityRaised, remindersChanged };
}

/** What a change would send and move, before it is applied (the console shows it for confirmation). */
export interface ChangePreview {
  /** The input fields the change touches; a PATCH of just these is the same change. */
  changed: Array<keyof SessionInput>;
  /** The invite SEQUENCE rises: every confirmed person (the promoted included) gets an updated invite. */
  sequenceRaised: boolean;
  inviteUpdates: number;
  /** People who move from the waitlist to a seat, each told by e-mail. */
  promotions: number;
  /** The reminders of a published session are rescheduled. */
  remindersMove: boolean;
}

export interface SessionsServiceDeps {
  db: Database;
  clock: Clock;
  outbox: OutboxRelay;
  reminders: ReminderScheduler;
  offerTimers?: OfferTimers;
}

export function createSessionsService({ db, clock, outbox, reminders, offerTimers = noOfferTimers }: SessionsServiceDeps) {
  async function get(id: string): Promise<HostedSession> {
    const [row] = await db.select(hostedSession()).from(sessions).where(eq(sessions.id, id));
    if (!row) throw new NotFoundError('No session with this id');
    return row;
  }

  async function getBySlug(slug: string): Promise<SessionRow | null> {
    const [row] = await db.select().from(sessions).where(eq(sessions.slug, slug));
    return row ?? null;
  }

  /** Creates a draft. Without an actor (the demo seed), the input must name its contact. */
  /** Published sessions that have not ended, soonest first. */
  async function listPublic(limit: number): Promise<SessionRow[]> {
    return db
      .select()
      .from(sessions)
      .where(and(eq(sessions.status, 'published'), gt(sessions.endsAt, clock.now())))
      .orderBy(asc(sessions.startsAt), asc(sessions.id))
      .limit(limit);
  }

  async function create(input: SessionInput, actor: Actor | null): Promise<HostedSession> {
    const now = clock.now();
    const contact = input.contact ?? (actor ? { name: actor.name, email: actor.email } : undefined);
    if (!contact) throw new BadRequestError('The session is not valid', [{ path: '/contact', message: 'is required' }]);
    const values = toSessionValues({ ...input, contact }, now);
    if (values.endsAt.getTime() <= now.getTime()) {
      throw new BadRequestError('The session is not valid', [{ path: '/endsAt', message: 'must be in the future' }]);
    }
    const explicitSlug = input.slug !== undefined;
    for (let attempt = 0; ; attempt += 1) {
      const slug = attempt === 0 ? values.slug : `${values.slug.slice(0, SLUG_MAX_LENGTH - 7)}-${randomSuffix()}`;
      try {
        return await db.transaction(async (tx) => {
          const [row] = await tx
            .insert(sessions)
            .values({ ...values, slug, createdBy: actor?.id ?? null, createdAt: now, updatedAt: now })
            .returning();
          // The creator is the first host, in the same transaction: no moment where nobody hosts it.
          if (actor) await tx.insert(sessionHosts).values({ sessionId: row!.id, organizerId: actor.id, addedAt: now });
          await recordAudit(tx, { at: now, actor, action: 'session.create', subjectType: 'session', subjectId: row!.id, details: { slug } });
          return { ...row!, hosts: actor ? [actor.id] : [] };
        });
      } catch (error) {
        if (!isUniqueViolation(error, 'sessions_slug_key')) throw error;
        if (explicitSlug || attempt >= 5) throw new ConflictError(`The slug "${slug}" is already used by another session`);
      }
    }
  }

  /** The sessions the viewer may see (all of them for an admin). */
  async function list(filter: SessionFilter, viewer: Viewer): Promise<HostedSession[]> {
    const now = clock.now();
    const conditions: Array<SQL | undefined> = [visibleTo(viewer)];
    if (filter.from) conditions.push(gte(sessions.startsAt, new Date(filter.from)));
    if (filter.to) conditions.push(lt(sessions.startsAt, new Date(filter.to)));
    if (filter.status === 'finished') conditions.push(eq(sessions.status, 'published'), lte(sessions.endsAt, now));
    else if (filter.status === 'published') conditions.push(eq(sessions.status, 'published'), gt(sessions.endsAt, now));
    else if (filter.status) conditions.push(eq(sessions.status, filter.status));
    return db
      .select(hostedSession())
      .from(sessions)
      .where(and(...conditions))
      .orderBy(...(filter.order === 'current-first' ? currentFirst(now) : [asc(sessions.startsAt), asc(sessions.id)]))
      .limit(filter.limit);
  }

  /**
   * Applies a partial change. The row is locked for the transaction, so two organizers editing
   * at once cannot lose each other's change or raise the SEQUENCE only once for two changes.
   */
  async function update(id: string, patch: SessionPatch, actor?: AuditActor | null): Promise<SessionChange> {
    const change = await db.transaction(async (tx) => {
      const [previous] = await tx.select().from(sessions).where(eq(sessions.id, id)).for('update');
      if (!previous) throw new NotFoundError('No session with this id');
      if (previous.status === 'cancelled') throw new ConflictError('A cancelled session cannot be changed');
      const now = clock.now();
      const { values, timeChanged, sequenceRaised, capacityRaised } = planChange(previous, patch, now);

      try {
        const sequence = sequenceRaised ? previous.sequence + 1 : previous.sequence;
        const [updated] = await tx
          .update(sessions)
          .set({ ...values, sequence, updatedAt: now })
          .where(eq(sessions.id, id))
          .returning(hostedSession());
        // The effects on registrations commit with the change or not at all.
        const filled: FilledSeats | null = capacityRaised ? await fillFreedSeats(tx, id, now) : null;
        // An offer never runs past the start: a session moved earlier shortens the offers it holds
        // (their expiry jobs fire late; the worker's offer sweep ends them on time within OFFER_SWEEP_MS).
        if (timeChanged && values.startsAt.getTime() < previous.startsAt.getTime()) {
          await tx
            .update(registrations)
            .set({ offerExpiresAt: values.startsAt, updatedAt: now })
            .where(and(eq(registrations.sessionId, id), eq(registrations.status, 'offered'), gt(registrations.offerExpiresAt, values.startsAt)));
        }
        if (sequenceRaised) await notifySessionUpdated(tx, id, sequence, previous, now);
        const audit = { fields: Object.keys(patch), sequenceRaised, capacityRaised };
        await recordAudit(tx, { at: now, actor, action: 'session.update', subjectType: 'session', subjectId: id, details: audit });
        const [session] = capacityRaised ? await tx.select(hostedSession()).from(sessions).where(eq(sessions.id, id)) : [updated];
        return { session: session!, previous, sequenceRaised, timeChanged, capacityRaised, offers: filled?.offers ?? [] };
      } catch (error) {
        if (isUniqueViolation(error, 'sessions_slug_key')) {
          throw new ConflictError(`The slug "${values.slug}" is already used by another session`);
        }
        throw error;
      }
    });
    if (change.capacityRaised || change.sequenceRaised) outbox.kick();
    await offerTimers.schedule(change.offers);
    const remindersChanged = change.session.reminders.join(',') !== change.previous.reminders.join(',');
    if (change.timeChanged || remindersChanged) await reminders.schedule(change.session, change.previous.reminders);
    return change;
  }

  /**
   * What `update(id, patch)` would do now, without doing it: the same checks (the same 400 and
   * 409 errors) and the counts of who would be written to. Read without a lock, so the counts are
   * those of this moment; the update itself works them out again under its lock.
   */
  async function previewChange(id: string, patch: SessionPatch): Promise<ChangePreview> {
    const [previous] = await db.select().from(sessions).where(eq(sessions.id, id));
    if (!previous) throw new NotFoundError('No session with this id');
    if (previous.status === 'cancelled') throw new ConflictError('A cancelled session cannot be changed');
    const plan = planChange(previous, patch, clock.now());
    const capacity = plan.values.capacity ?? null;
    const promotions = !plan.capacityRaised
      ? 0
      : capacity === null
        ? previous.waitlistedCount
        : Math.min(previous.waitlistedCount, Math.max(capacity - previous.confirmedCount - previous.offeredCount, 0));
    return {
      changed: plan.changed,
      sequenceRaised: plan.sequenceRaised,
      inviteUpdates: plan.sequenceRaised ? previous.confirmedCount + promotions : 0,
      promotions,
      remindersMove: previous.status === 'published' && (plan.timeChanged || plan.remindersChanged),
    };
  }

  async function publish(id: string, actor?: AuditActor | null): Promise<HostedSession> {
    const now = clock.now();
    return db.transaction(async (tx) => {
      const [row] = await tx.select().from(sessions).where(eq(sessions.id, id)).for('update');
      if (!row) throw new NotFoundError('No session with this id');
      if (row.status === 'cancelled') throw new ConflictError('A cancelled session cannot be published');
      if (row.status === 'published') throw new ConflictError('The session is already published');
      if (row.endsAt.getTime() <= now.getTime()) throw new ConflictError('A session that has ended cannot be published');
      const [published] = await tx
        .update(sessions)
        .set({ status: 'published', publishedAt: now, updatedAt: now })
        .where(eq(sessions.id, id))
        .returning(hostedSession());
      await recordAudit(tx, { at: now, actor, action: 'session.publish', subjectType: 'session', subjectId: id });
      return published!;
    }).then(async (published) => {
      await reminders.schedule(published);
      return published;
    });
  }

  /** Cancels the session and raises its SEQUENCE, since the cancellation is itself an invite change. */
  async function cancel(id: string, reason: string | null, actor?: AuditActor | null): Promise<HostedSession> {
    const now = clock.now();
    const cancelled = await db.transaction(async (tx) => {
      const [row] = await tx.select().from(sessions).where(eq(sessions.id, id)).for('update');
      if (!row) throw new NotFoundError('No session with this id');
      if (row.status === 'cancelled') throw new ConflictError('The session is already cancelled');
      if (effectiveStatus(row, now) === 'finished') throw new ConflictError('A session that has ended cannot be cancelled');
      await tx
        .update(sessions)
        .set({ status: 'cancelled', cancelledAt: now, cancelReason: reason, sequence: row.sequence + 1, updatedAt: now })
        .where(eq(sessions.id, id));
      const registrationsCancelled = await cancelAllRegistrations(tx, id, row.sequence + 1, now);
      await recordAudit(tx, { at: now, actor, action: 'session.cancel', subjectType: 'session', subjectId: id, details: { registrationsCancelled } });
      const [after] = await tx.select(hostedSession()).from(sessions).where(eq(sessions.id, id));
      return after!;
    });
    outbox.kick();
    await reminders.unschedule(cancelled);
    return cancelled;
  }

  /**
   * Sends the follow-up once: one e-mail to each confirmed person who attended (checked in or
   * joined) and another to each confirmed no-show. A second trigger is 409.
   */
  async function sendFollowUp(id: string, actor?: AuditActor | null): Promise<{ attended: number; noShows: number }> {
    const now = clock.now();
    const counts = await db.transaction(async (tx) => {
      const [row] = await tx.select().from(sessions).where(eq(sessions.id, id)).for('update');
      if (!row) throw new NotFoundError('No session with this id');
      if (effectiveStatus(row, now) !== 'finished') throw new ConflictError('A follow-up can only be sent once the session has ended');
      if (!row.followUp) throw new ConflictError('Set followUp (message, recordingUrl) on the session first');
      if (row.followUpSentAt) throw new ConflictError('The follow-up has already been sent');
      await tx.update(sessions).set({ followUpSentAt: now, updatedAt: now }).where(eq(sessions.id, id));
      const written = await writeFollowUps(tx, id, now);
      await recordAudit(tx, { at: now, actor, action: 'session.follow_up', subjectType: 'session', subjectId: id, details: { ...written } });
      return written;
    });
    outbox.kick();
    return counts;
  }

  /**
   * Who the follow-up goes to, split as `sendFollowUp` splits it: before it is sent, the
   * confirmed people as they stand now (check-ins may still change the split); once sent, the
   * e-mails its sending wrote.
   */
  async function followUpRecipients(id: string): Promise<{ attended: number; noShows: number }> {
    const [row] = await db.select({ sentAt: sessions.followUpSentAt }).from(sessions).where(eq(sessions.id, id));
    if (!row) throw new NotFoundError('No session with this id');
    return row.sentAt ? countFollowUpsWritten(db, id) : countFollowUpRecipients(db, id);
  }

  /**
   * Replaces who hosts the session. Each id must be an enabled organizer (duplicates collapse);
   * hosts that stay keep their place, new ones follow in the order given.
   */
  async function setHosts(id: string, organizerIds: string[], actor?: AuditActor | null): Promise<HostedSession> {
    // The schema's uuid format takes either case; Postgres answers in lower case.
    const given = organizerIds.map((organizerId) => organizerId.toLowerCase());
    const wanted = [...new Set(given)];
    if (wanted.length === 0) {
      throw new BadRequestError('A session needs at least one host', [{ path: '/organizerIds', message: 'must name at least one organizer' }]);
    }
    const now = clock.now();
    return db.transaction(async (tx) => {
      const [row] = await tx.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, id)).for('update');
      if (!row) throw new NotFoundError('No session with this id');
      // FOR SHARE: an organizer being disabled at this moment is either seen disabled here (400) or
      // its disabling waits until these hosts are committed.
      const enabled = await tx
        .select({ id: organizers.id })
        .from(organizers)
        .where(and(anyUuid(organizers.id, wanted), isNull(organizers.disabledAt)))
        .for('share');
      const enabledIds = new Set(enabled.map((organizer) => organizer.id));
      const errors: FieldError[] = [];
      given.forEach((organizerId, index) => {
        if (!enabledIds.has(organizerId)) errors.push({ path: `/organizerIds/${index}`, message: 'is not an enabled organizer' });
      });
      if (errors.length > 0) throw new BadRequestError('Every host must be an enabled organizer', errors);

      const before = await tx
        .select({ organizerId: sessionHosts.organizerId })
        .from(sessionHosts)
        .where(eq(sessionHosts.sessionId, id))
        .orderBy(asc(sessionHosts.addedAt), asc(sessionHosts.organizerId));
      const previous = before.map((host) => host.organizerId);
      const removed = previous.filter((organizerId) => !enabledIds.has(organizerId));
      const added = wanted.filter((organizerId) => !previous.includes(organizerId));
      if (removed.length > 0) {
        await tx.delete(sessionHosts).where(and(eq(sessionHosts.sessionId, id), anyUuid(sessionHosts.organizerId, removed)));
      }
      if (added.length > 0) {
        // One microsecond apart, so hosts added together keep the order they were given in.
        await tx.execute(sql`
          INSERT INTO ${sessionHosts} (session_id, organizer_id, added_at)
          SELECT ${id}::uuid, added.organizer_id, ${now}::timestamptz + added.n * interval '1 microsecond'
          FROM unnest(${sql.param(added)}::uuid[]) WITH ORDINALITY AS added(organizer_id, n)`);
      }
      await recordAudit(tx, { at: now, actor, action: 'session.hosts', subjectType: 'session', subjectId: id, details: { added, removed } });
      const [session] = await tx.select(hostedSession()).from(sessions).where(eq(sessions.id, id));
      return session!;
    });
  }

  async function remove(id: string, actor?: AuditActor | null): Promise<void> {
    await db.transaction(async (tx) => {
      const [row] = await tx.select().from(sessions).where(eq(sessions.id, id)).for('update');
      if (!row) throw new NotFoundError('No session with this id');
      if (row.status !== 'draft') throw new ConflictError('Only a draft session can be deleted; cancel it instead');
      if (row.confirmedCount + row.waitlistedCount + row.cancelledCount > 0) {
        throw new ConflictError('A session with registrations cannot be deleted; cancel it instead');
      }
      await tx.delete(sessions).where(eq(sessions.id, id));
      await recordAudit(tx, { at: clock.now(), actor, action: 'session.delete', subjectType: 'session', subjectId: id, details: { slug: row.slug } });
    });
  }

  return { get, getBySlug, create, list, listPublic, update, previewChange, publish, cancel, remove, sendFollowUp, followUpRecipients, setHosts };
}

export type SessionsService = ReturnType<typeof createSessionsService>;

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 8).padEnd(6, '0');
}
