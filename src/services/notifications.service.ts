import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import {
  attendees,
  notifications,
  registrations,
  sessions,
  type NotificationRow,
  type RegistrationRow,
  type SessionRow,
} from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { NotFoundError } from '../errors.js';
import { sessionTimeText } from './email/format.js';
import { renderEmail, type EmailContext } from './email/templates.js';
import { waitlistPosition } from './capacity.js';
import { earlierRegistrations, inviteFor, linksFor, mailAddress } from './invites.js';
import { isPermanentSmtpFailure, type Mailer } from './mailer.js';
import type { Tokens } from './tokens.js';

export type DeliveryOutcome = 'sent' | 'skipped' | 'failed' | 'missing' | 'retry';

const ERROR_TEXT_LIMIT = 500;

export interface DeliveryDeps {
  db: Database;
  clock: Clock;
  tokens: Tokens;
  mailer: Mailer;
  config: Pick<Config, 'publicBaseUrl' | 'mailFrom'>;
  log?: Logger;
}

interface Loaded {
  notification: NotificationRow;
  session: SessionRow;
  registration: RegistrationRow | null;
  email: string | null;
}

/** Why a notification written earlier should no longer go out, judged on the state at send time. */
function staleReason({ notification, session, registration }: Loaded): string | null {
  if (!registration) return 'the registration no longer exists';
  const status = registration.status;
  switch (notification.kind) {
    case 'confirmation':
    case 'promoted':
      if (status !== 'confirmed') return `the registration is ${status}`;
      if (session.status === 'cancelled') return 'the session was cancelled';
      return null;
    case 'waitlisted':
      return status === 'waitlisted' ? null : `the registration is ${status}`;
    case 'manage_link':
      return status === 'cancelled' ? 'the registration was cancelled' : null;
    case 'session_updated':
      if (status !== 'confirmed') return `the registration is ${status}`;
      if (session.status === 'cancelled') return 'the session was cancelled';
      // A later change has its own update; this one would only repeat it.
      if (Number(notification.payload.sequence) !== session.sequence) return 'a later update supersedes it';
      return null;
    case 'registration_cancelled':
      return status === 'cancelled' ? null : 'the registration is active again';
    case 'reminder':
      if (status !== 'confirmed') return `the registration is ${status}`;
      if (session.status !== 'published') return `the session is ${session.status}`;
      if (String(notification.payload.startsAt) !== session.startsAt.toISOString()) return 'the session moved';
      return null;
    default:
      return null;
  }
}

function inviteMethod(notification: NotificationRow): 'REQUEST' | 'CANCEL' | null {
  switch (notification.kind) {
    case 'confirmation':
    case 'promoted':
    case 'session_updated':
      return 'REQUEST';
    case 'session_cancelled':
      return 'CANCEL';
    case 'registration_cancelled':
      return notification.payload.previousStatus === 'confirmed' ? 'CANCEL' : null;
    default:
      return null;
  }
}

function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').slice(0, ERROR_TEXT_LIMIT);
}

export function messageIdFor(notificationId: string, mailFrom: string): string {
  const domain = mailAddress(mailFrom).split('@')[1] ?? 'convene.localhost';
  return `<notification-${notificationId}@${domain}>`;
}

/**
 * Delivers one outbox row: reads the state at send time, renders the e-mail (and invite),
 * sends it, records the outcome. The Message-ID is derived from the row id, so a message sent
 * twice after a crash is recognisably the same message.
 */
