import { sql } from 'drizzle-orm';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { Redis } from 'ioredis';
import t from 'tap';
import { createDb } from '../../db/client.js';
import { isConnectionError } from '../../db/errors.js';
import { pingRedis } from '../../src/routes/ops/index.js';
import { buildApp } from '../../src/app.js';
import { systemClock } from '../../src/clock.js';
import { createRedis } from '../../src/redis.js';
import { buildTestApp, sessionBody, signIn, testConfig, uniqueSuffix } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';

const { app } = await buildTestApp(t);
const organizer = await signIn(app);

t.test('/healthz answers ok', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ok' });
});

t.test('/readyz is ready when Postgres and Redis answer', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  t.equal(res.headers['cache-control'], 'no-store');
});

t.test('/readyz is 503, quickly, when Redis is unreachable', async (t) => {
  const { app: noRedis } = await buildTestApp(t, { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
  const started = Date.now();
  const res = await noRedis.inject({ method: 'GET', url: '/readyz' });
  const elapsed = Date.now() - started;
  t.equal(res.statusCode, 503);
  t.same(res.json(), { status: 'unavailable', checks: { postgres: 'ok', redis: 'unavailable' } });
  t.ok(elapsed < 2_500, `answered in ${elapsed} ms`);
  t.equal((await noRedis.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'healthz touches nothing');
});

t.test('the readiness ping waits for a Redis connection that is being made', async (t) => {
  // Just after start the producer connection (no offline queue) is still connecting.
  const config = testConfig();
  const redis = new Redis(config.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  t.teardown(() => redis.disconnect());
  const connecting = redis.connect();
  t.equal(redis.status, 'connecting');
  await t.resolves(pingRedis(redis, 2_000), 'the ping waits for the connection, then answers');
  await connecting;
  await t.rejects(pingRedis(new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null }), 2_000));
});

t.test('when Postgres is unreachable: /readyz 503 and API calls 503 without internals', async (t) => {
  const secret = `Pw${uniqueSuffix()}`;
  const config = testConfig({ DATABASE_URL: `postgres://convene:${secret}@127.0.0.1:1/convene` });
  const database = createDb(config.databaseUrl, { max: 2 });
  const redis = createRedis(config.redisUrl, 'producer');
  const down = await buildApp({ config, database, redis, clock: systemClock });
  await down.ready();
  t.teardown(async () => {
    await down.close();
    redis.disconnect();
    await database.pool.end();
  });

  const ready = await down.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.same(ready.json(), { status: 'unavailable', checks: { postgres: 'unavailable', redis: 'ok' } });

  const login = await down.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'a@example.org', password: 'x' } });
  const withToken = await down.inject({ method: 'GET', url: '/api/v1/sessions', headers: organizer.headers });
  for (const [label, res] of [
    ['login', login],
    ['authenticated list', withToken],
  ] as const) {
    const body = expectProblem(t, res, 503, label);
    t.equal(res.headers['retry-after'], '5', `${label}: Retry-After`);
    for (const leak of [secret, 'ECONNREFUSED', '127.0.0.1', 'convene:', 'stack', '    at ']) {
      t.notMatch(res.body, leak, `${label}: no "${leak}" in the body`);
    }
    t.same(Object.keys(body).sort(), ['detail', 'status', 'title', 'type'], `${label}: only the problem fields`);
  }
});

t.test('an unexpected error is a 500 that shows nothing of it', async (t) => {
  const config = testConfig();
  const database = createDb(config.databaseUrl, { max: 1 });
  const redis = createRedis(config.redisUrl, 'producer');
  const broken = await buildApp({ config, database, redis, clock: systemClock });
  broken.get('/boom', async () => {
    throw new Error('password=hunter2 in /srv/convene/src/secret.ts');
  });
  broken.get('/boom-coded', async () => {
    throw Object.assign(new Error('SELECT * FROM organizers failed: hunter2'), { statusCode: 502, code: 'EINTERNAL' });
  });
  await broken.ready();
  t.teardown(async () => {
    await broken.close();
    redis.disconnect();
    await database.pool.end();
  });
  for (const url of ['/boom', '/boom-coded']) {
    const res = await broken.inject({ method: 'GET', url });
    const body = expectProblem(t, res, 500, url);
    t.equal(body.title, 'Internal Server Error');
    for (const leak of ['hunter2', 'secret.ts', 'SELECT', 'EINTERNAL', '    at ']) t.notMatch(res.body, leak, `${url}: no "${leak}"`);
  }
});

