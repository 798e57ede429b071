import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { withDefaultUser } from '../db/client.js';
import { takeSeatStatement, type SeatRequest } from '../src/services/capacity.js';
import { createAdmission } from '../src/services/registrations/admission.js';
import { seatPerson } from '../src/services/registrations/seat.js';
import { createTokens } from '../src/services/tokens.js';
import { fixed, median, percentile, publishedBenchSession, report, runCommand, smtpSink, startServer, type BenchContext } from './lib.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 15);
const CONNECTIONS = 64;
/** Seconds of load before each measured run of ours, untimed. */
const WARM_UP_S = 3;
/** How long the npm-start run waits for the crowd's e-mails after its load. */
const MAIL_CATCH_UP_LIMIT_MS = 120_000;

/** Clients posting public registrations of new people (`emailPrefix`-pid-n) to a session, for a time or a number of requests. */
function registrationLoad(serverUrl: string, slug: string, options: { connections: number; duration?: number; amount?: number }, name: string, emailPrefix: string) {
  let counter = 0;
  return autocannon({
    url: `${serverUrl}/api/v1/public/sessions/${slug}/registrations`,
    ...options,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ name, email: `${emailPrefix}-${process.pid}-${counter++}@example.org`, consent: true }),
        }),
      },
    ],
  });
}

function hotSession(ctx: BenchContext, capacity: number) {
  return publishedBenchSession(ctx, 'Bench', { capacity, waitlist: { enabled: true, limit: null } });
}

async function oversell(ctx: BenchContext, sessionId: string) {
  const { rows } = await ctx.database.pool.query<{ capacity: number; confirmed: number; waitlisted: number; counter_ok: boolean; fifo_ok: boolean }>(
    `SELECT s.capacity,
       (SELECT count(*)::int FROM registrations WHERE session_id = s.id AND status = 'confirmed') AS confirmed,
       (SELECT count(*)::int FROM registrations WHERE session_id = s.id AND status = 'waitlisted') AS waitlisted,
       s.confirmed_count = (SELECT count(*) FROM registrations WHERE session_id = s.id AND status = 'confirmed')
         AND s.waitlisted_count = (SELECT count(*) FROM registrations WHERE session_id = s.id AND status = 'waitlisted') AS counter_ok,
       (SELECT count(DISTINCT waitlist_ticket) = count(*) AND coalesce(max(waitlist_ticket), 0) = count(*)
          FROM registrations WHERE session_id = s.id AND status = 'waitlisted') AS fifo_ok
     FROM sessions s WHERE s.id = $1`,
    [sessionId],
  );
  const row = rows[0]!;
  return { ...row, oversold: Math.max(row.confirmed - row.capacity, 0) };
}

/**
 * Every part starts from clean tables: each registration leaves a dead version of its session's
 * row (one per claim for us, one per registration for the baselines) and the benches' mail
 * clearing one of each outbox row; where autovacuum is off (as on these machines) they pile up
 * run after run, and the later parts and runs would measure the bloat of the earlier ones.
 */
async function vacuumHotTables(ctx: BenchContext): Promise<void> {
  await ctx.database.pool.query('VACUUM (ANALYZE) sessions, attendees, registrations, notifications');
}

/**
 * The seat statement as a pgbench script, alone: one statement takes the seat (or a waitlist
 * place), adds the attendee and the registration and its outbox row, one commit per registration
 * (issue #23: the ceiling every one-at-a-time design shares).
 */
function pgbenchScript(sessionId: string): string {
  const sentinel = (name: string) => `@@${name}@@`;
  const run = randomUUID().slice(0, 8);
  const request: SeatRequest = {
    registrationId: sentinel('registration'),
    sessionId,
    email: sentinel('email'),
    name: 'Bench Person',
    organization: null,
    jobTitle: null,
    answers: {},
    consentVersion: 'bench',
    source: 'public',
    force: false,
    addedBy: null,
    manageTokenHash: sentinel('manage'),
    joinTokenHash: sentinel('join'),
    now: new Date(0),
    manageLinkResend: null,
  };
  const query = new PgDialect().sqlToQuery(takeSeatStatement(request));
  const literal = (value: unknown): string => {
    if (value === sentinel('registration')) return 'gen_random_uuid()';
    // pgbench substitutes variables as text, also inside quotes.
    if (value === sentinel('email')) return `'pgbench-${run}-:client_id-:n@example.org'`;
    if (value === sentinel('manage') || value === sentinel('join')) return 'md5(random()::text || clock_timestamp()::text)';
    if (value instanceof Date) return 'now()';
    if (value === null) return 'NULL';
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'number') return String(value);
    return `'${String(value).replace(/'/g, "''")}'`;
  };
  const statement = query.sql.replace(/\$(\d+)/g, (_, index: string) => literal(query.params[Number(index) - 1])).replace(/\s+/g, ' ');
  return ['\\set n random(1, 1000000000000)', `${statement};`, ''].join('\n');
}

