import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { SMTPServer } from 'smtp-server';
import { createDb, type DbHandle } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { systemClock } from '../src/clock.js';
import { loadConfig, type Config } from '../src/config.js';
import { createServices, type Services } from '../src/services/index.js';
import type { SessionInput } from '../src/services/session-values.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://localhost:5432/convene_bench';

export interface BenchContext {
  config: Config;
  database: DbHandle;
  services: Services;
  env: Record<string, string>;
}

/**
 * A published session an hour long, a week ahead (unlimited seats unless `overrides` say
 * otherwise), created through the service as the benches' fixture.
 */
export async function publishedBenchSession(ctx: BenchContext, title: string, overrides: Partial<SessionInput> = {}) {
  const start = new Date(Date.now() + 7 * 86_400_000);
  const session = await ctx.services.sessions.create(
    {
      title: `${title} ${randomUUID().slice(0, 8)}`,
      startsAt: start.toISOString(),
      endsAt: new Date(start.getTime() + 3_600_000).toISOString(),
      timezone: 'America/Chicago',
      capacity: null,
      contact: { name: 'Bench', email: 'bench@example.org' },
      ...overrides,
    },
    null,
  );
  await ctx.services.sessions.publish(session.id);
  return session;
}

/** Environment shared by the bench process and the servers it starts. */
export function benchEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: BENCH_DATABASE_URL,
    // A Redis database of its own, emptied at the start, so no earlier run's jobs compete.
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
    LOG_LEVEL: 'warn',
    // Load from one address: the registration rate limits would measure themselves.
    RATE_LIMIT_REGISTER_PER_IP_PER_MINUTE: '0',
    RATE_LIMIT_REGISTER_PER_EMAIL_PER_HOUR: '0',
    ...extra,
  };
}

/** `databaseUrl`: a bench whose figures depend on what the database holds gets one of its own. */
export async function openBench(databaseUrl?: string): Promise<BenchContext> {
  const env = benchEnv(databaseUrl ? { DATABASE_URL: databaseUrl } : {});
  const { config } = loadConfig(env);
  await migrateDatabase(config.databaseUrl);
  const database = createDb(config.databaseUrl, { max: 64 });
  await clearMail({ config, database });
  const services = createServices({ db: database.db, clock: systemClock, config });
  return { config, database, services, env };
}

/**
 * Earlier runs (and earlier benches of this run) leave outbox rows and jobs behind; a bench that
 * starts a worker measures only the mail of its own work.
 */
export async function clearMail({ config, database }: Pick<BenchContext, 'config' | 'database'>): Promise<void> {
  await database.pool.query(`UPDATE notifications SET status = 'skipped' WHERE status IN ('pending', 'queued')`);
  const redis = new Redis(config.redisUrl);
  await redis.flushdb();
  redis.disconnect();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningServer {
  url: string;
  /** The server's process id (for cpuMeter). */
  pid: number;
  stop(): Promise<void>;
}

/**
 * CPU time (user and system, all threads) a process uses from now on: call the result to read
 * it; null where there is no /proc. On a shared machine the CPU a piece of work costs moves much
 * less from run to run than its rate does.
 */
export function cpuMeter(pid: number): () => number | null {
  const started = cpuSeconds(pid);
  return () => {
    const now = cpuSeconds(pid);
    return started === null || now === null ? null : now - started;
  };
}

/**
 * As cpuMeter, for every process whose command name is `command` (`postgres`: the server and
 * all its backends; `redis-server`), those started meanwhile included. A process that ends
 * meanwhile takes its time with it: measure where the connections stay open.
 */
export function commandCpuMeter(command: string): () => number | null {
  const started = new Map(processesNamed(command).map((pid) => [pid, cpuSeconds(pid)]));
  return () => {
    let used = 0;
    for (const pid of processesNamed(command)) used += (cpuSeconds(pid) ?? 0) - (started.get(pid) ?? 0);
    return started.size === 0 ? null : used;
  };
}

function processesNamed(command: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  return entries.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === command;
    } catch {
      return false;
    }
  }).map(Number);
}

function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces) in parentheses: utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on the Linux architectures Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Starts Convene as a separate process, as in production, and waits until it is ready. */
export async function startServer(env: Record<string, string>, role: 'api' | 'all' | 'worker' = 'api'): Promise<RunningServer> {
  const port = await freePort();
  // The built server, as `npm start` runs it (`npm run bench` builds first); BENCH_NODE_ARGS adds
  // node options, for example `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it under load.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, 'dist/src/server.js', '--role', role], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_BASE_URL: `http://127.0.0.1:${port}` },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  if (role === 'worker') {
    // A worker serves no HTTP: give it a moment to connect.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    return { url, pid: child.pid!, stop };
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the server did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, pid: child.pid!, stop };
}

export function runCommand(command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} exited ${code}: ${output}`))));
  });
}

export interface Row {
  bench: string;
  metric: string;
  ours: string;
  baseline: string;
  ratio: string;
  target: string;
  ok: boolean;
}

const rows: Row[] = [];

export function report(row: Row): void {
  rows.push(row);
  console.log(
    `${row.ok ? 'PASS' : 'MISS'}  ${row.bench.padEnd(16)} ${row.metric.padEnd(26)} ours ${row.ours.padStart(12)}  baseline ${row.baseline.padStart(12)}  ratio ${row.ratio.padStart(6)}  target ${row.target}`,
  );
}

export function reportedRows(): Row[] {
  return rows;
}

export const fixed = (value: number, digits = 1) => value.toFixed(digits);

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;

/** A local SMTP server that accepts everything; `onMessage` hears each message's recipients (lower case) when it arrived. */
export async function smtpSink(onMessage: (recipients: string[]) => void = () => undefined) {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        onMessage(session.envelope.rcptTo.map((recipient) => recipient.address.toLowerCase()));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