t.test('an unknown route is a 404 problem under /api/, and a 404 page for people elsewhere', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/api/v1/no/such/page?email=someone@example.org' });
  const body = expectProblem(t, res, 404);
  t.equal(body.title, 'Not Found');
  t.equal(body.detail, 'No route for GET /api/v1/no/such/page', 'the query string is not echoed');
  const page = await app.inject({ method: 'GET', url: '/no/such/page?email=someone@example.org' });
  t.equal(page.statusCode, 404);
  t.match(String(page.headers['content-type']), /^text\/html/, 'outside /api/: the HTML 404 page (tests/pages/attendee-experience.test.ts)');
  t.notMatch(page.body, 'someone@example.org', 'the query string is not echoed');
  expectProblem(t, await app.inject({ method: 'GET', url: '/api/v1/nothing' }), 404, 'under /api/v1');
  expectProblem(t, await app.inject({ method: 'DELETE', url: '/healthz' }), 404, 'a method the route lacks');
});

t.test('a body over the limit is 413', async (t) => {
  const { app: small } = await buildTestApp(t, { env: { BODY_LIMIT_BYTES: '1024' } });
  const author = await signIn(small);
  const big = sessionBody({ description: 'x'.repeat(2_000) });
  const res = await small.inject({ method: 'POST', url: '/api/v1/sessions', headers: author.headers, payload: big });
  const body = expectProblem(t, res, 413);
  t.equal(body.title, 'Content Too Large');
  t.equal(body.detail, 'The request body is too large');

  const login = await small.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: 'a@example.org', password: 'p'.repeat(1_100) },
  });
  expectProblem(t, login, 413, 'login too');

  const fits = await small.inject({ method: 'POST', url: '/api/v1/sessions', headers: author.headers, payload: sessionBody() });
  t.equal(fits.statusCode, 201, 'a body under the limit is fine');
});

t.test('an unsupported content type is 415', async (t) => {
  for (const type of ['text/plain', 'application/xml']) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/sessions',
      headers: { ...organizer.headers, 'content-type': type },
      payload: JSON.stringify(sessionBody()),
    });
    const body = expectProblem(t, res, 415, type);
    t.equal(body.title, 'Unsupported Media Type');
    t.match(body.detail, type);
  }
});

t.test('broken JSON is 400', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/sessions',
    headers: { ...organizer.headers, 'content-type': 'application/json' },
    payload: '{"title": "Broken",',
  });
  const body = expectProblem(t, res, 400);
  t.equal(body.title, 'Bad Request');
  t.notMatch(res.body, '    at ', 'no stack');

  const empty = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: { 'content-type': 'application/json' },
    payload: '',
  });
  expectProblem(t, empty, 400, 'an empty JSON body');

  const proto = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: { 'content-type': 'application/json' },
    payload: '{"email":"a@example.org","password":"x","__proto__":{"admin":true}}',
  });
  expectProblem(t, proto, 400, '__proto__ in a body');
});

t.test('/metrics counts requests by route pattern', async (t) => {
  const marker = uniqueSuffix();
  await app.inject({ method: 'GET', url: '/healthz' });
  await app.inject({ method: 'GET', url: `/unknown-${marker}` });
  await app.inject({ method: 'GET', url: `/api/v1/sessions/00000000-0000-4000-8000-${marker}00`, headers: organizer.headers });
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(String(res.headers['content-type']), /^text\/plain/);
  t.match(res.body, /# TYPE http_requests_total counter/);
  t.match(res.body, /http_requests_total\{method="GET",route="\/healthz",status_code="200"\} [1-9]/);
  t.match(res.body, /http_requests_total\{method="GET",route="\/api\/v1\/sessions\/:id",status_code="404"\} [1-9]/);
  t.match(res.body, /http_request_duration_seconds_bucket/);
  t.notMatch(res.body, marker, 'URLs never become labels');
});

t.test('/openapi.json is the API document', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(res.statusCode, 200);
  t.match(String(res.headers['content-type']), /^application\/json/);
  const doc = res.json();
  t.equal(doc.openapi, '3.1.0');
  t.equal(doc.info.title, 'Convene API');
  for (const path of [
    '/api/v1/auth/login',
    '/api/v1/auth/me',
    '/api/v1/organizers',
    '/api/v1/sessions',
    '/api/v1/sessions/{id}',
    '/api/v1/sessions/{id}/publish',
    '/api/v1/sessions/{id}/cancel',
    '/healthz',
    '/readyz',
  ]) {
    t.ok(doc.paths[path], `documents ${path}`);
  }
  t.ok(doc.paths['/api/v1/sessions'].post, 'POST /api/v1/sessions');
  t.ok(doc.components.securitySchemes.bearer, 'bearer scheme');

  const docs = await app.inject({ method: 'GET', url: '/docs' });
  t.ok(docs.statusCode < 400, `/docs answers (${docs.statusCode})`);
});

