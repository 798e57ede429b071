import { hkdfSync, randomBytes } from 'node:crypto';
import { booleanWord } from './text.js';

/**
 * The one place that reads the environment. Every variable is parsed and checked here, and a
 * bad value stops the process with a message naming the variable, before anything connects.
 */

export type NodeEnv = 'development' | 'test' | 'production';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  nodeEnv: NodeEnv;
  port: number;
  host: string;
  publicBaseUrl: string;
  databaseUrl: string;
  databasePoolSize: number;
  /** How long a request may wait for a pooled connection before it gets a 503. */
  databaseAcquireTimeoutMs: number;
  redisUrl: string;
  /** BullMQ key prefix: deployments (or test runs) sharing one Redis keep their queues apart. */
  queuePrefix: string;
  jwtSecret: string;
  /** Derives the manage, join and feed tokens (services/tokens); from TOKEN_SECRET or JWT_SECRET. */
  tokenSecret: string;
  jwtTtlSeconds: number;
  jwtIssuer: string;
  jwtAudience: string;
  adminEmail: string | null;
  adminPassword: string | null;
  smtpUrl: string | null;
  mailFrom: string;
  mailDir: string;
  logLevel: LogLevel;
  demo: boolean;
  bodyLimitBytes: number;
  workerConcurrency: number;
  /** Personal join links open this many minutes before the start (and close at the end). */
  joinWindowMinutes: number;
  /** The worker checks that every upcoming session's reminder jobs exist this often. */
  reminderSweepMs: number;
  /** The worker relays pending outbox rows this often, besides the API's relay after each change. */
  outboxSweepMs: number;
  /** How often the worker expires offers whose expiry job Redis lost. */
  offerSweepMs: number;
  /** How often the worker looks for due webhook deliveries (retries, and rows written by other processes). */
  webhookSweepMs: number;
  /** Webhook requests in flight per worker, one endpoint at most half: each waits on a receiver (up to 10 s), not on us. */
  webhookConcurrency: number;
  /** Development and tests: http and loopback or private addresses allowed for webhook endpoints. */
  webhookAllowPrivate: boolean;
  /** A row queued this long ago is handed to BullMQ again, in case Redis lost its job. */
  outboxRequeueAfterMs: number;
  shutdownGraceMs: number;
  /** Registrations of sessions that ended more than this many days ago are anonymised; null: never. */
  retentionDays: number | null;
  /** Attendee exports streaming at once per process; each holds a database connection. */
  exportsMaxConcurrent: number;
  /** Origins allowed to frame /embed pages (CSP frame-ancestors); empty: none. */
  embedOrigins: string[];
  /** Fastify's trustProxy: false (default), true (any proxy), or the trusted proxies' addresses/CIDRs. */
  trustProxy: boolean | string[];
  /** Registration posts (form and API) per client IP per minute; 0: no limit. */
  rateLimitRegisterPerIpPerMinute: number;
  /** Registration posts per recipient address per hour; 0: no limit. */
  rateLimitRegisterPerEmailPerHour: number;
  /** Login attempts per client IP per minute; 0: no limit. */
  rateLimitLoginPerIpPerMinute: number;
  /** Failed logins per (normalised) e-mail within loginLockoutMinutes before that e-mail gets 429. */
  loginMaxFailures: number;
  loginLockoutMinutes: number;
  /** Password hashes (scrypt, 32 MiB each) computed at once per process; more wait in a queue. */
  passwordHashConcurrency: number;
  /** Logins waiting for a hash beyond which a login gets 503 instead of piling up. */
  passwordHashQueueLimit: number;
  /** Bearer token of GET /metrics; in production /metrics is 404 while it is unset. */
  metricsToken: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  warnings: string[];
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NODE_ENVS: readonly NodeEnv[] = ['development', 'test', 'production'];
const MIN_JWT_SECRET_BYTES = 32;
const MIN_ADMIN_PASSWORD_LENGTH = 12;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optional(name: string): string | null {
    return this.raw(name) ?? null;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return Number(value);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    }
    return value as T;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    const flag = booleanWord(value);
    if (flag !== undefined) return flag;
    this.problems.push(`${name} must be true or false (got "${value}")`);
    return fallback;
  }

  url(name: string, fallback: string | null, protocols: string[]): string | null {
    const value = this.raw(name) ?? fallback;
    if (value === null) return null;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      this.problems.push(`${name} must be a URL (got "${redactUrl(value)}")`);
      return fallback;
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problems.push(`${name} must use ${protocols.join(' or ')} (got "${parsed.protocol}")`);
      return fallback;
    }
    return value;
  }
}

