import { randomUUID } from 'node:crypto';
import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import { MESSAGE_AUDIENCES, sessionMessages, sessions, type MessageAudience, type SessionMessageRow } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { singleLine } from '../text.js';
import { BadRequestError, ConflictError, NotFoundError } from '../errors.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import { renderMessageSample } from './notifications/delivery.js';
import { kinds } from './notifications/kinds.js';
import { mailAddress } from './notifications/mailer.js';
import { outboxValues } from './notifications/outbox.js';
import type { OutboxRelay } from './notifications/relay.js';
import type { RenderedEmail } from './notifications/templates.js';
import type { Branding } from './settings.service.js';
import { NOT_ERASED } from './erasure.service.js';

export const MESSAGE_SUBJECT_MAX_LENGTH = 200;
export const MESSAGE_BODY_MAX_LENGTH = 20_000;

export interface MessageInput {
  subject: string;
  body: string;
  audience: MessageAudience;
  /** Send it to the calling organizer alone. */
  test?: boolean;
}

export interface MessageSummary extends SessionMessageRow {
  pending: number;
  sent: number;
  failed: number;
  /** Not sent because the person left meanwhile (or was erased). */
  skipped: number;
}

/** Of a registration `r` (and its attendee `a`): who each audience is. Attendance exists only once the session started. */
function audienceCondition(audience: MessageAudience): SQL {
  const came = sql`(r.checked_in_at IS NOT NULL OR r.first_joined_at IS NOT NULL)`;
  switch (audience) {
    case 'confirmed':
    case 'waitlisted':
    case 'pending':
      return sql`r.status = ${audience}::registration_status`;
    case 'attended':
      return sql`r.status = 'confirmed' AND ${came}`;
    case 'no-show':
      return sql`r.status = 'confirmed' AND NOT ${came}`;
    case 'all':
      return sql`r.status IN ('confirmed', 'waitlisted', 'pending', 'offered')`;
  }
}


/**
 * Messages from a session's organizers to its people: one outbox row per recipient, written with
 * the message in one transaction (dedupe key: message and registration, so writing or delivering
 * it twice reaches nobody twice), delivered in batches like reminders (bulk: never ahead of a
 * confirmation). The subject and body are read from the message row when each e-mail goes.
 */