t.test('in production /metrics is 404 without METRICS_TOKEN, and needs it as a bearer token once set', async (t) => {
  const { app: hidden } = await buildTestApp(t, { env: { NODE_ENV: 'production' } });
  const unknown = await hidden.inject({ method: 'GET', url: '/metrics' });
  const body = expectProblem(t, unknown, 404, 'no METRICS_TOKEN');
  t.equal(body.detail, 'No route for GET /metrics', 'the same 404 as any unknown address');
  t.notMatch(unknown.body, 'http_requests_total');

  const token = `metrics-${uniqueSuffix()}-${uniqueSuffix()}`;
  const { app: closed } = await buildTestApp(t, { env: { NODE_ENV: 'production', METRICS_TOKEN: token } });
  for (const [label, authorization] of [
    ['no Authorization', undefined],
    ['a wrong token', `Bearer ${token}x`],
    ['a prefix of the token', `Bearer ${token.slice(0, -1)}`],
    ['the token without Bearer', token],
    ['an organizer JWT', organizer.headers.authorization],
  ] as const) {
    const res = await closed.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
    expectProblem(t, res, 401, label);
    t.equal(res.headers['www-authenticate'], 'Bearer', `${label}: WWW-Authenticate`);
    t.notMatch(res.body, 'http_requests_total', `${label}: no metrics`);
  }
  const allowed = await closed.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
  t.equal(allowed.statusCode, 200, 'the token opens it');
  t.match(allowed.body, /# TYPE http_requests_total counter/);
  t.equal(allowed.headers['cache-control'], 'no-store');
});

t.test('HSTS on every answer when PUBLIC_BASE_URL is https, and only then', async (t) => {
  const { app: secure } = await buildTestApp(t, { env: { PUBLIC_BASE_URL: 'https://convene.example.org' } });
  for (const url of ['/healthz', '/', '/s/no-such-session', '/no/such/page', '/api/v1/sessions', '/docs', '/openapi.json']) {
    const res = await secure.inject({ method: 'GET', url });
    t.equal(res.headers['strict-transport-security'], 'max-age=31536000', `${url} (${res.statusCode})`);
  }
  const login = await secure.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'x' } });
  t.equal(login.headers['strict-transport-security'], 'max-age=31536000', `a 400 (${login.statusCode})`);
  const plain = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(plain.headers['strict-transport-security'], undefined, 'not over http');
});

