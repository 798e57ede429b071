import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Test } from 'tap';
import { waitFor } from './waiting.js';

/** Child processes of a test: a throwaway Redis, a worker that can be SIGKILLed; and a free port for them. */


export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RedisProcess {
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGKILL: nothing is saved. */
  kill(): Promise<void>;
}

/** A redis-server of our own (no persistence) on a free port, killed in teardown. */
export async function startRedisProcess(t: Test): Promise<RedisProcess> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const handle: RedisProcess = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let output = '';
      proc.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      await waitFor(() => /ready to accept connections/i.test(output) || proc.exitCode !== null, 10_000, 'redis-server to start');
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
    },
    async kill() {
      const proc = child;
      child = null;
      if (!proc || proc.exitCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGKILL');
      await exited;
    },
  };
  await handle.start();
  t.teardown(() => handle.kill());
  return handle;
}

export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<unknown>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A TypeScript entry point in a child process (through tsx), its output kept for the error
 * message, killed in teardown; `kill` waits for the exit.
 */
function spawnTsx(t: Test, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { text: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    output.text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output.text += chunk.toString();
  });
  // 'close', not 'exit': then all the child wrote has been read into `output`.
  const exited = once(child, 'close') as Promise<[code: number | null, signal: NodeJS.Signals | null]>;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  t.teardown(() => kill());
  return { child, exited, kill, output };
}

/** Runs jobs/worker.ts in a child process (tests/helpers/worker-process.ts) with this environment. */
export async function spawnWorkerProcess(t: Test, env: Record<string, string>): Promise<WorkerProcess> {
  const script = new URL('./worker-process.ts', import.meta.url).pathname;
  const { child, exited, kill, output } = spawnTsx(t, [script], { ...process.env, CONVENE_TEST_ENV: JSON.stringify(env) });
  await waitFor(() => output.text.includes('worker-ready') || child.exitCode !== null, 20_000, 'the worker process to start');
  if (child.exitCode !== null) throw new Error(`worker process exited: ${output.text}`);
  return { child, exited, kill };
}

export interface ServerProcess {
  url: string;
  /** What the process has written to stdout and stderr so far. */
  output: { text: string };
  exited: Promise<[code: number | null, signal: NodeJS.Signals | null]>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `src/server.ts --role api` (or `all`, as `npm start` runs it) in a process of its own on a free
 * port (as a deployment with several API processes runs it), with this environment over the
 * tests' settings; killed in teardown.
 */
export async function spawnServerProcess(t: Test, env: Record<string, string>, role: 'api' | 'all' = 'api'): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { child, exited, kill, output } = spawnTsx(t, ['src/server.ts', '--role', role], {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: url,
    JWT_SECRET: 'api-process-test-secret-that-is-long-enough-0123456789',
    RATE_LIMIT_REGISTER_PER_IP_PER_MINUTE: '0',
    RATE_LIMIT_REGISTER_PER_EMAIL_PER_HOUR: '0',
    RATE_LIMIT_LOGIN_PER_IP_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
    ...env,
  });
  await waitFor(
    async () => child.exitCode !== null || (await fetch(`${url}/healthz`).then((res) => res.ok, () => false)),
    60_000,
    'the server process to start',
    100,
  );
  if (child.exitCode !== null) throw new Error(`server process exited: ${output.text}`);
  return { url, output, exited, kill };
}
