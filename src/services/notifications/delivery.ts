import { DrizzleQueryError, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Logger } from 'pino';
import { anyUuid, inClientTransaction, type Database, type Executor } from '../../../db/client.js';
import { notifications, sessions, type NotificationRow, type RegistrationRow, type SessionRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { instantText, isKnownZone, readerTimeText, singleLine } from '../../text.js';
import { placesOnWaitlist } from '../capacity.js';
import { earlierRegistrationsOf, inviteFor } from '../invites.js';
import { howToJoin } from '../how-to-join.js';
import { joinWindowOf, joinWindowPhase, registrationLinks, type RegistrationLinks } from '../links.js';
import type { Branding } from '../settings.service.js';
import type { Tokens } from '../tokens.js';
import { kinds, noticeOf, type Notice } from './kinds.js';
import { isPermanentSmtpFailure, mailAddress, type Mailer, type OutgoingMessage } from './mailer.js';
import { seriesRegistrationsOf } from '../series.service.js';
import { isErasedAddress } from '../erasure.service.js';
import { renderEmail, type EmailContext, type RenderedEmail, type SeriesSummary } from './templates.js';

export type DeliveryOutcome = 'sent' | 'skipped' | 'failed' | 'missing' | 'retry';

const ERROR_TEXT_LIMIT = 500;

export interface DeliveryDeps {
  db: Database;
  clock: Clock;
  tokens: Tokens;
  mailer: Mailer;
  config: Pick<Config, 'publicBaseUrl' | 'mailFrom' | 'joinWindowMinutes'>;
  /** The organisation's branding as it is at send time (services.settings.branding). */
  branding: () => Promise<Branding>;
  log?: Logger;
  /** How long one delivery's sends may take (default SEND_DEADLINE_MS). */
  sendDeadlineMs?: number;
}

/** What a delivery reads of a registration (rules, links, template, invite). */
type RegistrationFields = Pick<
  RegistrationRow,
  'id' | 'sessionId' | 'attendeeId' | 'name' | 'status' | 'waitlistTicket' | 'tokenVersion' | 'registeredAt' | 'attendeeTimezone' | 'offerExpiresAt'
>;

/** One row of load(): a notification, its registration (when it still exists) and the address. */
interface LoadedRow extends Record<string, unknown> {
  id: string;
  kind: NotificationRow['kind'];
  status: NotificationRow['status'];
  payload: NotificationRow['payload'];
  session_id: string;
  registration_id: string | null;
  registration_session_id: string | null;
  attendee_id: string | null;
  name: string | null;
  registration_status: RegistrationRow['status'] | null;
  /** bigint columns arrive as text. */
  waitlist_ticket: string | number | null;
  token_version: number | null;
  /** drizzle's plain queries return timestamps as the server's text. */
  registered_at: string | null;
  attendee_timezone: string | null;
  offer_expires_at: string | null;
  /** earlierRegistrationsOf the registration (0 without one). */
  earlier_registrations: number;
  /** The registration's place on the waitlist while it waits (placesOnWaitlist), else null. */
  waitlist_place: number | null;
  email: string | null;
  /** The organizer's message of a 'message' row (session_messages). */
  message_subject: string | null;
  message_body: string | null;
  message_test_to: string | null;
}

interface Loaded {
  notification: Pick<NotificationRow, 'id' | 'kind' | 'status' | 'sessionId' | 'payload'>;
  /** The row's kind with its payload, parsed: its rules and template. */
  notice: Notice;
  session: SessionRow;
  registration: RegistrationFields | null;
  /** The person's registrations for the session before this one (an invite's SEQUENCE). */
  earlierRegistrations: number;
  /** The registration's place on the waitlist at send time; null unless it waits. */
  waitlistPlace: number | null;
  email: string | null;
  message: { subject: string; body: string; testTo: string | null } | null;
}

function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').slice(0, ERROR_TEXT_LIMIT);
}

