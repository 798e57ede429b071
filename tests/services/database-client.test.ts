import { sql } from 'drizzle-orm';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import t from 'tap';
import { createDb, inClientTransaction, withDefaultUser } from '../../db/client.js';
import { isConnectionError } from '../../db/errors.js';
import { TEST_DATABASE_URL } from '../helpers/app.js';

/**
 * Transactions (db/client.ts) always give their connection back to the pool, and a connection
 * that failed leaves it: with a pool of one, a single lost client would stop every later query.
 */

function onePool() {
  const handle = createDb(TEST_DATABASE_URL, { max: 1, acquireTimeoutMs: 1_000 });
  t.teardown(() => handle.pool.end());
  return handle;
}

async function backendPid(handle: ReturnType<typeof onePool>): Promise<number> {
  return handle.db.transaction(async (tx) => {
    const { rows } = await tx.execute<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`);
    return rows[0]!.pid;
  });
}

t.test('a BEGIN on a connection that failed in the pool: the transaction fails, the next one gets a new connection', async (t) => {
  const handle = onePool();
  const before = await backendPid(handle);
  // The next client handed out ends before its BEGIN reaches the server, as one whose server
  // went away while it sat idle does.
  handle.pool.once('acquire', (client: pg.PoolClient) => void client.end());
  const failure = await handle.db.transaction(async () => 'never').catch((error: unknown) => error);
  t.ok(failure instanceof Error && isConnectionError(failure), `the transaction fails as the connection did: ${String(failure)}`);
  const after = await backendPid(handle);
  t.not(after, before, 'the next transaction runs on a new connection');
  t.equal(handle.pool.totalCount, 1, 'the pool holds one client');
  t.equal(handle.pool.idleCount, 1, 'and it is back in the pool');
});

t.test('a connection the server ends between two statements: the transaction fails, nothing crashes, the pool serves on', async (t) => {
  const handle = onePool();
  const admin = new pg.Client({ connectionString: withDefaultUser(TEST_DATABASE_URL) });
  await admin.connect();
  t.teardown(() => admin.end());
  const failure = await handle.db
    .transaction(async (tx) => {
      const { rows } = await tx.execute<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`);
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      // Long enough for the server's goodbye to reach the idle client: an 'error' event with no
      // listener would end this process here.
      await sleep(200);
      await tx.execute(sql`SELECT 1`);
      return 'never';
    })
    .catch((error: unknown) => error);
  t.ok(failure instanceof Error && isConnectionError(failure), `the transaction fails as the connection did: ${String(failure)}`);
  t.type(await backendPid(handle), 'number', 'the next transaction runs');
  t.equal(handle.pool.totalCount, 1, 'the pool holds one client');
});

t.test('a transaction that fails on its own keeps its healthy connection', async (t) => {
  const handle = onePool();
  const before = await backendPid(handle);
  const failure = await handle.db
    .transaction(async (tx) => {
      await tx.execute(sql`SELECT 1/0`);
    })
    .catch((error: unknown) => error);
  t.ok(failure instanceof Error && !isConnectionError(failure), 'division by zero is not a connection failure');
  t.equal(await backendPid(handle), before, 'the same connection serves the next transaction');
  const rolledBack = await handle.db
    .transaction(async (tx) => {
      await tx.execute(sql`SELECT 1`);
      tx.rollback();
    })
    .catch((error: unknown) => error);
  t.ok(rolledBack instanceof Error, 'an explicit rollback rejects, as drizzle documents');
  t.equal(await backendPid(handle), before, 'and keeps the connection too');
});

t.test('a client transaction whose ROLLBACK fails: the client leaves the pool instead of going back inside its transaction', async (t) => {
  const handle = onePool();
  const before = await backendPid(handle);
  const failure = await inClientTransaction(handle.pool, async (client) => {
    const query = client.query.bind(client) as (text: string) => Promise<unknown>;
    // The work fails, and so does the ROLLBACK after it (as on a connection in a state we cannot trust).
    (client as unknown as { query: (text: string) => Promise<unknown> }).query = (text) =>
      text === 'ROLLBACK' ? Promise.reject(new Error('rollback refused')) : query(text);
    throw new Error('work failed');
  }).catch((error: unknown) => error);
  t.match(failure, { message: 'work failed' }, 'the work’s own failure is what the caller hears');
  const after = await backendPid(handle);
  t.not(after, before, 'the next transaction runs on a new connection');
  t.equal(handle.pool.totalCount, 1, 'the pool holds one client');
});

t.test('a client transaction commits its work, and a failure rolls it back', async (t) => {
  const handle = onePool();
  await handle.pool.query('CREATE TEMP TABLE IF NOT EXISTS client_tx (n int)');
  const kept = await inClientTransaction(handle.pool, async (client) => {
    await client.query('INSERT INTO client_tx VALUES (1)');
    return 'done';
  });
  t.equal(kept, 'done');
  await inClientTransaction(handle.pool, async (client) => {
    await client.query('INSERT INTO client_tx VALUES (2)');
    throw new Error('undo');
  }).catch(() => undefined);
  const { rows } = await handle.pool.query<{ n: number }>('SELECT n FROM client_tx ORDER BY n');
  t.same(rows, [{ n: 1 }], 'the committed row stays, the failed one is gone');
});
