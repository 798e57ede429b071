import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { withDefaultUser } from '../db/client.js';
import { EXPORT_ROWS_SQL } from '../src/services/exports.service.js';
import { fixed, median, report, startServer, type BenchContext, type RunningServer } from './lib.js';

const ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 100_000);
const CONFIRMED = Math.floor(ROWS * 0.9);
const RUNS = 3;
const MB = 1024 * 1024;
const ADMIN = { email: 'bench-export-admin@example.org', password: 'bench-export-password-0123' };

/** A session of ROWS registrations, inserted in one INSERT ... SELECT generate_series, counters set to match. */
async function fill(ctx: BenchContext): Promise<{ sessionId: string; tag: string }> {
  const start = new Date(Date.now() + 30 * 86_400_000);
  const session = await ctx.services.sessions.create(
    {
      title: `Export bench ${randomUUID().slice(0, 8)}`,
      startsAt: start.toISOString(),
      endsAt: new Date(start.getTime() + 3_600_000).toISOString(),
      timezone: 'America/Chicago',
      capacity: null,
      questions: [
        { id: 'city', label: 'Your city', type: 'text', required: true },
        { id: 'agree', label: 'I agree to be recorded', type: 'checkbox', required: false },
      ],
      contact: { name: 'Bench', email: 'bench@example.org' },
    },
    null,
  );
  const tag = `export-bench-${randomUUID().slice(0, 8)}`;
  await ctx.database.pool.query(
    `WITH people AS (SELECT gen_random_uuid() AS id, g FROM generate_series(1, $3::int) AS g),
     attendee_rows AS (INSERT INTO attendees (id, email) SELECT id, $2 || '-' || g || '@example.org' FROM people)
     INSERT INTO registrations (session_id, attendee_id, name, organization, job_title, answers, status, waitlist_ticket,
       manage_token_hash, join_token_hash, registered_at, confirmed_at, checked_in_at, updated_at, source)
     SELECT $1::uuid, id, 'Person ' || g, 'City of Example ' || g, 'Mayor',
       jsonb_build_object('city', 'Springfield ' || g, 'agree', g % 2 = 0),
       CASE WHEN g <= $4 THEN 'confirmed' ELSE 'waitlisted' END::registration_status, CASE WHEN g > $4 THEN g - $4 END,
       'm-' || id, 'j-' || id, now() - make_interval(secs => $3::int - g), now(),
       CASE WHEN g % 3 = 0 THEN now() END, now(), 'organizer'
     FROM people`,
    [session.id, tag, ROWS, CONFIRMED],
  );
  await ctx.database.pool.query(
    'UPDATE sessions SET confirmed_count = $2::int, waitlisted_count = $3::int, waitlist_tickets = $3::int WHERE id = $1',
    [session.id, CONFIRMED, ROWS - CONFIRMED],
  );
  await ctx.database.pool.query('ANALYZE registrations');
  return { sessionId: session.id, tag };
}

/** The export's own query, values inlined, as psql's COPY runs it: the database's speed for the same rows. */
function copyStatement(sessionId: string): string {
  const select = EXPORT_ROWS_SQL.replaceAll('$1::uuid[]', `ARRAY['${sessionId}']::uuid[]`)
    .replaceAll('$2::registration_status[]', `'{confirmed,waitlisted}'::registration_status[]`)
    .replace(/\s+/g, ' ')
    .trim();
  return `COPY (${select}) TO STDOUT WITH CSV HEADER`;
}

/** Runs psql and counts the bytes it writes; returns the wall time in seconds. */
function psqlCopy(url: string, statement: string): Promise<{ seconds: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('psql', [withDefaultUser(url), '-X', '-q', '-c', statement], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve({ seconds: (performance.now() - started) / 1000, bytes }) : reject(new Error(`psql exited ${code}: ${errors}`)),
    );
  });
}

async function serverRss(server: RunningServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  if (!match) throw new Error('no process_resident_memory_bytes in /metrics');
  return Number(match[1]);
}

/** Downloads the CSV, counting bytes; samples the server's RSS meanwhile. */
async function download(server: RunningServer, url: string, token: string): Promise<{ seconds: number; bytes: number; peakRss: number }> {
  let peakRss = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakRss = Math.max(peakRss, await serverRss(server));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`export answered ${response.status}: ${await response.text()}`);
  let bytes = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  const seconds = (performance.now() - started) / 1000;
  sampling = false;
  await sampler;
  peakRss = Math.max(peakRss, await serverRss(server));
  return { seconds, bytes, peakRss };
}


export async function exportBench(ctx: BenchContext): Promise<void> {
  const { sessionId, tag } = await fill(ctx);
  const server = await startServer({ ...ctx.env, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, 'api');
  try {
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    const { token } = (await login.json()) as { token: string };
    const url = `${server.url}/api/v1/sessions/${sessionId}/attendees.csv`;

    // Warm-up: the first export compiles the code paths and fills the caches of both sides.
    await download(server, `${url}?status=cancelled`, token);
    await psqlCopy(ctx.config.databaseUrl, copyStatement(sessionId));
    const rssBefore = await serverRss(server);

    const ours: number[] = [];
    const baseline: number[] = [];
    let peakRss = rssBefore;
    let bytes = 0;
    let copyBytes = 0;
    for (let run = 0; run < RUNS; run += 1) {
      const copy = await psqlCopy(ctx.config.databaseUrl, copyStatement(sessionId));
      baseline.push(copy.seconds);
      copyBytes = copy.bytes;
      const got = await download(server, url, token);
      ours.push(got.seconds);
      bytes = got.bytes;
      peakRss = Math.max(peakRss, got.peakRss);
    }
    const ratio = median(ours) / median(baseline);
    const extraMb = (peakRss - rssBefore) / MB;
    report({
      bench: 'export',
      metric: `${ROWS / 1000}k rows CSV, s (median of ${RUNS})`,
      ours: fixed(median(ours), 2),
      baseline: fixed(median(baseline), 2),
      ratio: fixed(ratio, 2),
      target: '<= 2x psql COPY',
      ok: ratio <= 2,
    });
    report({
      bench: 'export',
      metric: 'server extra RSS, MB',
      ours: fixed(extraMb, 1),
      baseline: '-',
      ratio: '-',
      target: '<= 50 MB',
      ok: extraMb <= 50,
    });
    console.log(
      `      (${(bytes / MB).toFixed(1)} MB of CSV from the route, ${(copyBytes / MB).toFixed(1)} MB from COPY; server RSS ${(rssBefore / MB).toFixed(0)} MB before, ${(peakRss / MB).toFixed(0)} MB at peak)`,
    );
  } finally {
    await server.stop();
    await ctx.database.pool.query('DELETE FROM sessions WHERE id = $1', [sessionId]);
    await ctx.database.pool.query('DELETE FROM attendees WHERE email LIKE $1', [`${tag}-%`]);
  }
}