export function messageIdFor(notificationId: string, mailFrom: string): string {
  const domain = mailAddress(mailFrom).split('@')[1] ?? 'convene.localhost';
  return `<notification-${notificationId}@${domain}>`;
}

/** How long the sends of one delivery may take before the rows still unanswered count as a temporary failure. */
const SEND_DEADLINE_MS = 60_000;
/**
 * Server-side limits of a delivery's transaction. The lock wait covers a relay that has not
 * committed yet (it gives up on Redis after 5 s). The idle limit is a backstop beyond the send
 * deadline, for a process that stops running (paused, swapping) while it holds the rows: the
 * server then ends the session, the transaction rolls back and the rows stay queued.
 */
const LOCK_TIMEOUT = '15s';
const IDLE_IN_TRANSACTION_TIMEOUT = '90s';

export interface DeliveryResult {
  outcome: DeliveryOutcome;
  error?: unknown;
}

/** What a delivery does with one loaded row: nothing to send (and why), or this message. */
type Plan =
  | { loaded: Loaded; skip: string }
  | { loaded: Loaded; skip: null; message: OutgoingMessage };

type Settled = { ok: true } | { ok: false; error: unknown };

/** One outcome to record; `attempt` is 1 when the row was handed to the SMTP server. */
interface Recorded {
  id: string;
  status: NotificationRow['status'];
  attempt: 0 | 1;
  lastError: string | null;
  messageId: string | null;
}

/** The attendee's own zone when the registration kept a valid one (the browser's at registration). */
function readerZoneOf(registration: Pick<RegistrationRow, 'attendeeTimezone'>): string | null {
  const zone = registration.attendeeTimezone;
  return zone && isKnownZone(zone) ? zone : null;
}

/**
 * A message as its recipients read it, for the organizer who writes it (the test send, the
 * console's preview): the recipient's name a placeholder, and the session's page where each
 * recipient gets their own registration link.
 */
export async function renderMessageSample(input: {
  session: SessionRow;
  message: { subject: string; body: string; test: boolean };
  branding: Branding;
  config: Pick<Config, 'publicBaseUrl' | 'joinWindowMinutes'>;
  now: Date;
}): Promise<RenderedEmail> {
  const { session, config } = input;
  const page = `${config.publicBaseUrl}/s/${session.slug}`;
  const context = registrantEmailContext({
    session,
    registration: { name: "[the recipient's name]", status: 'confirmed', attendeeTimezone: null },
    links: { manageLink: page, joinLink: page },
    branding: input.branding,
    waitlistPosition: null,
    joinWindowMinutes: config.joinWindowMinutes,
    now: input.now,
  });
  context.message = input.message;
  return renderEmail(context, kinds.message.template(context, {}));
}

/** An offer's deadline: in the reader's zone first when it differs from the session's. */
function deadlineText(at: Date, sessionZone: string, readerZone: string | null): { primary: string; secondary: string | null } {
  if (!readerZone || readerZone === sessionZone) return { primary: instantText(at, sessionZone), secondary: null };
  return { primary: instantText(at, readerZone), secondary: instantText(at, sessionZone) };
}

/**
 * What an e-mail to one registrant shows, from the state at send time (the session's time for
 * this reader: readerTimeText, which keeps what it has said).
 */
