import t, { type Test } from 'tap';
import { ConfigError, loadConfig, redactUrl } from '../src/config.js';

const SECRET_32 = 'x'.repeat(32);

/** The ConfigError that loading this environment throws. */
function configError(t: Test, env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    t.type(error, ConfigError, 'throws a ConfigError');
    return error as ConfigError;
  }
  t.fail('loadConfig accepted an invalid environment');
  return new ConfigError([]);
}

t.test('defaults', async (t) => {
  const { config, warnings } = loadConfig({});
  t.equal(config.nodeEnv, 'development');
  t.equal(config.port, 3000);
  t.equal(config.host, '127.0.0.1');
  t.equal(config.publicBaseUrl, 'http://localhost:3000');
  t.equal(config.databaseUrl, 'postgres://localhost:5432/convene');
  t.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  t.equal(config.jwtTtlSeconds, 12 * 3600, 'tokens last 12 h');
  t.equal(config.jwtIssuer, 'convene');
  t.equal(config.jwtAudience, 'convene-api');
  t.equal(config.adminEmail, null);
  t.equal(config.adminPassword, null);
  t.equal(config.smtpUrl, null);
  t.equal(config.logLevel, 'info');
  t.equal(config.demo, false);
  t.equal(config.bodyLimitBytes, 256 * 1024);
  t.equal(config.shutdownGraceMs, 10_000);
  t.equal(warnings.length, 1, 'one warning: the random JWT secret');
});

t.test('explicit values are read, trimmed and checked', async (t) => {
  const { config, warnings } = loadConfig({
    NODE_ENV: 'production',
    PORT: ' 8080 ',
    HOST: '0.0.0.0',
    PUBLIC_BASE_URL: 'https://events.example.org///',
    DATABASE_URL: 'postgresql://app:pw@db:5432/convene',
    REDIS_URL: 'rediss://cache:6380',
    JWT_SECRET: SECRET_32,
    JWT_TTL_SECONDS: '3600',
    LOG_LEVEL: 'debug',
    ADMIN_EMAIL: 'admin@example.org',
    ADMIN_PASSWORD: 'a-long-admin-password',
    SMTP_URL: 'smtp://mail:25',
    DEMO: 'yes',
    BODY_LIMIT_BYTES: '2048',
  });
  t.equal(config.nodeEnv, 'production');
  t.equal(config.port, 8080);
  t.equal(config.host, '0.0.0.0');
  t.equal(config.publicBaseUrl, 'https://events.example.org', 'trailing slashes dropped');
  t.equal(config.databaseUrl, 'postgresql://app:pw@db:5432/convene');
  t.equal(config.redisUrl, 'rediss://cache:6380');
  t.equal(config.jwtSecret, SECRET_32);
  t.equal(config.jwtTtlSeconds, 3600);
  t.equal(config.logLevel, 'debug');
  t.equal(config.adminEmail, 'admin@example.org');
  t.equal(config.smtpUrl, 'smtp://mail:25');
  t.equal(config.demo, true);
  t.equal(config.bodyLimitBytes, 2048);
  t.same(warnings, []);
});

t.test('test environment logs nothing by default', async (t) => {
  t.equal(loadConfig({ NODE_ENV: 'test' }).config.logLevel, 'silent');
});

