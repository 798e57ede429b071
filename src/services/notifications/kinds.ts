import { sql, type SQL } from 'drizzle-orm';
import type { NotificationKind, NotificationRow, RegistrationRow, SessionRow } from '../../../db/schema/index.js';
import type { InviteIntent } from '../invites.js';
import {
  confirmationEmail,
  followUpEmail,
  manageLinkEmail,
  messageEmail,
  offeredEmail,
  offerExpiredEmail,
  promotedEmail,
  requestDeclinedEmail,
  requestReceivedEmail,
  registrationCancelledEmail,
  reminderEmail,
  sessionCancelledEmail,
  sessionCancelledWaitlistedEmail,
  sessionUpdatedEmail,
  seriesSummaryEmail,
  waitlistedEmail,
  type EmailContext,
  type EmailContent,
  type PreviousSession,
} from './templates.js';

/**
 * The e-mails Convene sends, one entry each: what its outbox row carries and how it is keyed
 * when written, how it travels, when it is no longer worth sending, which calendar invite it
 * holds and its template. Delivery, the relay and every statement that writes outbox rows read
 * these entries; none of them names a kind's details itself.
 */

/** What a send-time rule reads: the registration and session as they are when the e-mail would go. */
export interface SendState {
  registrationStatus: RegistrationRow['status'];
  session: Pick<SessionRow, 'status' | 'sequence' | 'startsAt'>;
}

/** A payload as stored (jsonb): read only by its kind's `parse`. */
export type StoredPayload = NotificationRow['payload'];

/** Each field of a payload as the SQL expression that writes it. */
export type PayloadSql<P> = { [K in keyof P]-?: SQL };

/** The SQL that fills one outbox row's kind, dedupe key and payload (outbox.ts adds where it belongs). */
export interface KindRow {
  kind: SQL;
  registrationId: SQL;
  dedupeKey: SQL;
  payload: SQL;
}

/**
 * One kind. `P` is its payload (facts fixed when the row is written, read back typed); `F` the
 * SQL facts a writer hands over, from which the payload and the dedupe key are made.
 */
export interface KindDefinition<P, F> {
  name: NotificationKind;
  /** The kind in words, for people reading a delivery log ("Invite update"). */
  label: string;
  /**
   * 'bulk': one e-mail to each attendee of a session (reminders, follow-ups), delivered in batch
   * jobs; 'single': a job of its own, so one person's confirmation never waits behind a reminder
   * to thousands.
   */
  delivery: 'single' | 'bulk';
  /**
   * The unique key is `prefix:registration[:part...]`: the same event written twice (a retried
   * job, two concurrent requests) leaves one row. Kinds that share a prefix are alternatives of
   * which a registration gets one.
   */
  dedupe: { prefix: string; parts(facts: F): SQL[] };
  payload(facts: F): PayloadSql<P>;
  /** The stored payload, typed: the one place that reads it by key. */
  parse(stored: StoredPayload): P;
  /** Why a row written earlier should no longer go out, judged on the state at send time; null: send it. */
  stale(state: SendState, payload: P): string | null;
  /** The calendar invite the e-mail carries, if any. */
  invite(payload: P): InviteIntent | null;
  template(context: EmailContext, payload: P): EmailContent;
  /** This kind's row for the registration `registrationId` (an SQL expression). */
  row(registrationId: SQL, facts: F): KindRow;
}

type NoFacts = Record<string, never>;
type NoPayload = Record<string, never>;

function defineKind<P = NoPayload, F = NoFacts>(
  name: NotificationKind,
  definition: Omit<KindDefinition<P, F>, 'name' | 'row' | 'dedupe' | 'payload' | 'parse'> & {
    dedupe: { prefix: string; parts?(facts: F): SQL[] };
    payload?(facts: F): PayloadSql<P>;
    parse?(stored: StoredPayload): P;
  },
): KindDefinition<P, F> {
  const dedupe = { prefix: definition.dedupe.prefix, parts: definition.dedupe.parts ?? (() => []) };
  const payload = definition.payload ?? (() => ({}) as PayloadSql<P>);
  const parse = definition.parse ?? (() => ({}) as P);
  return {
    ...definition,
    name,
    dedupe,
    payload,
    parse,
    row(registrationId, facts) {
      return {
        kind: sql`${name}::notification_kind`,
        registrationId,
        dedupeKey: sql.join([sql`${dedupe.prefix}::text`, registrationId, ...dedupe.parts(facts)], sql` || ':' || `),
        payload: payloadObject(payload(facts)),
      };
    },
  };
}

