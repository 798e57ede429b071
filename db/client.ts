import { sql, type Column, type SQL } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { userInfo } from 'node:os';
import pg from 'pg';
import type { Logger } from 'pino';
import { isConnectionError } from './errors.js';
import * as schema from './schema/index.js';

export type Database = NodePgDatabase<typeof schema> & { $client: pg.Pool };
/** A database handle or an open transaction on it: services accept either. */
export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * `column = ANY($n::uuid[])`: the ids travel as one array parameter, so the statement has the same
 * shape for 1 id or 500 (inArray binds a parameter per id).
 */
export function anyUuid(column: Column, ids: string[]): SQL {
  return sql`${column} = ANY(${sql.param(ids)}::uuid[])`;
}

export interface DbHandle {
  db: Database;
  pool: pg.Pool;
}

export interface CreateDbOptions {
  max?: number;
  /** Wait for a free connection at most this long (then the query fails and the request gets 503). */
  acquireTimeoutMs?: number;
  /** Called for errors of idle clients (a restarted server), which would otherwise crash the process. */
  onPoolError?: (error: Error) => void;
  statementTimeoutMs?: number;
}

/**
 * Like psql, a URL without a user name connects as the operating-system user; node-postgres
 * would otherwise need $USER, which services and containers often lack.
 */
export function withDefaultUser(url: string): string {
  const parsed = new URL(url);
  if (parsed.username) return url;
  parsed.username = encodeURIComponent(userInfo().username);
  return parsed.toString();
}

/** Creates the pool lazily: no connection is made until the first query. */
export function createDb(url: string, options: CreateDbOptions = {}): DbHandle {
  const pool = new pg.Pool({
    connectionString: withDefaultUser(url),
    max: options.max ?? 20,
    connectionTimeoutMillis: options.acquireTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    application_name: 'convene',
  });
  pool.on('error', (error) => options.onPoolError?.(error));
  const db = drizzle(pool, { schema });
  db.transaction = transactionsOnAClientOfTheirOwn(pool);
  return { db, pool };
}

/** The service's pool as its configuration sets it: the process opens one, and so does the worker thread of `--role all`. */
export function openDatabase(
  config: { databaseUrl: string; databasePoolSize: number; databaseAcquireTimeoutMs: number },
  log: Pick<Logger, 'warn'>,
): DbHandle {
  return createDb(config.databaseUrl, {
    max: config.databasePoolSize,
    acquireTimeoutMs: config.databaseAcquireTimeoutMs,
    onPoolError: (err) => log.warn({ err }, 'idle database connection failed'),
  });
}

/**
 * Runs `work` on a client of its own from the pool and always gives the client back: destroyed
 * when its connection failed, or when `work` says so (`discard`). While it is held the client has an error listener: a server that
 * ends the connection between two statements (a restart, pg_terminate_backend; its goodbye can
 * arrive in the same read as the answer before it) fails the work instead of raising an 'error'
 * event nobody listens to, which would end the process.
 */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient, discard: (error: Error) => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    return await work(client, onError);
  } catch (error) {
    if (isConnectionError(error)) broken ??= error as Error;
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/**
 * `work` in a transaction on a client of its own (withClient): `begin` opens it (BEGIN, and any
 * SET LOCAL), COMMIT ends it, and any failure rolls it back. A client whose ROLLBACK fails leaves
 * the pool rather than go back to it still inside the transaction. For statements that need the
 * client itself (named prepared statements, several statements in one query); the rest of the
 * code takes `db.transaction`.
 */
export function inClientTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  return withClient(pool, async (client, discard) => {
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(discard);
      throw error;
    }
  });
}

/**
 * drizzle-orm 0.45's pooled transaction() sends BEGIN before the try whose finally releases its
 * client (drizzle-team/drizzle-orm#6241, open): a BEGIN on a connection that died in the pool (a
 * restarted or overloaded server, pg_terminate_backend) never gives its client back, and after
 * `max` such failures every query waits for a connection that never comes; nor does it listen
 * for the client's errors. So a transaction takes its client through withClient and runs
 * drizzle's transaction on that one client, which leaves the client alone.
 */
function transactionsOnAClientOfTheirOwn(pool: pg.Pool): Database['transaction'] {
  const onClient = new WeakMap<pg.PoolClient, NodePgDatabase<typeof schema>>();
  return (run, config) =>
    withClient(pool, (client) => {
      // One drizzle per pooled client (the pool keeps its clients): drizzle walks the schema once.
      let database = onClient.get(client);
      if (!database) {
        database = drizzle(client, { schema });
        onClient.set(client, database);
      }
      return database.transaction(run, config);
    });
}

/** Creates the database named in `url` when the server does not have it yet. */
export async function ensureDatabase(url: string): Promise<void> {
  url = withDefaultUser(url);
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error; // 3D000: invalid_catalog_name
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } catch (error) {
    // Another process created it first: 42P04 when its CREATE had committed, 23505 (the catalog's
    // unique name index) when both ran at once, as test files starting together do.
    const code = (error as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw error;
  } finally {
    await client.end();
  }
}