export function registrantEmailContext(input: {
  session: SessionRow;
  registration: Pick<RegistrationRow, 'name' | 'status' | 'attendeeTimezone'> & Partial<Pick<RegistrationRow, 'offerExpiresAt'>>;
  links: RegistrationLinks;
  branding: Branding;
  waitlistPosition: number | null;
  joinWindowMinutes: number;
  now: Date;
}): EmailContext {
  const { session, registration, links, joinWindowMinutes } = input;
  const readerZone = readerZoneOf(registration);
  // The join link and how to use it go only with a seat in a session that still takes place.
  const holdsSeat = registration.status === 'confirmed' && session.status !== 'cancelled';
  const window = joinWindowOf(session, joinWindowMinutes);
  return {
    branding: input.branding,
    recipientName: registration.name,
    sessionTitle: session.title,
    time: readerTimeText(session.startsAt, session.endsAt, session.timezone, readerZone),
    startsAt: session.startsAt,
    endsAt: session.endsAt,
    sessionZone: session.timezone,
    readerZone,
    registrationStatus: registration.status,
    offerDeadline:
      registration.status === 'offered' && registration.offerExpiresAt ? deadlineText(registration.offerExpiresAt, session.timezone, readerZone) : null,
    offerMinutes: session.waitlistMode === 'offer' ? session.offerMinutes : null,
    sessionCancelled: session.status === 'cancelled',
    manageLink: links.manageLink,
    join: holdsSeat
      ? { link: links.joinLink, ...howToJoin(session, joinWindowMinutes), open: joinWindowPhase(window, input.now) === 'open' }
      : null,
    waitlistPosition: input.waitlistPosition,
    cancelReason: session.cancelReason,
    contactName: session.contactName,
    contactEmail: session.contactEmail,
    followUp: session.followUp ?? undefined,
    emailTexts: session.emailTexts,
  };
}

/**
 * Delivers outbox rows: reads the state at send time, renders each e-mail (and invite), sends
 * them, records the outcomes. The Message-ID is derived from the row id, so a message sent
 * twice after a crash is recognisably the same message.
 */