/** pgbench running the seat statement at CONNECTIONS clients for DURATION_S: transactions a second and p99 (ms). */
async function pgbenchBaseline(ctx: BenchContext): Promise<{ tps: number; p99: number }> {
  const theirs = await hotSession(ctx, 1000);
  const workDir = mkdtempSync(join(tmpdir(), 'convene-register-'));
  try {
    const scriptPath = join(workDir, 'register.sql');
    writeFileSync(scriptPath, pgbenchScript(theirs.id));
    const url = new URL(withDefaultUser(ctx.config.databaseUrl));
    const output = await runCommand('pgbench', [
      '-n', '-c', String(CONNECTIONS), '-j', '2', '-T', String(DURATION_S), '-f', scriptPath, '-l', `--log-prefix=${join(workDir, 'pgbench')}`,
      '-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username), url.pathname.slice(1),
    ], url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {});
    // pgbench's per-transaction log: the third column is the latency in microseconds.
    const latencies = readdirSync(workDir)
      .filter((name) => name.startsWith('pgbench'))
      .flatMap((name) => readFileSync(join(workDir, name), 'utf8').trim().split('\n'))
      .map((line) => Number(line.split(' ')[2]) / 1000)
      .filter((ms) => Number.isFinite(ms))
      .sort((a, b) => a - b);
    return { tps: Number(/tps = ([\d.]+)/.exec(output)?.[1] ?? 'NaN'), p99: percentile(latencies, 0.99) };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * CONNECTIONS clients posting registrations to one hot session for DURATION_S, with the server
 * as `npm start` runs it (`all`: API and worker in one process, the mail going to a local SMTP
 * server) or the API alone; beside pgbench running the seat statement in the same run.
 */
async function hotSessionBench(ctx: BenchContext, role: 'all' | 'api', baseline: { tps: number; p99: number }) {
  const ours = await hotSession(ctx, 1000);
  let mailed = 0;
  const sink = role === 'all' ? await smtpSink(() => void mailed++) : null;
  const server = await startServer(sink ? { ...ctx.env, SMTP_URL: sink.url } : ctx.env, role);
  const label = role === 'all' ? 'register (npm start)' : 'register (API)';
  try {
    const load = (slug: string, seconds: number, emailPrefix: string) =>
      registrationLoad(server.url, slug, { connections: CONNECTIONS, duration: seconds }, 'Bench Person', `${emailPrefix}-${role}`);
    // Untimed first, on a session of its own: a deployed server is long-running, while a fresh
    // process spends its first seconds compiling its hot code (and its compiler threads take
    // the cores the requests need).
    const warmUp = await load((await hotSession(ctx, 1000)).slug, WARM_UP_S, 'warm');
    console.log(
      `${label}: the first ${WARM_UP_S} s of the fresh process (untimed): ${fixed(warmUp.requests.average)} req/s, p99 ${fixed(warmUp.latency.p99)} ms, ${warmUp.non2xx + warmUp.errors} non-2xx`,
    );
    const result = await load(ours.slug, DURATION_S, 'hot');
    const mailedDuringLoad = mailed;
    const loadEnded = Date.now();
    const rps = result.requests.average;
    const non2xx = result.non2xx + result.errors;
    if (sink) {
      // Every answered registration gets an e-mail (a confirmation or a waitlist notice).
      const expected = warmUp['2xx'] + result['2xx'];
      while (mailed < expected && Date.now() - loadEnded < MAIL_CATCH_UP_LIMIT_MS) await new Promise((resolve) => setTimeout(resolve, 50));
      const caughtUp = mailed >= expected ? `all sent ${fixed((Date.now() - loadEnded) / 1000, 1)} s after the load ended` : `${expected - mailed} still unsent ${MAIL_CATCH_UP_LIMIT_MS / 1000} s after`;
      console.log(`${label}: mail: ${mailedDuringLoad} of ${expected} e-mails sent by the end of the load; ${caughtUp}`);
    }
    const check = await oversell(ctx, ours.id);
    report({ bench: label, metric: `throughput (req/s, ${CONNECTIONS} conn)`, ours: fixed(rps), baseline: fixed(baseline.tps), ratio: fixed(rps / baseline.tps, 2), target: '>= 3.0 (baseline: pgbench, the seat statement alone)', ok: rps / baseline.tps >= 3 });
    report({
      bench: label,
      metric: 'p99 latency (ms)',
      ours: fixed(result.latency.p99),
      baseline: fixed(baseline.p99),
      ratio: fixed(result.latency.p99 / baseline.p99, 2),
      target: '<= 100 ms',
      ok: result.latency.p99 <= 100,
    });
    report({
      bench: label,
      metric: 'oversell / non-2xx',
      ours: `${check.oversold} / ${non2xx}`,
      baseline: '-',
      ratio: '-',
      target: '0 / 0, counters ok',
      ok: check.oversold === 0 && non2xx === 0 && check.counter_ok && check.fifo_ok,
    });
  } finally {
    await server.stop();
    await sink?.close();
  }
}

async function burstBench(ctx: BenchContext) {
  const seats = 500;
  const total = 5000;
  const ours = await hotSession(ctx, seats);
  const theirs = await hotSession(ctx, seats);
  const server = await startServer(ctx.env);
  try {
    const began = performance.now();
    const result = await registrationLoad(server.url, ours.slug, { connections: 500, amount: total }, 'Burst Person', 'burst');
    const oursWall = performance.now() - began;

    // Baseline: the same single statement straight from node-postgres, 500 at once.
    const pool = new pg.Pool({ connectionString: withDefaultUser(ctx.config.databaseUrl), max: 20 });
    const rawBegan = performance.now();
    await Promise.all(
      Array.from({ length: total }, async (_, index) => {
        const registrationId = randomUUID();
        const query = new PgDialect().sqlToQuery(
          takeSeatStatement({
            registrationId, sessionId: theirs.id, email: `raw-${process.pid}-${index}@example.org`, name: 'Raw', organization: null, jobTitle: null, answers: {},
            consentVersion: 'bench', source: 'public', force: false, addedBy: null,
            manageTokenHash: `m${registrationId}`, joinTokenHash: `j${registrationId}`, now: new Date(), manageLinkResend: null,
          }),
        );
        await pool.query(query.sql, query.params as unknown[]);
      }),
    );
    const rawWall = performance.now() - rawBegan;
    await pool.end();

    const check = await oversell(ctx, ours.id);
    const non2xx = result.non2xx + result.errors;
    report({ bench: 'burst', metric: `wall (ms, ${total} over 500 conn)`, ours: fixed(oursWall, 0), baseline: fixed(rawWall, 0), ratio: fixed(oursWall / rawWall, 2), target: '<= 0.7 (baseline: the seat statement from node-postgres)', ok: oursWall / rawWall <= 0.7 });
    report({
      bench: 'burst',
      metric: 'oversell / FIFO / non-2xx',
      ours: `${check.oversold} / ${check.fifo_ok ? 'ok' : 'BROKEN'} / ${non2xx}`,
      baseline: '-',
      ratio: '-',
      target: '0 / ok / 0',
      ok: check.oversold === 0 && check.fifo_ok && check.counter_ok && non2xx === 0 && check.confirmed === seats,
    });
  } finally {
    await server.stop();
  }
}

/**
 * The cold path: one registration at a time on an idle session, through group admission (ours)
 * and through the one-statement path it replaced for crowds (seatPerson, kept as the baseline),
 * taking turns so that both see the same machine; median of COLD_RUNS each.
 */
async function coldPathBench(ctx: BenchContext) {
  const COLD_RUNS = 200;
  const tokens = createTokens(ctx.config.tokenSecret);
  const admission = createAdmission({ db: ctx.database.db, tokens });
  const ours = await hotSession(ctx, 1000);
  const theirs = await hotSession(ctx, 1000);
  const options = { source: 'public', force: false, addedBy: null, consentVersion: 'bench', attendeeTimezone: null, organisation: null } as const;
  const person = (label: string, index: number) => ({ name: 'Cold Person', email: `cold-${label}-${process.pid}-${index}@example.org`, organization: null, jobTitle: null, answers: {} });
  const oursMs: number[] = [];
  const theirsMs: number[] = [];
  for (let index = 0; index < COLD_RUNS; index += 1) {
    let began = performance.now();
    const admitted = await admission.admit(ours, person('ours', index), options, new Date());
    oursMs.push(performance.now() - began);
    began = performance.now();
    const seated = await seatPerson({ db: ctx.database.db, tokens }, theirs, person('theirs', index), options, new Date());
    theirsMs.push(performance.now() - began);
    if (!admitted.taken || !seated.taken) throw new Error('the cold path bench expected every registration to be taken');
  }
  const oursMedian = median(oursMs);
  const theirsMedian = median(theirsMs);
  report({
    bench: 'register (cold)',
    metric: `median of ${COLD_RUNS}, one at a time (ms)`,
    ours: fixed(oursMedian, 2),
    baseline: fixed(theirsMedian, 2),
    ratio: fixed(oursMedian / theirsMedian, 2),
    target: '<= 1.05 (baseline: the one-statement path, seatPerson)',
    ok: oursMedian / theirsMedian <= 1.05,
  });
}

export async function registerBenches(ctx: BenchContext): Promise<void> {
  await vacuumHotTables(ctx);
  const baseline = await pgbenchBaseline(ctx);
  await vacuumHotTables(ctx);
  await hotSessionBench(ctx, 'all', baseline);
  await vacuumHotTables(ctx);
  await hotSessionBench(ctx, 'api', baseline);
  await vacuumHotTables(ctx);
  await burstBench(ctx);
  await vacuumHotTables(ctx);
  await coldPathBench(ctx);
}

