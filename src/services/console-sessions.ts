import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { consoleSessions, organizers } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import type { Organizer } from './organizers.service.js';
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
}

export function createConsoleSessions({ db, clock, secret }: ConsoleSessionsDeps) {
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
   * The live session a cookie names, with its organizer (one query), or null. An ended session
   * is deleted on the way. `last_seen_at` moves when it is more than a minute old.
   */
  async function resolve(cookieValue: string | undefined): Promise<ConsoleSession | null> {
    if (!cookieValue || !ID_PATTERN.test(cookieValue)) return null;
    const [row] = await db
      .select({
        id: consoleSessions.id,
        tokenVersion: consoleSessions.tokenVersion,
        createdAt: consoleSessions.createdAt,
        lastSeenAt: consoleSessions.lastSeenAt,
        organizer: {
          id: organizers.id,
          email: organizers.email,
          name: organizers.name,
          role: organizers.role,
          disabledAt: organizers.disabledAt,
          tokenVersion: organizers.tokenVersion,
          createdAt: organizers.createdAt,
        },
      })
      .from(consoleSessions)
      .innerJoin(organizers, eq(organizers.id, consoleSessions.organizerId))
      .where(eq(consoleSessions.tokenHash, hashToken(cookieValue)));
    if (!row) return null;
    const now = clock.now().getTime();
    const ended =
      now - row.lastSeenAt.getTime() >= CONSOLE_IDLE_MS ||
      now - row.createdAt.getTime() >= CONSOLE_LIFETIME_MS ||
      row.organizer.disabledAt !== null ||
      row.organizer.tokenVersion !== row.tokenVersion;
    if (ended) {
      await db.delete(consoleSessions).where(eq(consoleSessions.id, row.id));
      return null;
    }
    let lastSeenAt = row.lastSeenAt;
    if (now - lastSeenAt.getTime() >= CONSOLE_TOUCH_MS) {
      lastSeenAt = new Date(now);
      await db.update(consoleSessions).set({ lastSeenAt }).where(eq(consoleSessions.id, row.id));
    }
    return { id: row.id, organizer: row.organizer, csrf: csrfOf(row.id), createdAt: row.createdAt, lastSeenAt };
  }

  /** Sign-out: the session's row is deleted, so its cookie opens nothing any more. */
  async function end(sessionId: string): Promise<void> {
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