export function createDeliveryService({ db, clock, tokens, mailer, config, branding, log, sendDeadlineMs = SEND_DEADLINE_MS }: DeliveryDeps) {
  const uidDomain = new URL(config.publicBaseUrl).hostname;

  /**
   * A transaction on a connection of its own, with the limits above (inClientTransaction: a
   * session the server ends while no query runs fails the transaction; the broken connection
   * leaves the pool).
   */
  async function inTransaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    try {
      return await inClientTransaction(
        db.$client,
        // drizzle over the checked-out client: the helpers (seriesRegistrationsOf ...) take it as
        // they take a transaction. No schema: they use the query builder only, and a schema
        // would be walked again for every batch.
        (client) => work(drizzle(client) as unknown as Executor),
        `BEGIN; SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'; SET LOCAL idle_in_transaction_session_timeout = '${IDLE_IN_TRANSACTION_TIMEOUT}'`,
      );
    } catch (error) {
      // drizzle's error quotes the statement's parameters (SMTP answers that may name an
      // address): the job's failure reason, kept in Redis and logged, gets the cause alone.
      if (error instanceof DrizzleQueryError && error.cause instanceof Error) {
        throw new Error(`delivery not recorded: ${error.cause.message}`, { cause: error.cause });
      }
      throw error;
    }
  }

  /**
   * The rows still to deliver, locked, with the address, the registration columns a delivery
   * reads, the person's earlier registrations (an invite's SEQUENCE) and, for those waiting, their
   * places on the waitlist (one walk per session: placesOnWaitlist); then their sessions (one
   * row for a batch of bulk mail rather than a copy beside each row: parsing the rows is much of
   * a batch's own work). A plain FOR UPDATE (not SKIP LOCKED): a job can start before the relay
   * that queued its rows has committed, and must wait for it. Under READ COMMITTED the status is
   * checked again once a lock is granted, so a second job for the same rows finds them sent and
   * leaves them. Locks are taken in id order, so two overlapping jobs cannot deadlock.
   *
   * Plain SQL rather than the query builder: drizzle maps each row of a nested selection field
   * by field, about 20 µs a row, a sixth of what a reminder costs us besides nodemailer
   * (bench/reminders.ts).
   */
  async function load(tx: Executor, ids: string[]): Promise<Loaded[]> {
    const { rows } = await tx.execute<LoadedRow>(sql`
      WITH batch AS MATERIALIZED (
        SELECT notifications.id, notifications.kind, notifications.status, notifications.payload, notifications.session_id,
          r.id AS registration_id, r.session_id AS registration_session_id, r.attendee_id, r.name, r.status AS registration_status, r.waitlist_ticket,
          r.token_version, r.registered_at, r.attendee_timezone, r.offer_expires_at, ${earlierRegistrationsOf('r')} AS earlier_registrations, a.email,
          m.subject AS message_subject, m.body AS message_body, m.test_to AS message_test_to
        FROM notifications
        LEFT JOIN registrations r ON r.id = notifications.registration_id
        LEFT JOIN attendees a ON a.id = r.attendee_id
        LEFT JOIN session_messages m ON m.id = notifications.session_message_id
        WHERE ${anyUuid(notifications.id, ids)} AND notifications.status IN ('pending', 'queued')
        ORDER BY notifications.id
        FOR UPDATE OF notifications
      ),
      places AS (${placesOnWaitlist(sql`SELECT registration_session_id, waitlist_ticket FROM batch WHERE registration_status = 'waitlisted'`)})
      SELECT batch.*, places.place AS waitlist_place
      FROM batch LEFT JOIN places ON places.id = batch.registration_id
      ORDER BY batch.id`);
    if (rows.length === 0) return [];
    const sessionIds = [...new Set(rows.map((row) => row.session_id))];
    const found = await tx.select().from(sessions).where(anyUuid(sessions.id, sessionIds));
    const byId = new Map(found.map((session) => [session.id, session]));
    // A deleted session takes its rows along (ON DELETE CASCADE); should one be gone anyway,
    // its row is left alone and reported as not delivered here.
    return rows.flatMap((row): Loaded[] => {
      const session = byId.get(row.session_id);
      if (!session) return [];
      return [
        {
          notification: { id: row.id, kind: row.kind, status: row.status, sessionId: row.session_id, payload: row.payload },
          notice: noticeOf(row.kind, row.payload),
          session,
          registration:
            row.registration_id === null
              ? null
              : {
                  id: row.registration_id,
                  sessionId: row.registration_session_id!,
                  attendeeId: row.attendee_id!,
                  name: row.name!,
                  status: row.registration_status!,
                  waitlistTicket: row.waitlist_ticket === null ? null : Number(row.waitlist_ticket),
                  tokenVersion: row.token_version!,
                  registeredAt: new Date(row.registered_at!),
                  attendeeTimezone: row.attendee_timezone,
                  offerExpiresAt: row.offer_expires_at === null ? null : new Date(row.offer_expires_at),
                },
          earlierRegistrations: row.earlier_registrations,
          waitlistPlace: row.waitlist_place,
          email: row.email,
          message:
            row.message_subject === null ? null : { subject: row.message_subject, body: row.message_body ?? '', testTo: row.message_test_to },
        },
      ];
    });
  }

  /** What one delivery reads once for all its rows. */
  interface Batch {
    now: Date;
    branding: Branding;
    /** The From header: the sender name from the branding, the address MAIL_FROM's. */
    from: { name: string; address: string };
  }

  function startBatch(now: Date, current: Branding): Batch {
    const name = current.mailFromName;
    // An address object, never a "Name <address>" string: nodemailer quotes or encodes the
    // name, so quotes, commas or non-ASCII in it cannot add a recipient or a header.
    return { now, branding: current, from: { name: singleLine(name), address: mailAddress(config.mailFrom) } };
  }

  async function plan(tx: Executor, loaded: Loaded, batch: Batch): Promise<Plan> {
    const { notice, session, registration, email } = loaded;
    const { now } = batch;
    if (loaded.message?.testTo && !registration) return planTestMessage(loaded, loaded.message.testTo, batch);
    const state = registration ? { registrationStatus: registration.status, session } : null;
    // An erased person's placeholder address (erasure.service) is never mailed.
    const stale = notice.staleReason(state) ?? (email && isErasedAddress(email) ? 'erased' : null);
    if (stale || !registration || !email) return { loaded, skip: stale ?? 'no recipient' };

    const links = registrationLinks(registration, tokens, config.publicBaseUrl);
    const context = registrantEmailContext({
      session,
      registration,
      links,
      branding: batch.branding,
      waitlistPosition: loaded.waitlistPlace,
      joinWindowMinutes: config.joinWindowMinutes,
      now,
    });
    if (loaded.message) context.message = { subject: loaded.message.subject, body: loaded.message.body, test: false };
    if (loaded.notification.kind === kinds.series_summary.name) {
      const summary = await seriesSummaryFor(tx, loaded, registration, batch);
      if (!summary) return { loaded, skip: 'no registration of the series is left to list' };
      // The e-mail is about the series: its title names it (preview, footer), as a session's title does.
      context.series = summary;
      context.sessionTitle = summary.title;
    }
    const rendered = await renderEmail(context, notice.content(context));
    const intent = notice.invite;
    const invite = intent
      ? {
          method: intent.method,
          content: inviteFor({
            session,
            registration,
            email,
            intent,
            earlier: loaded.earlierRegistrations,
            links,
            mailFrom: config.mailFrom,
            organizerName: batch.branding.name,
            uidDomain,
            stamp: now,
          }),
        }
      : undefined;
    return planned(loaded, batch, rendered, { name: registration.name, address: email }, invite);
  }

  /**
   * What a series summary lists, as it is at send time: the person's active registrations in the
   * series' sessions that have not ended, each with its time for this reader and its manage link.
   */
  async function seriesSummaryFor(tx: Executor, loaded: Loaded, registration: RegistrationFields, batch: Batch): Promise<SeriesSummary | null> {
    const { seriesId } = kinds.series_summary.parse(loaded.notification.payload);
    const found = await seriesRegistrationsOf(tx, seriesId, registration.attendeeId, batch.now);
    if (!found || found.registrations.length === 0) return null;
    const readerZone = readerZoneOf(registration);
    return {
      title: found.title,
      entries: found.registrations.map(({ session, registration: held }) => ({
        title: session.title,
        time: readerTimeText(session.startsAt, session.endsAt, session.timezone, readerZone),
        status: held.status,
        waitlistPosition: held.waitlistPosition,
        manageLink: registrationLinks(held, tokens, config.publicBaseUrl).manageLink,
      })),
    };
  }

  /** An organizer's test of a message: to that organizer alone (renderMessageSample). */
  async function planTestMessage(loaded: Loaded, to: string, batch: Batch): Promise<Plan> {
    const { session, message } = loaded;
    const rendered = await renderMessageSample({
      session,
      message: { subject: message!.subject, body: message!.body, test: true },
      branding: batch.branding,
      config,
      now: batch.now,
    });
    return planned(loaded, batch, rendered, { name: '', address: to }, undefined);
  }

  function planned(
    loaded: Loaded,
    batch: Batch,
    rendered: RenderedEmail,
    to: { name: string; address: string },
    invite: OutgoingMessage['invite'],
  ): Plan {
    const { notification, notice, session } = loaded;
    const headers: Record<string, string> = { 'X-Convene-Notification': notification.kind, 'Auto-Submitted': 'auto-generated' };
    if (notice.bulk) headers.Precedence = 'bulk';
    return {
      loaded,
      skip: null,
      message: {
        from: batch.from,
        to,
        replyTo: { name: session.contactName, address: session.contactEmail },
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        messageId: messageIdFor(notification.id, config.mailFrom),
        invite,
        headers,
      },
    };
  }

  /** Sends every message at once (the mailer's pool spreads them over its connections). */
  async function sendAll(messages: OutgoingMessage[]): Promise<Settled[]> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Settled>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, error: new Error(`no answer from the SMTP server within ${sendDeadlineMs / 1000} s`) }),
        sendDeadlineMs,
      );
    });
    try {
      return await Promise.all(
        messages.map((message) =>
          Promise.race([
            mailer.send(message).then(
              (): Settled => ({ ok: true }),
              (error: unknown): Settled => ({ ok: false, error }),
            ),
            deadline,
          ]),
        ),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every outcome of a delivery in one statement. */
  async function record(tx: Executor, outcomes: Recorded[], now: Date): Promise<void> {
    if (outcomes.length === 0) return;
    const column = <K extends keyof Recorded>(key: K) => sql.param(outcomes.map((outcome) => outcome[key]));
    // A row left queued for a retry gets a fresh queued_at (the database's clock, as the relay
    // uses): the relay's re-queue of stale rows leaves it to the job that retries it.
    await tx.execute(sql`
      UPDATE notifications n SET
        status = u.status,
        attempts = n.attempts + u.attempt,
        last_error = u.last_error,
        message_id = coalesce(u.message_id, n.message_id),
        sent_at = CASE WHEN u.status = 'sent' THEN ${now}::timestamptz ELSE n.sent_at END,
        queued_at = CASE WHEN u.status = 'queued' THEN now() ELSE n.queued_at END,
        updated_at = ${now}::timestamptz
      FROM unnest(${column('id')}::uuid[], ${column('status')}::notification_status[], ${column('attempt')}::int[],
                  ${column('lastError')}::text[], ${column('messageId')}::text[]) AS u(id, status, attempt, last_error, message_id)
      WHERE n.id = u.id`);
  }

  /**
   * Delivers the given rows in one transaction: one query loads and locks those still pending
   * or queued, the e-mails go out concurrently, one statement records every outcome.
   * `finalAttempt`: the queue will not retry after this one, so a temporary failure is final too.
   * A row with a temporary failure comes back as 'retry' (still queued, the attempt counted);
   * the caller throws to get a retry of the rows that need one.
   */
  async function deliverMany(ids: string[], options: { finalAttempt: boolean }): Promise<Map<string, DeliveryResult>> {
    const results = new Map<string, DeliveryResult>();
    if (ids.length === 0) return results;
    // Read before the transaction, so its rows are not held locked while the settings are read.
    const current = await branding();
    await inTransaction(async (tx) => {
      const rows = await load(tx, ids);
      const now = clock.now();
      const batch = startBatch(now, current);
      const plans: Plan[] = [];
      for (const row of rows) plans.push(await plan(tx, row, batch));
      const sending = plans.filter((p): p is Extract<Plan, { skip: null }> => p.skip === null);
      const settled = await sendAll(sending.map((p) => p.message));

      const outcomes: Recorded[] = [];
      for (const p of plans) {
        if (p.skip !== null) {
          outcomes.push({ id: p.loaded.notification.id, status: 'skipped', attempt: 0, lastError: p.skip, messageId: null });
          results.set(p.loaded.notification.id, { outcome: 'skipped' });
        }
      }
      sending.forEach((p, index) => {
        const { notification } = p.loaded;
        const result = settled[index]!;
        if (result.ok) {
          outcomes.push({ id: notification.id, status: 'sent', attempt: 1, lastError: null, messageId: p.message.messageId });
          results.set(notification.id, { outcome: 'sent' });
          return;
        }
        const permanent = isPermanentSmtpFailure(result.error) || options.finalAttempt;
        const reason = errorText(result.error);
        outcomes.push({ id: notification.id, status: permanent ? 'failed' : 'queued', attempt: 1, lastError: reason, messageId: null });
        results.set(notification.id, { outcome: permanent ? 'failed' : 'retry', error: result.error });
        log?.warn({ notificationId: notification.id, kind: notification.kind, permanent, err: { message: reason } }, 'e-mail not delivered');
      });
      await record(tx, outcomes, now);
    });

    // Rows not loaded: already delivered (or decided) by another job, or gone.
    const unseen = ids.filter((id) => !results.has(id));
    if (unseen.length > 0) {
      const found = await db
        .select({ id: notifications.id, status: notifications.status })
        .from(notifications)
        .where(anyUuid(notifications.id, unseen));
      const statuses = new Map(found.map((row) => [row.id, row.status]));
      for (const id of unseen) {
        const status = statuses.get(id);
        results.set(id, { outcome: status === 'sent' || status === 'failed' || status === 'skipped' ? status : 'missing' });
      }
    }
    return results;
  }

  return { deliverMany };
}

export type DeliveryService = ReturnType<typeof createDeliveryService>;

