import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { PUBLIC_VERSION_SQL, windowStart } from '../src/services/feeds.service.js';
import { withDefaultUser } from '../db/client.js';
import { BENCH_DATABASE_URL, fixed, freePort, openBench, report, ROOT, startServer, type BenchContext, type RunningServer } from './lib.js';

/**
 * The public calendar feed with 200 sessions, polled the way calendar apps poll it: the 304 path
 * (If-None-Match with the current ETag) and the 200 path, beside a Fastify hello-world route in
 * its own process, measured in the same run with the same connections and duration.
 */

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 32;
const SESSIONS = 200;
const SLUG_PREFIX = 'feed-bench-';
/** What Google, Apple and Microsoft calendar clients send. */
const GZIP = { 'accept-encoding': 'gzip, deflate' };

/** Tops the bench database up to 200 published feed-bench sessions ahead (earlier runs' ones are reused). */
async function seed(ctx: BenchContext): Promise<void> {
  const { rows } = await ctx.database.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM sessions WHERE slug LIKE $1 AND status = 'published' AND ends_at > now() + interval '1 day'`,
    [`${SLUG_PREFIX}%`],
  );
  const missing = SESSIONS - rows[0]!.n;
  const run = randomBytes(3).toString('hex');
  for (let i = 0; i < missing; i += 1) {
    const start = new Date(Date.now() + (2 + (i % 60)) * 86_400_000 + (i % 9) * 3_600_000);
    start.setUTCMinutes(0, 0, 0);
    const session = await ctx.services.sessions.create(
      {
        title: `Feed bench session ${i + 1}: privacy, security; and "calendars" for mayors`,
        slug: `${SLUG_PREFIX}${run}-${i}`,
        summary: 'A session of the feed benchmark, with enough text to fold a line or two.',
        description: 'What we will cover:\n- threat models for public officials\n- accounts, devices and travel\n- questions and answers',
        startsAt: start.toISOString(),
        endsAt: new Date(start.getTime() + 90 * 60_000).toISOString(),
        timezone: 'America/Chicago',
        capacity: 100,
        joinUrl: 'https://meet.example.org/j/feed-bench',
        contact: { name: 'Bench', email: 'bench@example.org' },
      },
      null,
    );
    await ctx.services.sessions.publish(session.id);
  }
}

/** What the bare Fastify process answers: hello-world, a 304 after one query, or fixed bytes. */
type BareRoute = { kind: 'hello' } | { kind: 'query'; databaseUrl: string } | { kind: 'bytes'; file: string; gzip: boolean };

/** The route of a bare server, as code for its `node -e`. */
function bareRouteCode(route: BareRoute): string {
  switch (route.kind) {
    case 'hello':
      return `app.get('/', async () => ({ hello: 'world' }));`;
    case 'query':
      return `const pool = new (require('pg').Pool)({ connectionString: ${JSON.stringify(route.databaseUrl)}, max: 20 });
        app.get('/', async (request, reply) => { await pool.query({ name: 'one', text: 'SELECT 1', values: [] }); return reply.code(304).send(); });`;
    case 'bytes':
      return `const body = require('node:fs').readFileSync(${JSON.stringify(route.file)});
        app.get('/', async (request, reply) => {
          ${route.gzip ? `reply.header('content-encoding', 'gzip');` : ''}
          return reply.type('text/calendar; charset=utf-8').send(body);
        });`;
  }
}

/**
 * A bare Fastify server in a process of its own, like the API it is compared with: the
 * hello-world baseline; a route that runs one trivial prepared query (SELECT 1) and answers 304,
 * what a 304 that asks the database on every poll could reach at best; or a route that sends
 * fixed bytes from memory, what a 200 of the feed's size could reach at best on this machine.
 */
async function startBare(route: BareRoute): Promise<RunningServer> {
  const port = await freePort();
  const code = `
    const app = require('fastify')({ logger: false });
    ${bareRouteCode(route)}
    app.listen({ port: ${port}, host: '127.0.0.1' }).then(() => console.log('ready'), (err) => { console.error(err); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => String(chunk).includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`hello-world exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The bytes of an answer as sent (fetch would undo the gzip). */
function rawBody(url: string, headers: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks)));
      response.on('error', reject);
    }).on('error', reject);
  });
}

/** The gzip bytes, after checking that they are the plain body compressed. */
function gunzipped(zipped: Buffer, plain: string): Buffer {
  if (gunzipSync(zipped).toString('utf8') !== plain) throw new Error('the gzip feed is not the plain feed compressed');
  return zipped;
}

interface Measured {
  rps: number;
  p99: number;
  bytesPerResponse: number;
  expected: number;
  total: number;
}

async function measure(url: string, headers: Record<string, string>, expectedStatus: '2xx' | '3xx', duration = DURATION_S): Promise<Measured> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration, headers });
  const total = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'] + result.errors + result.timeouts;
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    bytesPerResponse: result.throughput.average / Math.max(result.requests.average, 1),
    expected: result[expectedStatus],
    total,
  };
}

/**
 * The feed shows every published session, so this bench has a database of its own: sessions
 * that other benches publish (and never delete) would otherwise make it more than 200.
 */
export async function feedBenches(): Promise<void> {
  const ctx = await openBench(`${BENCH_DATABASE_URL}_feeds`);
  try {
    await measureFeeds(ctx);
  } finally {
    await ctx.database.pool.end();
  }
}

async function measureFeeds(ctx: BenchContext): Promise<void> {
  await seed(ctx);
  const { rows: window } = await ctx.database.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM sessions WHERE (status = 'published' AND ends_at >= $1) OR (status = 'cancelled' AND cancelled_at >= $1)`,
    [windowStart(new Date())],
  );
  // The version query of a 304, as the planner runs it on this database.
  const { rows: plan } = await ctx.database.pool.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN ${PUBLIC_VERSION_SQL}`,
    [windowStart(new Date())],
  );
  const scans = plan.map((row) => row['QUERY PLAN']).filter((line) => /Scan/.test(line)).map((line) => line.trim().replace(/\s+\(cost.*$/, ''));
  console.log(`public feed: ${window[0]!.n} events (${SESSIONS} seeded by this bench); version query: ${scans.join('; ')}`);

  const server = await startServer(ctx.env);
  const hello = await startBare({ kind: 'hello' });
  const oneQuery = await startBare({ kind: 'query', databaseUrl: withDefaultUser(ctx.config.databaseUrl) });
  const files = await mkdtemp(join(tmpdir(), 'convene-feed-bench-'));
  const bare: RunningServer[] = [];
  try {
    const feedUrl = `${server.url}/feeds/sessions.ics`;
    const first = await fetch(feedUrl, { headers: { 'accept-encoding': 'identity' } });
    const body = await first.text();
    const etag = first.headers.get('etag') ?? '';
    if (first.status !== 200 || !etag) throw new Error(`the feed answered ${first.status}`);
    const events = body.split('BEGIN:VEVENT').length - 1;
    // The very bytes of our 200s, for bare servers that only send them.
    const zippedBody = await rawBody(feedUrl, GZIP);
    await writeFile(join(files, 'feed.ics'), body);
    await writeFile(join(files, 'feed.ics.gz'), gunzipped(zippedBody, body));
    const plainBytes = await startBare({ kind: 'bytes', file: join(files, 'feed.ics'), gzip: false });
    bare.push(plainBytes);
    const zippedBytes = await startBare({ kind: 'bytes', file: join(files, 'feed.ics.gz'), gzip: true });
    bare.push(zippedBytes);

    // Warm-up (JIT, connection pools, the shared cache), then the measured runs.
    await measure(`${hello.url}/`, {}, '2xx', 2);
    await measure(feedUrl, { 'if-none-match': etag }, '3xx', 2);
    await measure(feedUrl, {}, '2xx', 2);
    await measure(feedUrl, GZIP, '2xx', 2);
    await measure(`${oneQuery.url}/`, {}, '3xx', 2);
    await measure(`${plainBytes.url}/`, {}, '2xx', 2);

    const helloBefore = await measure(`${hello.url}/`, {}, '2xx');
    const notModified = await measure(feedUrl, { 'if-none-match': etag }, '3xx');
    const full = await measure(feedUrl, {}, '2xx');
    const zipped = await measure(feedUrl, GZIP, '2xx');
    const ceiling = await measure(`${oneQuery.url}/`, {}, '3xx');
    const trivial = await measure(`${server.url}/healthz`, {}, '2xx');
    const plainCeiling = await measure(`${plainBytes.url}/`, {}, '2xx');
    const zippedCeiling = await measure(`${zippedBytes.url}/`, {}, '2xx');
    const helloAfter = await measure(`${hello.url}/`, {}, '2xx');
    const baseline = (helloBefore.rps + helloAfter.rps) / 2;

    report({
      bench: 'feeds',
      metric: `304 (req/s, ${CONNECTIONS} conn, ${DURATION_S} s)`,
      ours: fixed(notModified.rps),
      baseline: fixed(baseline),
      ratio: fixed(notModified.rps / baseline, 2),
      target: '>= 0.7',
      ok: notModified.rps / baseline >= 0.7 && notModified.expected === notModified.total,
    });
    report({
      bench: 'feeds',
      metric: `200, ${events} events (req/s)`,
      ours: fixed(full.rps),
      baseline: fixed(baseline),
      ratio: fixed(full.rps / baseline, 2),
      target: '>= 0.3',
      ok: full.rps / baseline >= 0.3 && full.expected === full.total,
    });
    report({
      bench: 'feeds',
      metric: `200 gzip, as calendar apps ask (${fixed(zipped.bytesPerResponse / 1024, 0)} KiB)`,
      ours: fixed(zipped.rps),
      baseline: fixed(baseline),
      ratio: fixed(zipped.rps / baseline, 2),
      target: 'info',
      ok: zipped.expected === zipped.total,
    });
    report({
      bench: 'feeds',
      metric: 'for comparison: our own /healthz (no I/O)',
      ours: fixed(trivial.rps),
      baseline: fixed(baseline),
      ratio: fixed(trivial.rps / baseline, 2),
      target: 'info',
      ok: true,
    });
    report({
      bench: 'feeds',
      metric: 'for comparison: hello + a SELECT 1 per poll, 304',
      ours: fixed(ceiling.rps),
      baseline: fixed(baseline),
      ratio: fixed(ceiling.rps / baseline, 2),
      target: 'info',
      ok: true,
    });
    report({
      bench: 'feeds',
      metric: `for comparison: bare Fastify sending our 200's ${fixed(body.length / 1024, 0)} KiB from memory`,
      ours: fixed(plainCeiling.rps),
      baseline: fixed(baseline),
      ratio: fixed(plainCeiling.rps / baseline, 2),
      target: 'info',
      ok: true,
    });
    report({
      bench: 'feeds',
      metric: `for comparison: bare Fastify sending our gzipped 200 from memory`,
      ours: fixed(zippedCeiling.rps),
      baseline: fixed(baseline),
      ratio: fixed(zippedCeiling.rps / baseline, 2),
      target: 'info',
      ok: true,
    });
    report({
      bench: 'feeds',
      metric: 'p99 latency (ms): 304 / 200',
      ours: `${fixed(notModified.p99, 0)} / ${fixed(full.p99, 0)}`,
      baseline: fixed((helloBefore.p99 + helloAfter.p99) / 2, 0),
      ratio: '-',
      target: 'info',
      ok: true,
    });
    report({
      bench: 'feeds',
      metric: 'answers as expected',
      ours: `${notModified.expected}/${notModified.total} 304, ${full.expected + zipped.expected}/${full.total + zipped.total} 200`,
      baseline: `${fixed(full.bytesPerResponse / 1024, 0)} KiB/200`,
      ratio: '-',
      target: `all; >= ${SESSIONS} events`,
      ok: notModified.expected === notModified.total && full.expected === full.total && zipped.expected === zipped.total && events >= SESSIONS,
    });
  } finally {
    await Promise.all(bare.map((running) => running.stop()));
    await rm(files, { recursive: true, force: true });
    await oneQuery.stop();
    await hello.stop();
    await server.stop();
  }
}
