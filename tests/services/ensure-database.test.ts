import pg from 'pg';
import t from 'tap';
import { ensureDatabase, withDefaultUser } from '../../db/client.js';
import { TEST_DATABASE_URL } from '../helpers/app.js';

/**
 * `npm start` and the test files create their database when the server lacks it. Processes
 * starting together (test files run in parallel on a fresh machine) must all get it, whichever
 * of them creates it.
 */
t.test('eight processes asking for a missing database at once all get it', async (t) => {
  const name = `convene_ensure_${process.pid}_${Date.now()}`;
  const url = new URL(withDefaultUser(TEST_DATABASE_URL));
  url.pathname = `/${name}`;
  const admin = new URL(withDefaultUser(TEST_DATABASE_URL));
  admin.pathname = '/postgres';
  const drop = async () => {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}`);
    await client.end();
  };
  t.teardown(drop);

  const results = await Promise.allSettled(Array.from({ length: 8 }, () => ensureDatabase(url.toString())));
  t.same(
    results.filter((result) => result.status === 'rejected').map((result) => String((result as PromiseRejectedResult).reason)),
    [],
    'no caller fails',
  );
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  t.equal((await client.query<{ name: string }>('SELECT current_database() AS name')).rows[0]!.name, name, 'the database exists');
  await client.end();
  await t.resolves(ensureDatabase(url.toString()), 'asking again, once it exists, changes nothing');
});