function payloadObject(fields: Record<string, SQL>): SQL {
  const entries = Object.entries(fields);
  if (entries.length === 0) return sql`'{}'::jsonb`;
  return sql`jsonb_build_object(${sql.join(
    entries.map(([key, value]) => sql`${key}::text, ${value}`),
    sql`, `,
  )})`;
}

/** The e-mails that go with a held seat: not once the seat is gone or the session cancelled. */
function seatGone({ registrationStatus, session }: SendState): string | null {
  if (registrationStatus !== 'confirmed') return `the registration is ${registrationStatus}`;
  if (session.status === 'cancelled') return 'the session was cancelled';
  return null;
}

/** Never stale: the notice reports something final (a cancelled session, a session that took place). */
const neverStale = () => null;

const REQUEST: InviteIntent = { method: 'REQUEST', registrationCancelled: false };

export interface SequencePayload {
  /** The session's SEQUENCE the change raised. */
  sequence: number;
}

const sequenceKind = {
  payload: (facts: { sequence: SQL }): PayloadSql<SequencePayload> => ({ sequence: facts.sequence }),
  parse: (stored: StoredPayload): SequencePayload => ({ sequence: Number(stored.sequence) }),
};

export interface SessionUpdatedPayload extends SequencePayload {
  /** The session before the change (instants as ISO text); null on rows written before updates kept it. */
  previous: PreviousSession | null;
}

/** Reads a stored `previous`: every field present and of its type, or null. */
function previousSessionOf(stored: unknown): PreviousSession | null {
  if (typeof stored !== 'object' || stored === null) return null;
  const { title, startsAt, endsAt, timezone } = stored as Record<string, unknown>;
  if (typeof title !== 'string' || typeof startsAt !== 'string' || typeof endsAt !== 'string' || typeof timezone !== 'string') return null;
  if (Number.isNaN(Date.parse(startsAt)) || Number.isNaN(Date.parse(endsAt))) return null;
  return { title, startsAt, endsAt, timezone };
}

export interface RegistrationCancelledPayload {
  /** What the registration was when it was cancelled: a seat (with an invite to cancel), a waitlist place, a request or an offer. */
  previousStatus: 'confirmed' | 'waitlisted' | 'pending' | 'offered';
}

const CANCELLABLE = ['confirmed', 'waitlisted', 'pending', 'offered'] as const;

export interface RequestDeclinedPayload {
  /** The organizer's words, when it gave a reason. */
  reason: string | null;
}

/** Sends only while the registration is still in `status` (a decision taken meanwhile makes it moot). */
function onlyWhile(status: RegistrationRow['status']) {
  return ({ registrationStatus, session }: SendState): string | null => {
    if (registrationStatus !== status) return `the registration is ${registrationStatus}`;
    if (session.status === 'cancelled') return 'the session was cancelled';
    return null;
  };
}

export interface ReminderPayload {
  /** Minutes before the start. */
  offset: number;
  /** The start the reminder was written for (ISO): a moved session makes the row stale. */
  startsAt: string;
  /** "in 1 day": for the subject and the first line. */
  lead: string | undefined;
}

export interface SeriesSummaryPayload {
  /** The series whose form was sent; the registrations it lists are read at send time. */
  seriesId: string;
}