export function createDeliveryService({ db, clock, tokens, mailer, config, log }: DeliveryDeps) {
  const uidDomain = new URL(config.publicBaseUrl).hostname;

  // One round trip for everything a delivery needs, prepared once per connection.
  const loadQuery = db
    .select({ notification: notifications, session: sessions, registration: registrations, email: attendees.email })
    .from(notifications)
    .innerJoin(sessions, eq(sessions.id, notifications.sessionId))
    .leftJoin(registrations, eq(registrations.id, notifications.registrationId))
    .leftJoin(attendees, eq(attendees.id, registrations.attendeeId))
    .where(eq(notifications.id, sql.placeholder('id')))
    .prepare('convene-load-notification');

  async function load(id: string): Promise<Loaded | null> {
    const [row] = await loadQuery.execute({ id });
    if (!row) return null;
    return { notification: row.notification, session: row.session, registration: row.registration, email: row.email };
  }

  async function mark(id: string, values: Partial<typeof notifications.$inferInsert>): Promise<void> {
    await db
      .update(notifications)
      .set({ ...values, updatedAt: clock.now() })
      .where(eq(notifications.id, id));
  }

  /**
   * `finalAttempt`: the queue will not retry after this one, so a temporary failure is final too.
   * Returns 'retry' after recording a temporary failure; the caller rethrows to get a retry.
   */
  async function deliver(id: string, options: { finalAttempt: boolean }): Promise<{ outcome: DeliveryOutcome; error?: unknown }> {
    const loaded = await load(id);
    if (!loaded) return { outcome: 'missing' };
    const { notification, session, registration, email } = loaded;
    if (notification.status === 'sent' || notification.status === 'failed' || notification.status === 'skipped') {
      return { outcome: notification.status };
    }
    // An erased person's placeholder address (erasure.service) is never mailed.
    const stale = staleReason(loaded) ?? (email?.endsWith('@invalid') ? 'erased' : null);
    if (stale || !registration || !email) {
      await mark(id, { status: 'skipped', lastError: stale ?? 'no recipient' });
      return { outcome: 'skipped' };
    }

    const now = clock.now();
    const links = linksFor(registration, tokens, config.publicBaseUrl);
    const method = inviteMethod(notification);
    const confirmedView = registration.status === 'confirmed' && session.status !== 'cancelled';
    const context: EmailContext = {
      kind: notification.kind,
      recipientName: registration.name,
      sessionTitle: session.title,
      timeText: sessionTimeText(session.startsAt, session.endsAt, session.timezone),
      manageLink: links.manageLink,
      joinLink: confirmedView ? links.joinLink : null,
      joinInstructions: session.joinInstructions,
      waitlistPosition: await waitlistPosition(db, registration),
      cancelReason: session.cancelReason,
      wasConfirmed: notification.payload.previousStatus === 'confirmed',
      contactName: session.contactName,
      contactEmail: session.contactEmail,
      reminderLead: typeof notification.payload.lead === 'string' ? notification.payload.lead : undefined,
      followUp: session.followUp ?? undefined,
    };
    const rendered = renderEmail(context);
    const invite = method
      ? {
          method,
          content: inviteFor({
            session,
            registration,
            email,
            method,
            registrationCancelled: notification.kind === 'registration_cancelled',
            earlier: await earlierRegistrations(db, registration),
            links,
            mailFrom: config.mailFrom,
            uidDomain,
            stamp: now,
          }),
        }
      : undefined;
    const messageId = messageIdFor(notification.id, config.mailFrom);
    try {
      await mailer.send({
        from: config.mailFrom,
        to: { name: registration.name, address: email },
        replyTo: { name: session.contactName, address: session.contactEmail },
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        messageId,
        invite,
        headers: { 'X-Convene-Notification': notification.kind, 'Auto-Submitted': 'auto-generated' },
      });
    } catch (error) {
      const permanent = isPermanentSmtpFailure(error) || options.finalAttempt;
      await mark(id, {
        status: permanent ? 'failed' : notification.status,
        attempts: notification.attempts + 1,
        lastError: errorText(error),
      });
      log?.warn({ notificationId: id, kind: notification.kind, permanent, err: { message: errorText(error) } }, 'e-mail not delivered');
      return { outcome: permanent ? 'failed' : 'retry', error };
    }
    await mark(id, { status: 'sent', attempts: notification.attempts + 1, lastError: null, messageId, sentAt: now });
    return { outcome: 'sent' };
  }

  return { deliver };
}

export type DeliveryService = ReturnType<typeof createDeliveryService>;

/** The organizer's delivery log of a session. */
export function createNotificationLog({ db }: { db: Database }) {
  async function list(sessionId: string, statuses: NotificationRow['status'][] | undefined, limit: number) {
    const [session] = await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, sessionId));
    if (!session) throw new NotFoundError('No session with this id');
    const conditions = [eq(notifications.sessionId, sessionId)];
    if (statuses && statuses.length > 0) conditions.push(inArray(notifications.status, statuses));
    return db
      .select({
        id: notifications.id,
        kind: notifications.kind,
        registrationId: notifications.registrationId,
        status: notifications.status,
        attempts: notifications.attempts,
        lastError: notifications.lastError,
        messageId: notifications.messageId,
        createdAt: notifications.createdAt,
        sentAt: notifications.sentAt,
        recipient: attendees.email,
      })
      .from(notifications)
      .leftJoin(registrations, eq(registrations.id, notifications.registrationId))
      .leftJoin(attendees, eq(attendees.id, registrations.attendeeId))
      .where(and(...conditions))
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(limit);
  }
  return { list };
}