/** Hides the password of a URL so a configuration error never prints a secret. */
export function redactUrl(value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Unparseable, so the password may hold any character (even / or @): hide everything
    // between the scheme and the last @.
    const at = value.lastIndexOf('@');
    if (at === -1) return value;
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0] ?? '';
    return `${scheme}***${value.slice(at)}`;
  }
}

/** EMBED_ORIGINS: comma-separated origins like https://www.example.org; unset or 'none': none. */
function readOrigins(read: Reader, name: string): string[] {
  const value = read.raw(name);
  if (value === undefined || value === "'none'" || value === 'none') return [];
  const origins: string[] = [];
  for (const item of value.split(',').map((part) => part.trim()).filter(Boolean)) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(item);
    } catch {
      parsed = null;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== item.replace(/\/+$/, '')) {
      read.problems.push(`${name} must be comma-separated origins like https://www.example.org (got "${item}")`);
      continue;
    }
    origins.push(parsed.origin);
  }
  return origins;
}

/**
 * TRUST_PROXY: false (default: X-Forwarded-For is ignored), true (trust whatever proxy connects),
 * or comma-separated addresses/CIDRs of the trusted proxies (e.g. 10.0.0.0/8,127.0.0.1).
 */
function readTrustProxy(read: Reader, name: string): boolean | string[] {
  const value = read.raw(name);
  if (value === undefined) return false;
  const flag = booleanWord(value);
  if (flag !== undefined) return flag;
  const items = value.split(',').map((part) => part.trim()).filter(Boolean);
  const bad = items.filter((item) => !/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(item) && !['loopback', 'linklocal', 'uniquelocal'].includes(item));
  if (items.length === 0 || bad.length > 0) {
    read.problems.push(`${name} must be true, false or comma-separated addresses/CIDRs (got "${value}")`);
    return false;
  }
  return items;
}

