import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import { withDefaultUser } from '../db/client.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, sessionBody, uniqueEmail, uniqueSuffix } from './helpers/app.js';
import { spawnServerProcess } from './helpers/processes.js';

/**
 * SIGTERM for the whole process (src/server.ts, role all) under load, right after Postgres killed
 * its connections: every request the server had received gets an HTTP answer, and the process
 * exits 0 within SHUTDOWN_GRACE_MS.
 */

const GRACE_MS = 5_000;
const IN_FLIGHT = 40;

function databaseUrl(): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `${url.pathname.replace(/^\//, '')}_shutdown`;
  return url.toString();
}

/** Redis logical database 1, shared with tests/worker-thread.test.ts: each uses a queue prefix of its own. */
function redisUrl(): string {
  const url = new URL(TEST_REDIS_URL);
  url.pathname = '/1';
  return url.toString();
}

interface Answer {
  status?: number;
  error?: string;
  connection?: string;
}

function request(agent: http.Agent, port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): { sent: Promise<void>; answer: Promise<Answer & { body: string }> } {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const req = http.request({
    agent,
    host: '127.0.0.1',
    port,
    method,
    path,
    headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}), ...headers },
  });
  // 'finish': the whole request has been handed to the operating system.
  const sent = once(req, 'finish').then(() => undefined);
  const answer = new Promise<Answer & { body: string }>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, body: text }));
      res.on('error', (error) => resolve({ error: error.message, body: text }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message, body: '' }));
  });
  req.end(payload);
  return { sent, answer };
}

t.test('SIGTERM under load, right after the database connections were killed', async (t) => {
  const mailDir = mkdtempSync(join(tmpdir(), 'convene-shutdown-'));
  t.teardown(() => rmSync(mailDir, { recursive: true, force: true }));
  const adminEmail = uniqueEmail('shutdown-admin');
  const adminPassword = 'a-long-shutdown-password';
  const dbUrl = databaseUrl();
  const server = await spawnServerProcess(
    t,
    {
      DATABASE_URL: dbUrl,
      DATABASE_POOL_SIZE: '8',
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: `shutdown-${uniqueSuffix()}`,
      ADMIN_EMAIL: adminEmail,
      ADMIN_PASSWORD: adminPassword,
      MAIL_DIR: mailDir,
      SMTP_URL: '',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      LOG_LEVEL: 'info',
    },
    'all',
  );
  const port = Number(new URL(server.url).port);

  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  t.teardown(() => agent.destroy());
  const login = await request(agent, port, 'POST', '/api/v1/auth/login', { email: adminEmail, password: adminPassword }).answer;
  t.equal(login.status, 200, 'logged in');
  const authorization = `Bearer ${(JSON.parse(login.body) as { token: string }).token}`;
  const created = await request(agent, port, 'POST', '/api/v1/sessions', sessionBody({ capacity: 10_000 }), { authorization }).answer;
  t.equal(created.status, 201, 'session created');
  const session = JSON.parse(created.body) as { id: string; slug: string };
  const published = await request(agent, port, 'POST', `/api/v1/sessions/${session.id}/publish`, undefined, { authorization }).answer;
  t.equal(published.status, 200, 'session published');

  // Open IN_FLIGHT keep-alive connections, so the burst below travels on connections the server
  // already holds, and warm the pool up so that there are connections to kill.
  await Promise.all(Array.from({ length: IN_FLIGHT }, () => request(agent, port, 'GET', `/api/v1/public/sessions/${session.slug}`).answer));

  const burst = Array.from({ length: IN_FLIGHT }, (_, i) =>
    i % 4 === 3
      ? request(agent, port, 'GET', `/api/v1/sessions/${session.id}/registrations`, undefined, { authorization })
      : request(agent, port, 'POST', `/api/v1/public/sessions/${session.slug}/registrations`, {
          name: `Shutdown ${i}`,
          email: uniqueEmail(`shutdown-${i}`),
          consent: true,
        }),
  );
  await Promise.all(burst.map((item) => item.sent));

  const admin = new pg.Client({ connectionString: withDefaultUser(TEST_DATABASE_URL) });
  await admin.connect();
  t.teardown(() => admin.end());
  // Two statements: in one, Postgres may call pg_terminate_backend before applying the filter.
  const { rows: backends } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
    new URL(dbUrl).pathname.slice(1),
  ]);
  const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [backends.map((row) => row.pid)]);
  const signalledAt = Date.now();
  const stopped = server.kill('SIGTERM');

  const answers = await Promise.all(burst.map((item) => item.answer));
  await stopped;
  const [code, signal] = await server.exited;
  const took = Date.now() - signalledAt;
  const output = server.output.text;

  t.ok(killed.rowCount && killed.rowCount > 0, `killed ${killed.rowCount} database connections`);
  const unanswered = answers.filter((answer) => answer.status === undefined);
  t.same(unanswered.map((answer) => answer.error), [], 'every request sent before the signal got an HTTP answer', {
    serverLog: output.split('\n').slice(-25).join('\n'),
  });
  const failed = answers.filter((answer) => answer.status !== undefined && answer.status >= 500 && answer.status !== 503);
  t.same(failed.map((answer) => `${answer.status} ${answer.body}`), [], 'no 5xx other than 503');
  t.equal(signal, null, 'not killed by a signal');
  t.equal(code, 0, `exit code 0\n${output.split('\n').slice(-15).join('\n')}`);
  t.ok(took <= GRACE_MS, `exited ${took} ms after SIGTERM (grace ${GRACE_MS} ms)`);
  // Keep-alive connections that stayed open would hold the HTTP step until its deadline.
  t.notMatch(output, /shutdown took too long|hit its deadline/, 'no step overran its deadline');
  t.match(output, '"msg":"stopped"', 'the last step ran');
  const statuses = answers.reduce<Record<string, number>>((counts, answer) => {
    const key = String(answer.status);
    counts[key] = (counts[key] ?? 0) + 1;
    return counts;
  }, {});
  t.comment(`answers: ${JSON.stringify(statuses)}`);
});
