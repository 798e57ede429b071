import { sql, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import type { Clock } from '../clock.js';
import { invalidField } from '../errors.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import { normalizeEmail } from './email-address.js';

/**
 * The right to be forgotten, and retention. Erasing a person anonymises them in place: every
 * registration keeps its status, times and place in the counts (so capacity, waitlist order and
 * statistics stay right), but loses the name, organisation, job title and answers; the person's
 * address becomes a placeholder that cannot be reversed or mailed (`@invalid` is a reserved
 * name, and never passes `normalizeEmail`, so no real address can collide with one); every
 * token stops working; and e-mails not yet sent are dropped.
 */

export const ERASED_NAME = 'Erased attendee';

/** A fresh placeholder address per erasure, in SQL: random, so it says nothing about the person. */
const PLACEHOLDER_EMAIL = sql`'erased-' || gen_random_uuid()::text || '@invalid'`;

/**
 * The hash of a fresh random value, in the stored token-hash format (base64url of SHA-256).
 * No token has this hash, so the manage, join or feed link of the row stops working; the
 * version is raised as well, so a link derived again later is a different one.
 */
const RANDOM_TOKEN_HASH = sql`rtrim(translate(encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'base64'), '+/', '-_'), '=')`;

/** The LIKE pattern of every placeholder address. */
export const ERASED_ADDRESS_PATTERN = '%@invalid';

/** Whether an address is an erased person's placeholder (never mailed, never shown as a person's). */
export function isErasedAddress(email: string): boolean {
  return email.endsWith('@invalid');
}

/** Registrations that still carry personal data have an attendee (`a`) whose address is not a placeholder. */
export const NOT_ERASED = sql`a.email NOT LIKE ${sql.raw(`'${ERASED_ADDRESS_PATTERN}'`)}`;

export interface ErasureResult {
  /** Registrations anonymised. */
  affected: number;
  /** Pending or queued e-mails that will not be sent. */
  notificationsDropped: number;
}

export interface RetentionResult {
  sessions: number;
  registrations: number;
  attendeesRemoved: number;
}

/** Anonymises the personal fields of the given registrations and revokes their tokens. */
async function anonymiseRegistrations(tx: Executor, registrationIds: SQL, now: Date): Promise<{ registrations: number; notifications: number }> {
  const registrations = await tx.execute(sql`
    UPDATE registrations SET
      name = ${ERASED_NAME}, organization = NULL, job_title = NULL, answers = '{}'::jsonb,
      token_version = token_version + 1,
      manage_token_hash = ${RANDOM_TOKEN_HASH}, join_token_hash = ${RANDOM_TOKEN_HASH},
      updated_at = ${now}::timestamptz
    WHERE id IN (${registrationIds})`);
  // E-mails not yet sent would carry the name and go to the address: drop them. The BullMQ jobs
  // hold only the row id, and the worker skips a row that is no longer pending or queued.
  const notifications = await tx.execute(sql`
    UPDATE notifications SET status = 'skipped', last_error = 'erased', updated_at = ${now}::timestamptz
    WHERE registration_id IN (${registrationIds}) AND status IN ('pending', 'queued')`);
  return { registrations: registrations.rowCount ?? 0, notifications: notifications.rowCount ?? 0 };
}

export function createErasureService({ db, clock }: { db: Database; clock: Clock }) {
  /**
   * Erases one person, found by their address normalised as registration normalises it.
   * Idempotent: an unknown (or already erased) address changes nothing and answers `affected: 0`,
   * exactly like a known one otherwise, so the route never says whether someone registered.
   */
  async function erase(rawEmail: string, actor: AuditActor | null): Promise<ErasureResult> {
    const email = normalizeEmail(rawEmail);
    if (!email) throw invalidField('/email', 'must be an e-mail address');
    const now = clock.now();
    return db.transaction(async (tx) => {
      // The lock makes a concurrent registration of the same person wait for the erasure.
      const found = await tx.execute<{ id: string }>(sql`SELECT id FROM attendees WHERE email = ${email} FOR UPDATE`);
      const attendee = found.rows[0];
      let result: ErasureResult = { affected: 0, notificationsDropped: 0 };
      if (attendee) {
        const ids = sql`SELECT id FROM registrations WHERE attendee_id = ${attendee.id}::uuid`;
        const { registrations, notifications } = await anonymiseRegistrations(tx, ids, now);
        // Failure texts of sent mail can quote the address (a 550 naming the mailbox).
        await tx.execute(sql`
          UPDATE notifications SET last_error = 'details erased', updated_at = ${now}::timestamptz
          WHERE registration_id IN (${ids}) AND strpos(lower(last_error), ${email}) > 0`);
        await tx.execute(sql`
          UPDATE attendees SET
            email = ${PLACEHOLDER_EMAIL},
            feed_token_version = feed_token_version + 1,
            feed_token_hash = CASE WHEN feed_token_hash IS NULL THEN NULL ELSE ${RANDOM_TOKEN_HASH} END
          WHERE id = ${attendee.id}::uuid`);
        result = { affected: registrations, notificationsDropped: notifications };
      }
      // The entry names no one: the attendee id is a random key that, after this, leads to no address.
      await recordAudit(tx, {
        at: now,
        actor,
        action: 'attendee.erase',
        subjectType: 'attendee',
        subjectId: attendee?.id ?? null,
        details: { registrations: result.affected, notificationsDropped: result.notificationsDropped },
      });
      return result;
    });
  }

  /**
   * Retention: anonymises every registration of the sessions that ended more than `days` days
   * ago, in batches. Each batch moves its registrations to a placeholder attendee per person
   * (so "the same person" still holds within the anonymised data, but no address does), then
   * removes the people left with no registration at all. Returns what it did; running it again
   * finds nothing more to do.
   */
  async function applyRetention(days: number, options: { batchSize?: number } = {}): Promise<RetentionResult> {
    const now = clock.now();
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    const batchSize = options.batchSize ?? 2_000;
    const total: RetentionResult = { sessions: 0, registrations: 0, attendeesRemoved: 0 };
    const sessionsTouched = new Set<string>();
    for (;;) {
      const batch = await db.transaction(async (tx) => {
        const chosen = await tx.execute<{ id: string; session_id: string; attendee_id: string }>(sql`
          SELECT r.id, r.session_id, r.attendee_id
          FROM registrations r
          JOIN sessions s ON s.id = r.session_id
          JOIN attendees a ON a.id = r.attendee_id
          WHERE s.ends_at < ${cutoff}::timestamptz AND ${NOT_ERASED}
          ORDER BY r.id
          LIMIT ${batchSize}
          FOR UPDATE OF r SKIP LOCKED`);
        if (chosen.rows.length === 0) return null;
        const registrationIds = chosen.rows.map((row) => row.id);
        const people = [...new Set(chosen.rows.map((row) => row.attendee_id))];
        const idList = sql`SELECT unnest(${sql.param(registrationIds)}::uuid[])`;
        const { registrations } = await anonymiseRegistrations(tx, idList, now);
        // One placeholder attendee per person, and their old registrations moved to it.
        await tx.execute(sql`
          WITH people AS (
            SELECT person, gen_random_uuid() AS placeholder FROM unnest(${sql.param(people)}::uuid[]) AS person
          ),
          placeholders AS (
            INSERT INTO attendees (id, email, feed_token_version)
            SELECT placeholder, ${PLACEHOLDER_EMAIL}, 0 FROM people
          )
          UPDATE registrations r SET attendee_id = people.placeholder
          FROM people
          WHERE r.attendee_id = people.person AND r.id = ANY(${sql.param(registrationIds)}::uuid[])`);
        // People with no registration left: their row (the address) goes. The rows are locked
        // first, so a registration being written for them meanwhile commits before the check.
        await tx.execute(sql`SELECT id FROM attendees WHERE id = ANY(${sql.param(people)}::uuid[]) ORDER BY id FOR UPDATE`);
        const removed = await tx.execute(sql`
          DELETE FROM attendees a
          WHERE a.id = ANY(${sql.param(people)}::uuid[]) AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.attendee_id = a.id)`);
        for (const row of chosen.rows) sessionsTouched.add(row.session_id);
        return { registrations, attendeesRemoved: removed.rowCount ?? 0 };
      });
      if (!batch) break;
      total.registrations += batch.registrations;
      total.attendeesRemoved += batch.attendeesRemoved;
    }
    total.sessions = sessionsTouched.size;
    if (total.registrations > 0) {
      await recordAudit(db, {
        at: now,
        actor: null,
        action: 'retention.anonymise',
        subjectType: 'attendee',
        details: { retentionDays: days, endedBefore: cutoff.toISOString(), ...total },
      });
    }
    return total;
  }

  return { erase, applyRetention };
}

export type ErasureService = ReturnType<typeof createErasureService>;