export function loadConfig(env: Env = process.env): LoadedConfig {
  const read = new Reader(env);
  const warnings: string[] = [];

  const nodeEnv = read.oneOf('NODE_ENV', NODE_ENVS, 'development');
  const port = read.integer('PORT', 3000, 0, 65535);
  const host = read.string('HOST', '127.0.0.1');
  const publicBaseUrl = (read.url('PUBLIC_BASE_URL', `http://localhost:${port}`, ['http:', 'https:']) ?? '')
    .replace(/\/+$/, '');
  const databaseUrl = read.url('DATABASE_URL', 'postgres://localhost:5432/convene', ['postgres:', 'postgresql:'])!;
  const redisUrl = read.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:'])!;
  const smtpUrl = read.url('SMTP_URL', null, ['smtp:', 'smtps:']);
  const mailFrom = read.string('MAIL_FROM', 'Convene <no-reply@convene.localhost>');
  if (!/^[^\r\n]*<?[^\s@<>]+@[^\s@<>]+>?$/.test(mailFrom)) {
    read.problems.push(`MAIL_FROM must be an address like "Convene <events@example.org>" (got "${mailFrom}")`);
  }

  let jwtSecret = read.raw('JWT_SECRET') ?? '';
  const secretBytes = Buffer.byteLength(jwtSecret, 'utf8');
  if (nodeEnv === 'production') {
    if (secretBytes === 0) read.problems.push('JWT_SECRET is required in production');
    else if (secretBytes < MIN_JWT_SECRET_BYTES) {
      read.problems.push(`JWT_SECRET must be at least ${MIN_JWT_SECRET_BYTES} bytes in production (got ${secretBytes})`);
    }
  } else if (secretBytes === 0) {
    jwtSecret = randomBytes(48).toString('base64url');
    warnings.push('JWT_SECRET is not set: using a random secret, so tokens stop working when the process restarts');
  } else if (secretBytes < MIN_JWT_SECRET_BYTES) {
    warnings.push(`JWT_SECRET is shorter than ${MIN_JWT_SECRET_BYTES} bytes: production would refuse it`);
  }

  const explicitTokenSecret = read.raw('TOKEN_SECRET');
  if (explicitTokenSecret !== undefined && Buffer.byteLength(explicitTokenSecret) < MIN_JWT_SECRET_BYTES) {
    read.problems.push(`TOKEN_SECRET must be at least ${MIN_JWT_SECRET_BYTES} bytes`);
  }
  // Without its own secret, the token key is derived from JWT_SECRET under another label, so
  // neither key reveals the other.
  const tokenSecret =
    explicitTokenSecret ??
    Buffer.from(hkdfSync('sha256', jwtSecret || 'unset', 'convene', 'convene-attendee-tokens', 32)).toString('base64url');

  const adminEmail = read.optional('ADMIN_EMAIL');
  const adminPassword = read.optional('ADMIN_PASSWORD');
  if ((adminEmail === null) !== (adminPassword === null)) {
    read.problems.push('ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
  }
  if (adminEmail !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(adminEmail)) {
    read.problems.push(`ADMIN_EMAIL must be an e-mail address (got "${adminEmail}")`);
  }
  if (adminPassword !== null && adminPassword.length < MIN_ADMIN_PASSWORD_LENGTH) {
    read.problems.push(`ADMIN_PASSWORD must be at least ${MIN_ADMIN_PASSWORD_LENGTH} characters`);
  }

  const metricsToken = read.optional('METRICS_TOKEN');
  if (metricsToken !== null && Buffer.byteLength(metricsToken) < 16) {
    read.problems.push('METRICS_TOKEN must be at least 16 bytes');
  }

  const config: Config = {
    nodeEnv,
    port,
    host,
    publicBaseUrl,
    databaseUrl,
    databasePoolSize: read.integer('DATABASE_POOL_SIZE', 20, 1, 500),
    databaseAcquireTimeoutMs: read.integer('DATABASE_ACQUIRE_TIMEOUT_MS', 10_000, 100, 600_000),
    redisUrl,
    queuePrefix: read.string('QUEUE_PREFIX', 'bull'),
    jwtSecret,
    tokenSecret,
    jwtTtlSeconds: read.integer('JWT_TTL_SECONDS', 12 * 3600, 60, 7 * 24 * 3600),
    jwtIssuer: read.string('JWT_ISSUER', 'convene'),
    jwtAudience: read.string('JWT_AUDIENCE', 'convene-api'),
    adminEmail,
    adminPassword,
    smtpUrl,
    mailFrom,
    mailDir: read.string('MAIL_DIR', 'var/mail'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    demo: read.boolean('DEMO', false),
    bodyLimitBytes: read.integer('BODY_LIMIT_BYTES', 256 * 1024, 1024, 10 * 1024 * 1024),
    workerConcurrency: read.integer('WORKER_CONCURRENCY', 8, 1, 100),
    joinWindowMinutes: read.integer('JOIN_WINDOW_MINUTES', 15, 0, 24 * 60),
    reminderSweepMs: read.integer('REMINDER_SWEEP_MS', 10 * 60_000, 1_000, 24 * 3600 * 1000),
    outboxSweepMs: read.integer('OUTBOX_SWEEP_MS', 5_000, 100, 600_000),
    offerSweepMs: read.integer('OFFER_SWEEP_MS', 60_000, 100, 3_600_000),
    webhookSweepMs: read.integer('WEBHOOK_SWEEP_MS', 1_000, 50, 600_000),
    webhookConcurrency: read.integer('WEBHOOK_CONCURRENCY', 64, 2, 1000),
    webhookAllowPrivate: read.boolean('WEBHOOK_ALLOW_PRIVATE', false),
    outboxRequeueAfterMs: read.integer('OUTBOX_REQUEUE_AFTER_MS', 120_000, 1_000, 24 * 3600 * 1000),
    shutdownGraceMs: read.integer('SHUTDOWN_GRACE_MS', 10_000, 0, 120_000),
    retentionDays: read.raw('RETENTION_DAYS') === undefined ? null : read.integer('RETENTION_DAYS', 0, 1, 36_500),
    exportsMaxConcurrent: read.integer('EXPORTS_MAX_CONCURRENT', 2, 1, 50),
    embedOrigins: readOrigins(read, 'EMBED_ORIGINS'),
    trustProxy: readTrustProxy(read, 'TRUST_PROXY'),
    rateLimitRegisterPerIpPerMinute: read.integer('RATE_LIMIT_REGISTER_PER_IP_PER_MINUTE', 20, 0, 1_000_000),
    rateLimitRegisterPerEmailPerHour: read.integer('RATE_LIMIT_REGISTER_PER_EMAIL_PER_HOUR', 10, 0, 1_000_000),
    rateLimitLoginPerIpPerMinute: read.integer('RATE_LIMIT_LOGIN_PER_IP_PER_MINUTE', 30, 0, 1_000_000),
    loginMaxFailures: read.integer('LOGIN_MAX_FAILURES', 5, 1, 1000),
    loginLockoutMinutes: read.integer('LOGIN_LOCKOUT_MINUTES', 15, 1, 24 * 60),
    passwordHashConcurrency: read.integer('PASSWORD_HASH_CONCURRENCY', 2, 1, 64),
    passwordHashQueueLimit: read.integer('PASSWORD_HASH_QUEUE_LIMIT', 32, 0, 10_000),
    metricsToken,
  };

  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return { config, warnings };
}
