import { and, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { notifications } from '../../db/schema/index.js';
import { kinds } from './notifications/kinds.js';

/** A session as it was before a change, from the update e-mail's outbox row. */
export interface PreviousSession {
  title: string;
  startsAt: Date;
  endsAt: Date;
  timezone: string;
}

/** The latest change of a session that a registration was told about by e-mail. */
export interface SessionChange {
  changedAt: Date;
  /** null when the row does not say (rows written before the update e-mail carried it). */
  previous: PreviousSession | null;
}

/** What a stored `previous` may look like: ISO strings in jsonb, or dates. */
interface StoredPrevious {
  title?: unknown;
  startsAt?: unknown;
  endsAt?: unknown;
  timezone?: unknown;
}

function instantOf(value: unknown): Date | null {
  if (!(typeof value === 'string' || value instanceof Date)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function previousOf(stored: StoredPrevious | null | undefined): PreviousSession | null {
  if (!stored || typeof stored !== 'object') return null;
  const startsAt = instantOf(stored.startsAt);
  const endsAt = instantOf(stored.endsAt);
  const { title, timezone } = stored;
  if (!startsAt || !endsAt || typeof title !== 'string' || typeof timezone !== 'string') return null;
  return { title, startsAt, endsAt, timezone };
}

/**
 * "What changed since I registered?" for the manage page: read from the registration's latest
 * session_updated outbox row (whatever its delivery status: a superseded e-mail still records a
 * change), so the page says what the e-mail said.
 */
export function createSessionChanges({ db }: { db: Database }) {
  async function latestFor(registrationId: string): Promise<SessionChange | null> {
    const [row] = await db
      .select({ payload: notifications.payload, createdAt: notifications.createdAt })
      .from(notifications)
      .where(and(eq(notifications.registrationId, registrationId), eq(notifications.kind, 'session_updated')))
      .orderBy(desc(notifications.createdAt), desc(sql`(${notifications.payload}->>'sequence')::int`))
      .limit(1);
    if (!row) return null;
    const parsed: { previous?: StoredPrevious | null } = kinds.session_updated.parse(row.payload);
    return { changedAt: row.createdAt, previous: previousOf(parsed.previous) };
  }

  return { latestFor };
}

export type SessionChanges = ReturnType<typeof createSessionChanges>;