export const kinds = {
  confirmation: defineKind('confirmation', {
    label: 'Confirmation',
    delivery: 'single',
    dedupe: { prefix: 'confirmation' },
    stale: seatGone,
    invite: () => REQUEST,
    template: confirmationEmail,
  }),
  waitlisted: defineKind('waitlisted', {
    label: 'Waitlist place',
    delivery: 'single',
    dedupe: { prefix: 'waitlisted' },
    stale: ({ registrationStatus }) => (registrationStatus === 'waitlisted' ? null : `the registration is ${registrationStatus}`),
    invite: () => null,
    template: waitlistedEmail,
  }),
  promoted: defineKind('promoted', {
    label: 'Seat from the waitlist',
    delivery: 'single',
    dedupe: { prefix: 'promoted' },
    stale: seatGone,
    invite: () => REQUEST,
    template: promotedEmail,
  }),
  /** A repeat registration's answer: the manage link again, at most once per window (the window is in the key). */
  manage_link: defineKind<NoPayload, { window: SQL }>('manage_link', {
    label: 'Manage link again',
    delivery: 'single',
    dedupe: { prefix: 'manage-link', parts: ({ window }) => [window] },
    stale: ({ registrationStatus }) => (registrationStatus === 'cancelled' ? 'the registration was cancelled' : null),
    invite: () => null,
    template: manageLinkEmail,
  }),
  registration_cancelled: defineKind<RegistrationCancelledPayload, { previousStatus: SQL }>('registration_cancelled', {
    label: 'Registration cancelled',
    delivery: 'single',
    dedupe: { prefix: 'registration-cancelled' },
    payload: ({ previousStatus }) => ({ previousStatus }),
    parse: (stored) => ({
      previousStatus: CANCELLABLE.find((status) => status === stored.previousStatus) ?? 'waitlisted',
    }),
    stale: ({ registrationStatus }) => (registrationStatus === 'cancelled' ? null : 'the registration is active again'),
    // The SEQUENCE of a registration's own CANCEL is one above its REQUEST (inviteSequence).
    invite: ({ previousStatus }) => (previousStatus === 'confirmed' ? { method: 'CANCEL', registrationCancelled: true } : null),
    template: (context, { previousStatus }) => registrationCancelledEmail(context, previousStatus),
  }),
  /** A public registration for a session with approval: the request is waiting for the organizers. */
  request_received: defineKind('request_received', {
    label: 'Request received',
    delivery: 'single',
    dedupe: { prefix: 'request-received' },
    stale: onlyWhile('pending'),
    invite: () => null,
    template: requestReceivedEmail,
  }),
  request_declined: defineKind<RequestDeclinedPayload, { reason: SQL }>('request_declined', {
    label: 'Request declined',
    delivery: 'single',
    dedupe: { prefix: 'request-declined' },
    payload: ({ reason }) => ({ reason }),
    parse: (stored) => ({ reason: typeof stored.reason === 'string' ? stored.reason : null }),
    stale: neverStale,
    invite: () => null,
    template: (context, { reason }) => requestDeclinedEmail(context, reason),
  }),
  /** A freed seat held for a waiting person until the offer's deadline (read from the registration at send time). */
  offered: defineKind('offered', {
    label: 'Seat offered',
    delivery: 'single',
    dedupe: { prefix: 'offered' },
    stale: onlyWhile('offered'),
    invite: () => null,
    template: offeredEmail,
  }),
  offer_expired: defineKind('offer_expired', {
    label: 'Offer expired',
    delivery: 'single',
    dedupe: { prefix: 'offer-expired' },
    stale: ({ registrationStatus }) => (registrationStatus === 'expired' ? null : `the registration is ${registrationStatus}`),
    invite: () => null,
    template: offerExpiredEmail,
  }),
  /** Written per SEQUENCE (in the key): each change of the session updates the invite once. */
  session_updated: defineKind<SessionUpdatedPayload, { sequence: SQL; previous: SQL }>('session_updated', {
    label: 'Invite update',
    delivery: 'single',
    dedupe: { prefix: 'session-updated', parts: ({ sequence }) => [sequence] },
    payload: ({ sequence, previous }) => ({ sequence, previous }),
    parse: (stored) => ({ sequence: Number(stored.sequence), previous: previousSessionOf(stored.previous) }),
    // A later change has its own update; this one would only repeat it.
    stale: (state, { sequence }) => seatGone(state) ?? (sequence !== state.session.sequence ? 'a later update supersedes it' : null),
    invite: () => REQUEST,
    template: (context, { previous }) => sessionUpdatedEmail(context, previous),
  }),
  session_cancelled: defineKind<SequencePayload, { sequence: SQL }>('session_cancelled', {
    label: 'Session cancelled',
    ...sequenceKind,
    delivery: 'single',
    dedupe: { prefix: 'session-cancelled' },
    stale: neverStale,
    invite: () => ({ method: 'CANCEL', registrationCancelled: false }),
    template: sessionCancelledEmail,
  }),
  session_cancelled_waitlisted: defineKind<SequencePayload, { sequence: SQL }>('session_cancelled_waitlisted', {
    label: 'Session cancelled (waitlist)',
    ...sequenceKind,
    delivery: 'single',
    dedupe: { prefix: 'session-cancelled' },
    stale: neverStale,
    invite: () => null,
    template: sessionCancelledWaitlistedEmail,
  }),
  /** Keyed by offset and start: a job that fires twice writes nothing twice, a moved session gets new reminders. */
  reminder: defineKind<ReminderPayload, { offset: SQL; startsAt: SQL; lead: SQL; startsAtEpoch: SQL }>('reminder', {
    label: 'Reminder',
    delivery: 'bulk',
    dedupe: { prefix: 'reminder', parts: ({ offset, startsAtEpoch }) => [offset, startsAtEpoch] },
    payload: ({ offset, startsAt, lead }) => ({ offset, startsAt, lead }),
    parse: (stored) => ({
      offset: Number(stored.offset),
      startsAt: String(stored.startsAt),
      lead: typeof stored.lead === 'string' ? stored.lead : undefined,
    }),
    stale: ({ registrationStatus, session }, { startsAt }) => {
      if (registrationStatus !== 'confirmed') return `the registration is ${registrationStatus}`;
      if (session.status !== 'published') return `the session is ${session.status}`;
      if (startsAt !== session.startsAt.toISOString()) return 'the session moved';
      return null;
    },
    invite: () => null,
    template: (context, { lead }) => reminderEmail(context, lead),
  }),
  follow_up_attended: defineKind('follow_up_attended', {
    label: 'Follow-up (attended)',
    delivery: 'bulk',
    dedupe: { prefix: 'follow-up' },
    stale: neverStale,
    invite: () => null,
    template: (context) => followUpEmail(context, true),
  }),
  follow_up_no_show: defineKind('follow_up_no_show', {
    label: 'Follow-up (no-show)',
    delivery: 'bulk',
    dedupe: { prefix: 'follow-up' },
    stale: neverStale,
    invite: () => null,
    template: (context) => followUpEmail(context, false),
  }),
  /**
   * An organizer's message to the people of a session (session_messages, its subject and body read
   * at send time); keyed by message so a message written or delivered twice reaches a person once.
   */
  message: defineKind<NoPayload, { messageId: SQL }>('message', {
    label: 'Message',
    delivery: 'bulk',
    dedupe: { prefix: 'message', parts: ({ messageId }) => [messageId] },
    // Whoever left (cancelled, declined, expired) after it was written no longer gets it; nor does
    // anyone once the session is cancelled (the cancellation notice is the last word).
    stale: ({ registrationStatus, session }) => {
      if (session.status === 'cancelled') return 'the session was cancelled';
      return ['confirmed', 'waitlisted', 'pending', 'offered'].includes(registrationStatus) ? null : `the registration is ${registrationStatus}`;
    },
    invite: () => null,
    template: messageEmail,
  }),
  /**
   * After a series form registered something new (services/series.service.ts): one e-mail listing
   * the person's registrations in the series' sessions with their times and manage links, besides
   * each session's own e-mail and invite. Keyed by the first new registration (its row's recipient).
   * Never stale by its registration alone: what it lists is read at send time, and delivery skips
   * it when nothing of the series is left to list.
   */
  series_summary: defineKind<SeriesSummaryPayload, { seriesId: SQL }>('series_summary', {
    label: 'Series summary',
    delivery: 'single',
    dedupe: { prefix: 'series-summary' },
    payload: ({ seriesId }) => ({ seriesId }),
    parse: (stored) => ({ seriesId: typeof stored.seriesId === 'string' ? stored.seriesId : '' }),
    stale: neverStale,
    invite: () => null,
    template: seriesSummaryEmail,
  }),
} satisfies Record<NotificationKind, { name: NotificationKind }>;