t.test('/docs has the security headers of every other page', async (t) => {
  const docs = await app.inject({ method: 'GET', url: '/docs' });
  t.equal(docs.statusCode, 200);
  t.match(String(docs.headers['content-type']), /^text\/html/);
  const page = await app.inject({ method: 'GET', url: '/' });
  for (const header of ['content-security-policy', 'x-frame-options', 'x-content-type-options', 'referrer-policy']) {
    t.ok(docs.headers[header], `/docs: ${header}`);
    t.equal(docs.headers[header], page.headers[header], `/docs: ${header} as on the home page`);
  }
  t.match(String(docs.headers['content-security-policy']), "frame-ancestors 'none'");
  t.notMatch(String(docs.headers['content-security-policy']), 'unsafe-inline');
  t.notMatch(docs.body, /<script>|<script\s+(?![^>]*\bsrc=)[^>]*>|\sstyle=/, 'nothing inline that the policy would block');
  for (const asset of ['/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-initializer.js', '/docs/static/swagger-ui.css', '/docs/json']) {
    const res = await app.inject({ method: 'GET', url: asset });
    t.equal(res.statusCode, 200, `${asset} loads`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${asset}: nosniff`);
  }
});

t.test('the pool giving no connection in time is 503 with Retry-After, never 500', async (t) => {
  const config = testConfig();
  const database = createDb(config.databaseUrl, { max: 1, acquireTimeoutMs: 200 });
  const redis = createRedis(config.redisUrl, 'producer');
  const busy = await buildApp({ config, database, redis, clock: systemClock });
  await busy.ready();
  const held = await database.pool.connect();
  t.teardown(async () => {
    held.release();
    await busy.close();
    redis.disconnect();
    await database.pool.end();
  });
  const token = busy.issueToken(organizer.organizer).token;
  for (const [label, request] of [
    ['public list', { method: 'GET', url: '/api/v1/public/sessions' }],
    ['organizer list', { method: 'GET', url: '/api/v1/sessions', headers: { authorization: `Bearer ${token}` } }],
    ['login', { method: 'POST', url: '/api/v1/auth/login', payload: { email: 'someone@example.org', password: 'a-long-test-password' } }],
  ] as const) {
    const res = await busy.inject(request as never);
    const body = expectProblem(t, res, 503, label);
    t.equal(res.headers['retry-after'], '5', `${label}: Retry-After`);
    t.notMatch(res.body, 'timeout exceeded', `${label}: no internals`);
    t.same(Object.keys(body).sort(), ['detail', 'status', 'title', 'type'], `${label}: only the problem fields`);
  }
  const page = await busy.inject({ method: 'GET', url: '/' });
  t.equal(page.statusCode, 503, 'a page too');
  t.equal(page.headers['retry-after'], '5', 'page: Retry-After');
});

t.test('a connection lost mid-statement is 503', async (t) => {
  const config = testConfig();
  const database = createDb(config.databaseUrl, { max: 2 });
  const redis = createRedis(config.redisUrl, 'producer');
  const marker = `lost_${uniqueSuffix()}`;
  const dropping = await buildApp({ config, database, redis, clock: systemClock });
  dropping.get('/test/slow', async () => {
    await database.db.execute(sql`SELECT pg_sleep(5) AS ${sql.identifier(marker)}`);
    return {};
  });
  await dropping.ready();
  t.teardown(async () => {
    await dropping.close();
    redis.disconnect();
    await database.pool.end();
  });
  const answer = dropping.inject({ method: 'GET', url: '/test/slow' });
  const killer = createDb(config.databaseUrl, { max: 1 });
  t.teardown(() => killer.pool.end());
  let killed = 0;
  for (let attempt = 0; attempt < 50 && killed === 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { rows } = await killer.pool.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()',
      [`SELECT pg_sleep(5) AS "${marker}"`],
    );
    for (const { pid } of rows) await killer.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    killed = rows.length;
  }
  t.equal(killed, 1, 'the statement was running and its connection was killed');
  const res = await answer;
  expectProblem(t, res, 503);
  t.equal(res.headers['retry-after'], '5');
});

t.test('connection failures are recognised through drizzle\'s wrapper', async (t) => {
  const wrapped = (cause: Error) => new DrizzleQueryError('select "id" from "sessions" where "slug" = $1', ['x'], cause);
  t.ok(isConnectionError(wrapped(new Error('timeout exceeded when trying to connect'))), 'the pool had no connection in time');
  t.ok(isConnectionError(wrapped(new Error('Connection terminated due to connection timeout'))), 'a connect that timed out');
  t.ok(isConnectionError(wrapped(new Error('Connection terminated unexpectedly'))), 'a connection that died');
  t.ok(isConnectionError(wrapped(Object.assign(new Error('too many clients already'), { code: '53300' }))), 'the server is full');
  t.ok(isConnectionError(wrapped(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }))), 'a statement that timed out');
  t.notOk(isConnectionError(wrapped(Object.assign(new Error('duplicate key'), { code: '23505' }))), 'a unique violation is not');
  t.notOk(
    isConnectionError(new DrizzleQueryError('select 1 where $1', ['Connection terminated'], new Error('syntax error'))),
    'a parameter that reads like one is not',
  );
});
