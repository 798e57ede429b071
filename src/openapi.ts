import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createDb } from '../db/client.js';
import { buildApp } from './app.js';
import { systemClock } from './clock.js';
import { loadConfig } from './config.js';

/**
 * Renders the API document from the routes' schemas, the way the running service serves it at
 * /openapi.json. `npm run openapi` writes it to openapi.yaml at the repository root, where it
 * is committed; a test fails when the committed file and the routes disagree.
 *
 * The configuration is fixed (not read from the environment) so the output is the same on
 * every machine. Postgres and Redis are handed to the app but never contacted: the pool
 * connects on its first query and the Redis client is lazy.
 */

/** The fixed environment the document is rendered with. */
const OPENAPI_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  PUBLIC_BASE_URL: 'http://localhost:3000',
  DATABASE_URL: 'postgres://localhost:5432/convene',
  REDIS_URL: 'redis://127.0.0.1:6379',
  JWT_SECRET: 'openapi-render-secret-never-used-to-sign-anything-0123456789',
};

/** The repository root: the nearest folder above this file holding package.json (works from dist/ too). */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above src/openapi');
    dir = parent;
  }
  return dir;
}

export const OPENAPI_FILE = resolve(repositoryRoot(), 'openapi.yaml');

export interface RenderedOpenApi {
  /** The document as served at /openapi.json. */
  document: Record<string, unknown>;
  /** The same document as YAML, exactly as committed in openapi.yaml. */
  yaml: string;
}

export async function renderOpenApi(): Promise<RenderedOpenApi> {
  const { config } = loadConfig(OPENAPI_ENV);
  const database = createDb(config.databaseUrl, { max: 1 });
  const redis = new Redis(config.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  try {
    const app = await buildApp({ config, database, redis, clock: systemClock });
    try {
      await app.ready();
      const document = JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>;
      const yaml = app.swagger({ yaml: true });
      return { document, yaml: yaml.endsWith('\n') ? yaml : `${yaml}\n` };
    } finally {
      await app.close();
    }
  } finally {
    redis.disconnect();
    await database.pool.end();
  }
}

export async function renderOpenApiYaml(): Promise<string> {
  return (await renderOpenApi()).yaml;
}

const runAsScript = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (runAsScript) {
  try {
    const yaml = await renderOpenApiYaml();
    if (process.argv.includes('--write')) {
      await writeFile(OPENAPI_FILE, yaml, 'utf8');
      console.log(`wrote ${OPENAPI_FILE}`);
    } else {
      process.stdout.write(yaml);
    }
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  }
}
