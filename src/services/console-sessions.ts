import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq, lt, or, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Database } from '../../db/client.js';
import { consoleSessions, organizers } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import type { Organizer, OrganizersService } from './organizers.service.js';
import { hashToken } from './tokens.js';

/**
 * Signed-in browsers of the organizer console (table console_sessions). The cookie holds a
 * random id of 256 bits; the database keeps only its SHA-256, so a copy of the table signs
 * nobody in. A session ends:
 * - 8 hours after it was last seen (idle) or 7 days after it began (in all);
 * - at sign-out (the row is deleted);
 * - when the organizer is disabled or its token version moves on (password change, logout
 *   everywhere, disabling): the row keeps the version it began with.
 * An ended session's row is deleted when it is next presented, and `purgeEnded` removes the rest.
 *
 * The CSRF token of a session is an HMAC of the row's id under a key derived from the token
 * secret: tied to the session, never stored, and useless to anyone without the server's key.
 */

export const CONSOLE_IDLE_MS = 8 * 60 * 60 * 1000;
export const CONSOLE_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;
/** `last_seen_at` is written at most this often per session, not on every request. */
export const CONSOLE_TOUCH_MS = 60 * 1000;

const ID_BYTES = 32; // 256 bits, 43 URL-safe characters
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface ConsoleSession {
  /** The row's id (never the cookie's value). */
  id: string;
  organizer: Organizer;
  /** The `_csrf` value every POST of this session must carry. */
  csrf: string;
  createdAt: Date;
  lastSeenAt: Date;
}

export interface ConsoleSessionsDeps {
  db: Database;
  clock: Clock;
  /** The token secret (TOKEN_SECRET, or derived from JWT_SECRET); the CSRF key is derived from it. */
  secret: string;
  /** The account behind a session, read as the API's token check reads it (cached about a second, forgotten at each change). */
  organizers: Pick<OrganizersService, 'findForToken'>;
  /**
   * How long a session's row may be trusted without reading it again. The row holds nothing
   * that ends it except its own deletion (sign-out forgets it here at once; a purge by the
   * worker is seen this late); disabling and password changes are judged on the account.
   */
  rowCacheMs?: number;
}

interface SessionRowFacts {
  id: string;
  organizerId: string;
  tokenVersion: number;
  createdAt: Date;
  lastSeenAt: Date;
}

export function createConsoleSessions({ db, clock, secret, organizers: accounts, rowCacheMs = 1_000 }: ConsoleSessionsDeps) {
  // Every console page resolves its session first; measured with `npm run bench console`, the
  // row's read was the one query the page made that the API's JSON list did not.
  const rows = rowCacheMs > 0 ? new LRUCache<string, SessionRowFacts>({ max: 10_000, ttl: rowCacheMs }) : null;
  const csrfKey = createHmac('sha256', secret).update('convene-console-csrf').digest();

  function csrfOf(sessionId: string): string {
    return createHmac('sha256', csrfKey).update(sessionId).digest('base64url');
  }

  /** Whether `value` is the CSRF token of the session (compared in constant time). */
  function csrfMatches(session: Pick<ConsoleSession, 'id'>, value: unknown): boolean {
    if (typeof value !== 'string') return false;
    const expected = Buffer.from(csrfOf(session.id));
    const given = Buffer.from(value);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Starts a session for an organizer who has just proved its password; the id goes in the cookie. */
  async function create(organizer: Organizer): Promise<{ cookieValue: string; session: ConsoleSession }> {
    const cookieValue = randomBytes(ID_BYTES).toString('base64url');
    const now = clock.now();
    const [row] = await db
      .insert(consoleSessions)
      .values({ tokenHash: hashToken(cookieValue), organizerId: organizer.id, tokenVersion: organizer.tokenVersion, createdAt: now, lastSeenAt: now })
      .returning({ id: consoleSessions.id });
    return { cookieValue, session: { id: row!.id, organizer, csrf: csrfOf(row!.id), createdAt: now, lastSeenAt: now } };
  }

  /**
   * The live session a cookie names, with its organizer, or null. An ended session
   * is deleted on the way. `last_seen_at` moves when it is more than a minute old.
   */
  async function resolve(cookieValue: string | undefined): Promise<ConsoleSession | null> {
    if (!cookieValue || !ID_PATTERN.test(cookieValue)) return null;
    const tokenHash = hashToken(cookieValue);
    let row = rows?.get(tokenHash);
    if (!row) {
      [row] = await db
        .select({
          id: consoleSessions.id,
          organizerId: consoleSessions.organizerId,
          tokenVersion: consoleSessions.tokenVersion,
          createdAt: consoleSessions.createdAt,
          lastSeenAt: consoleSessions.lastSeenAt,
        })
        .from(consoleSessions)
        .where(eq(consoleSessions.tokenHash, tokenHash));
      if (!row) return null;
      rows?.set(tokenHash, row);
    }
    const organizer = await accounts.findForToken(row.organizerId);
    const now = clock.now().getTime();
    const ended =
      !organizer ||
      now - row.lastSeenAt.getTime() >= CONSOLE_IDLE_MS ||
      now - row.createdAt.getTime() >= CONSOLE_LIFETIME_MS ||
      organizer.disabledAt !== null ||
      organizer.tokenVersion !== row.tokenVersion;
    if (ended) {
      rows?.delete(tokenHash);
      await db.delete(consoleSessions).where(eq(consoleSessions.id, row.id));
      return null;
    }
    if (now - row.lastSeenAt.getTime() >= CONSOLE_TOUCH_MS) {
      row = { ...row, lastSeenAt: new Date(now) };
      rows?.set(tokenHash, row);
      await db.update(consoleSessions).set({ lastSeenAt: row.lastSeenAt }).where(eq(consoleSessions.id, row.id));
    }
    return { id: row.id, organizer, csrf: csrfOf(row.id), createdAt: row.createdAt, lastSeenAt: row.lastSeenAt };
  }

  /** Sign-out: the session's row is deleted, so its cookie opens nothing any more. */
  async function end(sessionId: string): Promise<void> {
    for (const [tokenHash, row] of rows?.entries() ?? []) if (row.id === sessionId) rows?.delete(tokenHash);
    await db.delete(consoleSessions).where(eq(consoleSessions.id, sessionId));
  }

  return { create, resolve, end, purgeEnded: () => purgeEndedConsoleSessions(db, clock.now()), csrfMatches };
}

export type ConsoleSessions = ReturnType<typeof createConsoleSessions>;

/**
 * Deletes the rows of sessions that ended by time or by a token version that moved on; returns
 * how many. The worker's hourly maintenance job runs it (it needs no secret, unlike the rest of
 * the service).
 */
export async function purgeEndedConsoleSessions(db: Database, now: Date): Promise<number> {
  const deleted = await db
    .delete(consoleSessions)
    .where(
      or(
        lt(consoleSessions.lastSeenAt, new Date(now.getTime() - CONSOLE_IDLE_MS)),
        lt(consoleSessions.createdAt, new Date(now.getTime() - CONSOLE_LIFETIME_MS)),
        sql`EXISTS (SELECT 1 FROM ${organizers} WHERE ${organizers.id} = ${consoleSessions.organizerId} AND (${organizers.disabledAt} IS NOT NULL OR ${organizers.tokenVersion} <> ${consoleSessions.tokenVersion}))`,
      ),
    )
    .returning({ id: consoleSessions.id });
  return deleted.length;
}
