import { sql } from 'drizzle-orm';
import { Writable } from 'node:stream';
import t from 'tap';
import { createDb } from '../db/client.js';
import { organizers } from '../db/schema/index.js';
import { buildApp } from '../src/app.js';
import { systemClock } from '../src/clock.js';
import { createLogger } from '../src/logger.js';
import { createRedis } from '../src/redis.js';
import { migrateOnce, signIn, testConfig, uniqueEmail, uniqueSuffix } from './helpers/app.js';
import { createSession } from './helpers/registrations.js';

/** What the app writes to its log: the lines of a real pino logger built by src/logger.ts. */
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});
const config = testConfig({ LOG_LEVEL: 'info' });
await migrateOnce(config.databaseUrl);
const database = createDb(config.databaseUrl, { max: 4 });
const redis = createRedis(config.redisUrl, 'producer');
const logger = createLogger(config, sink);
const app = await buildApp({ config, database, redis, clock: systemClock, logger });

const taken = uniqueEmail('taken');
const searchTerm = `secret-search-${uniqueSuffix()}`;
// A failed statement with an address and a search term among its parameters, as a service would run it.
app.get('/test/duplicate-organizer', async () => {
  await database.db.insert(organizers).values({ email: taken, name: searchTerm, passwordHash: 'x', role: 'organizer' });
  return { inserted: true };
});
app.get('/test/bad-uuid', async () => {
  await database.db.execute(sql`SELECT * FROM organizers WHERE id = ${searchTerm}::uuid OR email = ${taken}`);
  return {};
});
await app.ready();
t.teardown(async () => {
  await app.close();
  redis.disconnect();
  await database.pool.end();
});
const organizer = await signIn(app);
await app.services.organizers.create({ email: taken, name: 'Taken', password: 'a-long-test-password', role: 'organizer' });

function linesSince(mark: number): string {
  return lines.slice(mark).join('\n');
}

t.test('a failed statement is logged by its code and statement, without its parameters', async (t) => {
  for (const url of ['/test/duplicate-organizer', '/test/bad-uuid']) {
    const mark = lines.length;
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 500, `${url}: 500`);
    const logged = linesSince(mark);
    const failure = lines.slice(mark).map((line) => JSON.parse(line) as { msg: string; err?: Record<string, unknown> }).find((entry) => entry.msg === 'request failed');
    t.ok(failure, `${url}: the failure is logged`);
    t.ok(failure?.err?.code, `${url}: with the error code (${String(failure?.err?.code)})`);
    t.ok(failure?.err?.statement ?? (failure?.err?.cause as Record<string, unknown> | undefined)?.code, `${url}: and what failed`);
    t.notMatch(logged, taken, `${url}: no address`);
    t.notMatch(logged, taken.split('@')[0]!, `${url}: not even its local part`);
    t.notMatch(logged, searchTerm, `${url}: no search term`);
    t.notMatch(logged, 'params', `${url}: no parameter list`);
  }
  const mark = lines.length;
  await app.inject({ method: 'GET', url: '/test/duplicate-organizer' });
  t.match(linesSince(mark), /"constraint":"organizers_email_key"|"code":"23505"/, 'a unique violation names its code');
});

t.test('a drizzle error logged by its message alone (as the worker does) holds no parameters', async (t) => {
  const error = await database.db
    .insert(organizers)
    .values({ email: taken, name: searchTerm, passwordHash: 'x', role: 'organizer' })
    .then(() => null, (caught: unknown) => caught as Error);
  t.ok(error, 'the insert failed');
  const mark = lines.length;
  logger.warn({ err: { message: error!.message } }, 'job failed');
  logger.warn({ err: error }, 'job failed');
  const logged = linesSince(mark);
  t.notMatch(logged, taken);
  t.notMatch(logged, searchTerm);
  t.match(logged, /insert organizers/, 'the statement is named');
});

t.test('request logs hold no query string and no token', async (t) => {
  const session = await createSession(app, organizer.headers);
  const mark = lines.length;
  await app.inject({
    method: 'GET',
    url: `/api/v1/sessions/${session.id}/registrations?q=${searchTerm}&status=confirmed`,
    headers: organizer.headers,
  });
  const token = `tok${uniqueSuffix()}${uniqueSuffix()}`;
  for (const path of [`/m/${token}`, `/j/${token}`, `/api/v1/registrations/${token}`, `/feeds/attendees/${token}.ics`]) {
    await app.inject({ method: 'GET', url: path });
  }
  await app.inject({ method: 'GET', url: `/s/nowhere?email=${encodeURIComponent(taken)}` });
  const logged = linesSince(mark);
  t.match(logged, `/api/v1/sessions/${session.id}/registrations`, 'the request is logged');
  t.notMatch(logged, searchTerm, 'no search term');
  t.notMatch(logged, token, 'no token');
  t.notMatch(logged, taken, 'no address');
  t.notMatch(logged, organizer.token, 'no bearer token');
});

t.test('an address logged by mistake is masked', async (t) => {
  const mark = lines.length;
  logger.info({ email: taken }, 'a field named email');
  logger.info({ recipient: taken }, `an address in the message: ${taken}`);
  logger.warn({ err: new Error(`550 5.1.1 <${taken}>: Recipient address rejected`) }, 'e-mail not delivered');
  const logged = linesSince(mark);
  t.equal(lines.length - mark, 3, 'three lines');
  t.notMatch(logged, taken);
  for (const line of lines.slice(mark)) t.doesNotThrow(() => JSON.parse(line), 'each line is still JSON');
});