export function createMessagesService({
  db,
  clock,
  outbox,
  branding,
  config,
}: {
  db: Database;
  clock: Clock;
  outbox: OutboxRelay;
  /** The organisation's branding, as the e-mails carry it (settings.branding). */
  branding: () => Promise<Branding>;
  config: Pick<Config, 'publicBaseUrl' | 'joinWindowMinutes' | 'mailFrom'>;
}) {
  async function sessionOf(tx: Executor, sessionId: string) {
    const [session] = await tx.select({ id: sessions.id, startsAt: sessions.startsAt, status: sessions.status }).from(sessions).where(eq(sessions.id, sessionId));
    if (!session) throw new NotFoundError('No session with this id');
    return session;
  }

  /**
   * The message as its recipients will read it (the same template, branding and escaping as the
   * e-mail), before it is sent; checked as a send would check it.
   */
  async function preview(sessionId: string, input: Pick<MessageInput, 'subject' | 'body'>): Promise<RenderedEmail & { from: { name: string; address: string } }> {
    const message = check(input);
    const [session] = await db.select().from(sessions).where(eq(sessions.id, sessionId));
    if (!session) throw new NotFoundError('No session with this id');
    const current = await branding();
    const rendered = await renderMessageSample({ session, message: { ...message, test: false }, branding: current, config, now: clock.now() });
    return { ...rendered, from: { name: singleLine(current.mailFromName), address: mailAddress(config.mailFrom) } };
  }

  function check(input: Pick<MessageInput, 'subject' | 'body'>): { subject: string; body: string } {
    const subject = input.subject.replace(/\s+/g, ' ').trim();
    const body = input.body.replace(/\r\n?/g, '\n').trim();
    const errors = [];
    if (!subject) errors.push({ path: '/subject', message: 'is required' });
    else if (subject.length > MESSAGE_SUBJECT_MAX_LENGTH) errors.push({ path: '/subject', message: `must be at most ${MESSAGE_SUBJECT_MAX_LENGTH} characters (it has ${subject.length})` });
    if (!body) errors.push({ path: '/body', message: 'is required' });
    else if (body.length > MESSAGE_BODY_MAX_LENGTH) {
      errors.push({ path: '/body', message: `must be at most ${MESSAGE_BODY_MAX_LENGTH.toLocaleString('en-US')} characters (it has ${body.length.toLocaleString('en-US')})` });
    }
    if (errors.length > 0) throw new BadRequestError('The message is not valid', errors);
    return { subject, body };
  }

  function checkAudience(audience: MessageAudience, startsAt: Date, now: Date): void {
    if ((audience === 'attended' || audience === 'no-show') && startsAt.getTime() > now.getTime()) {
      throw new ConflictError('Who attended is known only once the session has started');
    }
  }

  /**
   * How many people each audience reaches now (the composer shows it before sending), in one
   * query; attended and no-show are null before the start, when they mean nothing yet.
   */
  async function audienceCounts(sessionId: string): Promise<Record<MessageAudience, number | null>> {
    const session = await sessionOf(db, sessionId);
    const started = session.startsAt.getTime() <= clock.now().getTime();
    const counted = (audience: MessageAudience) => sql`count(*) FILTER (WHERE ${audienceCondition(audience)})::int`;
    const result = await db.execute<Record<MessageAudience, number>>(sql`
      SELECT ${sql.join(
        MESSAGE_AUDIENCES.map((audience) => sql`${counted(audience)} AS ${sql.identifier(audience)}`),
        sql`, `,
      )}
      FROM registrations r JOIN attendees a ON a.id = r.attendee_id
      WHERE r.session_id = ${sessionId} AND ${NOT_ERASED}`);
    const row = result.rows[0]!;
    return Object.fromEntries(
      MESSAGE_AUDIENCES.map((audience) => [audience, !started && (audience === 'attended' || audience === 'no-show') ? null : row[audience]]),
    ) as Record<MessageAudience, number | null>;
  }

  /**
   * Sends a message (or its test to `organizer` alone). `id`: the caller's id for it (a form's
   * hidden field), so a submit repeated by the browser or a retry writes it once; a second send
   * with the same id answers the first one's row and writes nothing.
   */
  async function send(
    sessionId: string,
    input: MessageInput,
    organizer: { id: string; email: string },
    actor?: AuditActor | null,
    id: string = randomUUID(),
  ): Promise<SessionMessageRow> {
    const { subject, body } = check(input);
    const now = clock.now();
    const test = input.test === true;
    const row = await db.transaction(async (tx) => {
      const session = await sessionOf(tx, sessionId);
      if (session.status === 'cancelled') throw new ConflictError('This session has been cancelled');
      checkAudience(input.audience, session.startsAt, now);
      const [created] = await tx
        .insert(sessionMessages)
        .values({ id, sessionId, subject, body, audience: input.audience, recipients: 0, testTo: test ? organizer.email : null, sentBy: organizer.id, createdAt: now })
        .onConflictDoNothing()
        .returning();
      if (!created) {
        const [existing] = await tx.select().from(sessionMessages).where(and(eq(sessionMessages.id, id), eq(sessionMessages.sessionId, sessionId)));
        if (!existing) throw new ConflictError('This message id is already used');
        return existing;
      }
      const columns = sql`(kind, session_id, registration_id, dedupe_key, payload, created_at, updated_at, session_message_id)`;
      const written = test
        ? await tx.execute(sql`
            INSERT INTO notifications ${columns}
            VALUES (${kinds.message.name}::notification_kind, ${sessionId}::uuid, NULL, ${`message-test:${id}`}::text, '{}'::jsonb, ${now}::timestamptz, ${now}::timestamptz, ${id}::uuid)`)
        : await tx.execute(sql`
            INSERT INTO notifications ${columns}
            SELECT ${outboxValues(sql`${sessionId}::uuid`, kinds.message.row(sql`r.id`, { messageId: sql`${id}::text` }), sql`${now}::timestamptz`)}, ${id}::uuid
            FROM registrations r JOIN attendees a ON a.id = r.attendee_id
            WHERE r.session_id = ${sessionId} AND ${audienceCondition(input.audience)} AND ${NOT_ERASED}
            ON CONFLICT (dedupe_key) DO NOTHING`);
      const recipients = written.rowCount ?? 0;
      const [sent] = await tx.update(sessionMessages).set({ recipients }).where(eq(sessionMessages.id, id)).returning();
      // Who sent what to how many; never the recipients or the words.
      const details = { sessionId, audience: input.audience, recipients, test };
      await recordAudit(tx, { at: now, actor, action: test ? 'message.test' : 'message.send', subjectType: 'message', subjectId: id, details });
      return sent!;
    });
    outbox.kick();
    return row;
  }

  /** The session's messages, newest first (tests included, marked), with their delivery counts. */
  async function list(sessionId: string): Promise<MessageSummary[]> {
    await sessionOf(db, sessionId);
    return summaries(eq(sessionMessages.sessionId, sessionId));
  }

  /** Messages with their delivery counts (one query: a count per status for each message). */
  async function summaries(where: SQL | undefined): Promise<MessageSummary[]> {
    const counted = (statuses: string) => sql<number>`(SELECT count(*)::int FROM notifications n
      WHERE n.session_message_id = session_messages.id AND n.status::text IN (${sql.raw(statuses)}))`;
    const rows = await db
      .select({
        message: sessionMessages,
        pending: counted(`'pending', 'queued'`),
        sent: counted(`'sent'`),
        failed: counted(`'failed'`),
        skipped: counted(`'skipped'`),
      })
      .from(sessionMessages)
      .where(where)
      .orderBy(desc(sessionMessages.createdAt), desc(sessionMessages.id));
    return rows.map(({ message, ...counts }) => ({ ...message, ...counts }));
  }

  async function get(sessionId: string, messageId: string): Promise<MessageSummary> {
    // Looked up in this session only: another session's message is "not found".
    const [found] = await summaries(and(eq(sessionMessages.sessionId, sessionId), eq(sessionMessages.id, messageId)));
    if (!found) throw new NotFoundError('No such message in this session');
    return found;
  }

  return { audienceCounts, preview, send, list, get };
}

export type MessagesService = ReturnType<typeof createMessagesService>;