t.test('each bad variable is refused with a message naming it', async (t) => {
  const cases: Array<[string, Record<string, string>]> = [
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80.5' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/convene' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['REDIS_URL', { REDIS_URL: 'http://127.0.0.1:6379' }],
    ['PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'ftp://example.org' }],
    ['SMTP_URL', { SMTP_URL: 'http://mail' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['DEMO', { DEMO: 'maybe' }],
    ['JWT_TTL_SECONDS', { JWT_TTL_SECONDS: '10' }],
    ['BODY_LIMIT_BYTES', { BODY_LIMIT_BYTES: '12' }],
    ['MAIL_FROM', { MAIL_FROM: 'nobody' }],
    ['ADMIN_EMAIL', { ADMIN_EMAIL: 'not-an-email', ADMIN_PASSWORD: 'a-long-admin-password' }],
    ['ADMIN_PASSWORD', { ADMIN_EMAIL: 'admin@example.org', ADMIN_PASSWORD: 'short' }],
  ];
  for (const [name, env] of cases) {
    const error = configError(t, env);
    t.match(error.message, name, `${JSON.stringify(env)} names ${name}`);
    t.equal(error.problems.length, 1, `${JSON.stringify(env)} gives exactly one problem`);
  }
});

t.test('every problem is reported at once', async (t) => {
  const error = configError(t, { PORT: 'x', LOG_LEVEL: 'loud', NODE_ENV: 'prod' });
  t.equal(error.problems.length, 3);
  for (const name of ['PORT', 'LOG_LEVEL', 'NODE_ENV']) t.match(error.message, name);
});

t.test('production refuses a missing or short JWT_SECRET', async (t) => {
  const missing = configError(t, { NODE_ENV: 'production' });
  t.match(missing.message, /JWT_SECRET/);
  t.match(missing.message, /required/);

  const blank = configError(t, { NODE_ENV: 'production', JWT_SECRET: '    ' });
  t.match(blank.message, /JWT_SECRET/);

  const short = configError(t, { NODE_ENV: 'production', JWT_SECRET: 'y'.repeat(31) });
  t.match(short.message, /JWT_SECRET/);
  t.match(short.message, /32 bytes/);
  t.match(short.message, /got 31/);

  // Bytes, not characters: 16 two-byte characters are 32 bytes.
  t.equal(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'é'.repeat(16) }).config.jwtSecret, 'é'.repeat(16));
  t.equal(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET_32 }).config.jwtSecret, SECRET_32);
});

t.test('development without JWT_SECRET gets a random secret and a warning', async (t) => {
  const first = loadConfig({ NODE_ENV: 'development' });
  const second = loadConfig({ NODE_ENV: 'development' });
  t.ok(Buffer.byteLength(first.config.jwtSecret) >= 32, 'the random secret is long enough');
  t.not(first.config.jwtSecret, second.config.jwtSecret, 'a fresh secret each time');
  t.equal(first.warnings.length, 1);
  t.match(first.warnings[0], /JWT_SECRET/);

  const short = loadConfig({ NODE_ENV: 'development', JWT_SECRET: 'short' });
  t.equal(short.config.jwtSecret, 'short', 'a short secret is kept in development');
  t.match(short.warnings.join('\n'), /JWT_SECRET.*production/);
});

t.test('ADMIN_EMAIL and ADMIN_PASSWORD go together', async (t) => {
  const noPassword = configError(t, { ADMIN_EMAIL: 'admin@example.org' });
  t.match(noPassword.message, /ADMIN_EMAIL and ADMIN_PASSWORD/);
  const noEmail = configError(t, { ADMIN_PASSWORD: 'a-long-admin-password' });
  t.match(noEmail.message, /ADMIN_EMAIL and ADMIN_PASSWORD/);
  t.notMatch(noEmail.message, 'a-long-admin-password', 'the password is not echoed');
});

t.test('a password in a URL never appears in an error message', async (t) => {
  const secret = 'S3cr3tPa55';
  const urls = [
    `mysql://convene:${secret}@db.internal:3306/convene`, // parses; wrong protocol
    `postgres://convene:${secret}@db.internal:notaport/convene`, // does not parse
    `postgres://convene:${secret}@db.internal:5432:5432/convene`, // does not parse
    `postgres://convene:${secret}/x@db.internal:bad/convene`, // does not parse, and the password holds a slash
    `postgres://convene:${secret}@@db.internal:bad/convene`, // does not parse, two @
  ];
  for (const url of urls) {
    const error = configError(t, { DATABASE_URL: url });
    t.match(error.message, /DATABASE_URL/, `${url}: names the variable`);
    t.notMatch(error.message, secret, `${url}: the password is hidden`);
    t.notMatch(error.problems.join('\n'), secret);
  }
  const redis = configError(t, { REDIS_URL: `http://:${secret}@cache:6379` });
  t.notMatch(redis.message, secret, 'a Redis password is hidden too');

  t.equal(redactUrl(`postgres://u:${secret}@h:5432/db`), 'postgres://u:***@h:5432/db');
  t.equal(redactUrl('postgres://h:5432/db'), 'postgres://h:5432/db', 'nothing to hide');
});

t.test('redactUrl hides the user part of an unparseable URL up to the last @', async (t) => {
  t.equal(redactUrl('postgres://u:p/w@h:bad/db'), 'postgres://***@h:bad/db');
  t.equal(redactUrl('postgres://u:p@ss@h:bad/db'), 'postgres://***@h:bad/db');
  t.equal(redactUrl('no at sign here'), 'no at sign here');
});
