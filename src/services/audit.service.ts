import { and, desc, eq, gte, lt, or, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import { auditLog, type AuditRow } from '../../db/schema/index.js';
import { decodeKeysetCursor, encodeKeysetCursor } from './keyset-cursor.js';
import { isUuid } from '../ids.js';

/**
 * The audit log: who did what and when. Services record their own changes, inside the
 * transaction of the change where there is one, so a change and its entry commit together.
 * Entries never hold an attendee's personal data (names, e-mails, answers): ids, counts,
 * flags and field names only.
 */

/** The organizer who acted, as the routes know them; null or absent means the system. */
export interface AuditActor {
  id: string;
  email: string;
}

export type AuditSubject = 'session' | 'registration' | 'organizer' | 'attendee' | 'export' | 'settings' | 'message' | 'organisation' | 'series' | 'api_key' | 'webhook';

export interface AuditEntry {
  actor: AuditActor | null | undefined;
  action: string;
  subjectType: AuditSubject;
  subjectId?: string | null;
  details?: Record<string, unknown>;
  /** The service's clock; the database's now() when absent. */
  at?: Date;
}

/** Writes one entry with the given executor (a transaction, to commit with the change). */
export async function recordAudit(executor: Executor, entry: AuditEntry): Promise<void> {
  await executor.insert(auditLog).values({
    ...(entry.at ? { at: entry.at } : {}),
    actorId: entry.actor?.id ?? null,
    actorEmail: entry.actor?.email ?? null,
    action: entry.action,
    subjectType: entry.subjectType,
    subjectId: entry.subjectId ?? null,
    details: entry.details ?? {},
  });
}

export interface AuditFilter {
  from?: string;
  to?: string;
  /** An organizer id, or the e-mail they had when acting. */
  actor?: string;
  action?: string;
  limit: number;
  cursor?: string;
}

export interface AuditPage {
  items: AuditRow[];
  nextCursor: string | null;
}

export function createAuditService({ db }: { db: Database }) {
  /** Newest first, with a keyset cursor on (at, id), so pages stay stable while entries are added. */
  async function list(filter: AuditFilter): Promise<AuditPage> {
    const conditions: SQL[] = [];
    if (filter.from) conditions.push(gte(auditLog.at, new Date(filter.from)));
    if (filter.to) conditions.push(lt(auditLog.at, new Date(filter.to)));
    if (filter.actor) {
      const actor = filter.actor.trim();
      conditions.push(isUuid(actor) ? eq(auditLog.actorId, actor.toLowerCase()) : eq(auditLog.actorEmail, actor.normalize('NFC').toLowerCase()));
    }
    if (filter.action) conditions.push(eq(auditLog.action, filter.action));
    if (filter.cursor) {
      const { at, id } = decodeKeysetCursor(filter.cursor);
      conditions.push(or(lt(auditLog.at, at), and(eq(auditLog.at, at), lt(auditLog.id, id)))!);
    }
    const rows = await db
      .select()
      .from(auditLog)
      .where(and(...conditions))
      .orderBy(desc(auditLog.at), desc(auditLog.id))
      .limit(filter.limit + 1);
    const items = rows.slice(0, filter.limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > filter.limit && last ? encodeKeysetCursor(last) : null };
  }

  return { record: (entry: AuditEntry) => recordAudit(db, entry), list };
}

export type AuditService = ReturnType<typeof createAuditService>;