/** Every kind, for code that reads rows of any kind: the payload stays opaque outside its own entry. */
const byName: Record<NotificationKind, KindDefinition<unknown, never>> = kinds;

export function kindOf(name: NotificationKind): KindDefinition<unknown, never> {
  return byName[name];
}

/** "Invite update": a kind in words, for delivery logs. */
export function kindLabel(name: NotificationKind): string {
  return byName[name].label;
}

/** A loaded outbox row's kind, its payload parsed once, and the rules that read it. */
export interface Notice {
  kind: NotificationKind;
  /** Why the row should no longer go out; `state` null: its registration no longer exists. */
  staleReason(state: SendState | null): string | null;
  invite: InviteIntent | null;
  /** One of a session's mass mailings (reminders, follow-ups): sent with `Precedence: bulk`. */
  bulk: boolean;
  content(context: EmailContext): EmailContent;
}

export function noticeOf(name: NotificationKind, stored: StoredPayload): Notice {
  const definition = kindOf(name);
  const payload = definition.parse(stored);
  return {
    kind: name,
    staleReason: (state) => (state ? definition.stale(state, payload) : 'the registration no longer exists'),
    invite: definition.invite(payload),
    bulk: definition.delivery === 'bulk',
    content: (context) => definition.template(context, payload),
  };
}
