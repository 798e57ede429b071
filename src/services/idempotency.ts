import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { idempotencyKeys } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { ConflictError, DomainError, IdempotencyMismatchError, problem } from '../errors.js';

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export interface StoredAnswer {
  statusCode: number;
  /** The JSON text of the answer, the same bytes for the first answer and every replay. */
  bodyText: string;
  replayed: boolean;
}

/** A stable hash of a parsed body: the same JSON, whatever its key order or encoding. */
export function requestHash(body: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
      );
    }
    return value;
  };
  return createHash('sha256').update(JSON.stringify(canonical(body ?? null))).digest('base64url');
}

/**
 * Idempotency-Key semantics: the same key and body replay the first answer (errors included);
 * the same key with another body is 422; a key still being answered is 409; keys last 24 hours.
 */
export function createIdempotencyService({ db, clock }: { db: Database; clock: Clock }) {
  async function run(
    scope: string,
    key: string,
    hash: string,
    answer: () => Promise<{ statusCode: number; body: unknown }>,
  ): Promise<StoredAnswer> {
    const now = clock.now();
    const expiredBefore = new Date(now.getTime() - IDEMPOTENCY_TTL_MS);
    // Claims the key, or takes over one that has expired.
    const claimed = await db
      .insert(idempotencyKeys)
      .values({ scope, key, requestHash: hash, createdAt: now })
      .onConflictDoUpdate({
        target: [idempotencyKeys.scope, idempotencyKeys.key],
        set: { requestHash: hash, statusCode: null, responseBody: null, createdAt: now },
        setWhere: sql`${idempotencyKeys.createdAt} < ${expiredBefore}`,
      })
      .returning({ key: idempotencyKeys.key });

    if (claimed.length === 0) {
      const [stored] = await db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
      if (!stored) throw new ConflictError('This Idempotency-Key is being reused too quickly; retry');
      if (stored.requestHash !== hash) throw new IdempotencyMismatchError();
      if (stored.statusCode === null || stored.responseBody === null) {
        throw new ConflictError('A request with this Idempotency-Key is still in progress');
      }
      return { statusCode: stored.statusCode, bodyText: stored.responseBody, replayed: true };
    }

    const release = () => db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
    let result: { statusCode: number; body: unknown };
    try {
      result = await answer();
    } catch (error) {
      if (error instanceof DomainError && error.status < 500 && error.status !== 429) {
        result = { statusCode: error.status, body: problem(error.status, error.detail, error.errors) };
      } else {
        // A failure on our side must not be replayed: the client's retry should get a real try.
        await release().catch(() => undefined);
        throw error;
      }
    }
    const bodyText = JSON.stringify(result.body);
    await db
      .update(idempotencyKeys)
      .set({ statusCode: result.statusCode, responseBody: bodyText })
      .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
    return { statusCode: result.statusCode, bodyText, replayed: false };
  }

  async function purgeExpired(): Promise<number> {
    const cutoff = new Date(clock.now().getTime() - IDEMPOTENCY_TTL_MS);
    const deleted = await db.delete(idempotencyKeys).where(sql`${idempotencyKeys.createdAt} < ${cutoff}`).returning({ key: idempotencyKeys.key });
    return deleted.length;
  }

  return { run, purgeExpired };
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>;
