import { createHash, randomBytes } from 'node:crypto';
import { and, count, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { apiKeys, organizers, type ApiKeyRow } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { ConflictError, invalidField, NotFoundError } from '../errors.js';
import { isUuid } from '../ids.js';
import { recordAudit, type AuditActor } from './audit.service.js';

/**
 * API keys (api.md "API keys and webhooks"): an organizer's credential for integrations, sent as
 * `Authorization: Bearer cvk_...` and acting as its organizer. The key is shown once, when made;
 * only its SHA-256 is stored, so a copy of the database holds no usable key. Every use reads the
 * row (no cache), so a deleted key, or the key of a disabled organizer, is refused at once.
 */

/** Every key starts with this, so a bearer credential is told from a JWT (and spotted by secret scanners). */
export const API_KEY_PREFIX = 'cvk_';
export const API_KEY_NAME_MAX_LENGTH = 100;
export const API_KEYS_PER_ORGANIZER_MAX = 20;
/** Random bytes per key: 256 bits, above the 192 api.md asks for. */
const KEY_BYTES = 32;
/** How much of the key lists show (`cvk_` and 8 random characters: 48 bits, enough to tell keys apart, too few to guess the rest). */
const SHOWN_PREFIX_LENGTH = 12;
/** `cvk_` and the base64url of 32 bytes (43 characters, no padding): anything else is no key of ours. */
const KEY_FORMAT = /^cvk_[A-Za-z0-9_-]{43}$/;
/** A busy integration would otherwise write the row on every request. */
const LAST_USE_RESOLUTION = '1 minute';

export interface ApiKey {
  id: string;
  name: string;
  /** The key's first characters, to tell keys apart. */
  prefix: string;
  createdAt: Date;
  /** Null until first used; updated at most once a minute. */
  lastUsedAt: Date | null;
}

/** A key as made: the only time the secret itself is known. */
export interface NewApiKey extends ApiKey {
  key: string;
}

function toApiKey(row: ApiKeyRow): ApiKey {
  return { id: row.id, name: row.name, prefix: row.prefix, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt };
}

/** The stored form of a key: SHA-256, base64url. The key has 256 random bits, so a slow hash would add nothing. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('base64url');
}

/** The name as stored (trimmed), or the field error the API and the console's form both show. */
function nameOf(raw: string): string {
  const name = raw.trim();
  if (!name) throw invalidField('/name', 'is required');
  if (name.length > API_KEY_NAME_MAX_LENGTH) throw invalidField('/name', `must be at most ${API_KEY_NAME_MAX_LENGTH} characters`);
  return name;
}

export function createApiKeysService({ db, clock }: { db: Database; clock: Clock }) {
  /** A new key for the organizer; 409 beyond API_KEYS_PER_ORGANIZER_MAX. Audited as `api_key.create`. */
  async function create(organizer: AuditActor, rawName: string): Promise<NewApiKey> {
    const name = nameOf(rawName);
    const key = `${API_KEY_PREFIX}${randomBytes(KEY_BYTES).toString('base64url')}`;
    const now = clock.now();
    const row = await db.transaction(async (tx) => {
      // The organizer's row, locked, serialises their concurrent creations, so two cannot both
      // pass the count at 19. NO KEY UPDATE does not wait for foreign-key checks of other tables.
      await tx.select({ id: organizers.id }).from(organizers).where(eq(organizers.id, organizer.id)).for('no key update');
      const [held] = await tx.select({ n: count() }).from(apiKeys).where(eq(apiKeys.organizerId, organizer.id));
      if ((held?.n ?? 0) >= API_KEYS_PER_ORGANIZER_MAX) {
        throw new ConflictError(`You have ${API_KEYS_PER_ORGANIZER_MAX} API keys, the most one may have: delete one you no longer use first`);
      }
      const [created] = await tx
        .insert(apiKeys)
        .values({ organizerId: organizer.id, name, keyHash: hashApiKey(key), prefix: key.slice(0, SHOWN_PREFIX_LENGTH), createdAt: now })
        .returning();
      await recordAudit(tx, { at: now, actor: organizer, action: 'api_key.create', subjectType: 'api_key', subjectId: created!.id, details: { name } });
      return created!;
    });
    return { ...toApiKey(row), key };
  }

  /** The organizer's own keys, newest first (never the secret or its hash). */
  async function list(organizerId: string): Promise<ApiKey[]> {
    const rows = await db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.organizerId, organizerId))
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
    return rows.map(toApiKey);
  }

  /** One of the organizer's keys; another organizer's key is 404, as one that does not exist. */
  async function get(organizerId: string, id: string): Promise<ApiKey> {
    if (!isUuid(id)) throw new NotFoundError('No API key with this id');
    const [row] = await db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.id, id), eq(apiKeys.organizerId, organizerId)));
    if (!row) throw new NotFoundError('No API key with this id');
    return toApiKey(row);
  }

  /** Deletes one of the organizer's keys (it is refused from the next request on). Audited as `api_key.delete`. */
  async function remove(organizer: AuditActor, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('No API key with this id');
    await db.transaction(async (tx) => {
      const [deleted] = await tx
        .delete(apiKeys)
        .where(and(eq(apiKeys.id, id), eq(apiKeys.organizerId, organizer.id)))
        .returning({ id: apiKeys.id, name: apiKeys.name });
      if (!deleted) throw new NotFoundError('No API key with this id');
      await recordAudit(tx, { at: clock.now(), actor: organizer, action: 'api_key.delete', subjectType: 'api_key', subjectId: id, details: { name: deleted.name } });
    });
  }

  /**
   * The organizer a key acts for, or null for anything that is not a live key of an enabled
   * organizer (a malformed key costs no query). One statement finds the key and records its use,
   * at most once a minute: the UPDATE's condition is checked again on the locked row, so two
   * requests at the same moment write once.
   */
  async function authenticate(key: string): Promise<string | null> {
    if (!KEY_FORMAT.test(key)) return null;
    const now = clock.now().toISOString();
    const { rows } = await db.execute<{ organizer_id: string }>(sql`
      WITH found AS (
        SELECT k.id, k.organizer_id
        FROM ${apiKeys} k
        JOIN ${organizers} o ON o.id = k.organizer_id
        WHERE k.key_hash = ${hashApiKey(key)} AND o.disabled_at IS NULL
      ), used AS (
        UPDATE ${apiKeys} SET last_used_at = ${now}::timestamptz
        FROM found
        WHERE ${apiKeys}.id = found.id
          AND (${apiKeys}.last_used_at IS NULL OR ${apiKeys}.last_used_at <= ${now}::timestamptz - ${LAST_USE_RESOLUTION}::interval)
      )
      SELECT organizer_id FROM found
    `);
    return rows[0]?.organizer_id ?? null;
  }

  return { create, list, get, remove, authenticate };
}

export type ApiKeysService = ReturnType<typeof createApiKeysService>;
