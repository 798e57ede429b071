import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { ensureDatabase, withDefaultUser } from './client.js';

/** Any constant shared by every Convene process: it serialises concurrent migrators. */
const MIGRATION_LOCK_KEY = 7_243_001;

/** The committed migrations, whether this runs from the sources or from the build in dist/. */
export function migrationsFolder(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, 'migrations'), resolve(here, '../../db/migrations')];
  const found = candidates.find((candidate) => existsSync(resolve(candidate, 'meta/_journal.json')));
  if (!found) throw new Error(`No migrations found (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * Creates the database when absent and applies the pending migrations. One connection holds
 * an advisory lock for the whole run, so several instances starting at once migrate once.
 */
export async function migrateDatabase(url: string): Promise<void> {
  await ensureDatabase(url);
  const client = new pg.Client({ connectionString: withDefaultUser(url), application_name: 'convene-migrate' });
  await client.connect();
  try {
    await client.query('SET client_min_messages TO warning');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrate(drizzle(client), { migrationsFolder: migrationsFolder() });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

const runAsScript = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (runAsScript) {
  const { loadConfig, redactUrl } = await import('../src/config.js');
  try {
    const { config } = loadConfig();
    await migrateDatabase(config.databaseUrl);
    console.log(`migrations applied to ${redactUrl(config.databaseUrl)}`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
