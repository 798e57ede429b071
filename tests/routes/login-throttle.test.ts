import { createHash } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { createLoginThrottle } from '../../src/plugins/login-throttle.js';
import { UnauthorizedError } from '../../src/errors.js';
import { buildTestApp, signIn, TEST_REDIS_URL, uniqueEmail } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { randomIp } from '../pages/support.js';

const PASSWORD = 'a-long-test-password'; // the password signIn gives its organizers
const WINDOW_SECONDS = 15 * 60;

const { app } = await buildTestApp(t);

const login = (email: string, password: string, remoteAddress = randomIp()) =>
  app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, remoteAddress });

function retryAfter(t: Test, res: LightMyRequestResponse, max: number, label: string): number {
  const seconds = Number(res.headers['retry-after']);
  t.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= max, `${label}: Retry-After within the window (${String(res.headers['retry-after'])})`);
  return seconds;
}

t.test('per e-mail: five failures, then 429 even with the right password; known and unknown alike', async (t) => {
  const known = (await signIn(app)).organizer.email;
  const unknown = uniqueEmail('nobody');
  const answers: Record<string, LightMyRequestResponse[]> = { known: [], unknown: [] };
  for (let attempt = 1; attempt <= 5; attempt += 1) {
    // Each from another address, and in other spellings: the count follows the normalised e-mail.
    const spell = (email: string) => (attempt % 2 ? email.toUpperCase() : ` ${email} `);
    answers.known!.push(await login(spell(known), 'not-the-password'));
    answers.unknown!.push(await login(spell(unknown), 'not-the-password'));
  }
  for (const res of [...answers.known!, ...answers.unknown!]) t.equal(res.statusCode, 401, 'failures 1 to 5 are 401');

  const lockedKnown = await login(known, PASSWORD);
  const lockedUnknown = await login(unknown, PASSWORD);
  t.match(expectProblem(t, lockedKnown, 429, 'the sixth, with the right password').detail, /Too many failed sign-ins for this e-mail address/);
  expectProblem(t, lockedUnknown, 429, 'the sixth for an unknown e-mail');
  const seconds = retryAfter(t, lockedKnown, WINDOW_SECONDS, 'known');
  t.ok(seconds > WINDOW_SECONDS - 60, 'the window runs from the first failure');
  retryAfter(t, lockedUnknown, WINDOW_SECONDS, 'unknown');
  const strip = (res: LightMyRequestResponse) => res.body.replace(/\d+ seconds/, 'N seconds');
  t.equal(strip(lockedKnown), strip(lockedUnknown), 'the same answer for a known and an unknown e-mail');
  t.equal(lockedKnown.headers['content-type'], lockedUnknown.headers['content-type']);
  t.notMatch(lockedKnown.body, known, 'the e-mail is not echoed');

  t.equal((await login(uniqueEmail('bystander'), 'not-the-password')).statusCode, 401, 'another e-mail is not locked');
});

t.test('per e-mail: only failures count', async (t) => {
  const email = (await signIn(app)).organizer.email;
  for (let i = 0; i < 4; i += 1) t.equal((await login(email, 'not-the-password')).statusCode, 401, `failure ${i + 1}`);
  for (let i = 0; i < 3; i += 1) t.equal((await login(email, PASSWORD)).statusCode, 200, `success ${i + 1} does not count`);
  t.equal((await login(email, 'not-the-password')).statusCode, 401, 'failure 5');
  expectProblem(t, await login(email, PASSWORD), 429, 'then locked');
});

t.test('per e-mail: wrong current passwords of a password change count too', async (t) => {
  const who = await signIn(app);
  const change = () =>
    app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: who.headers, payload: { currentPassword: 'guess-guess-guess', newPassword: 'a-brand-new-password' } });
  for (let i = 0; i < 5; i += 1) expectProblem(t, await change(), 403, `wrong current password ${i + 1}`);
  expectProblem(t, await change(), 429, 'the sixth guess');
  expectProblem(t, await login(who.organizer.email, PASSWORD), 429, 'and logins of that e-mail');
});

t.test('Redis holds neither the address nor its plain hash', async (t) => {
  const email = uniqueEmail('keyed');
  const redis = new Redis(TEST_REDIS_URL);
  t.teardown(() => redis.disconnect());
  const before = new Set(await redis.keys('convene:login:*'));
  await login(email, 'not-the-password');
  const keys = (await redis.keys('convene:login:*')).filter((key) => !before.has(key));
  t.ok(keys.length > 0, 'the failure is counted in Redis');
  const local = email.split('@')[0]!;
  t.notOk(keys.some((key) => key.includes(local) || key.includes('@')), 'no key holds the address');
  const plain = createHash('sha256').update(email);
  const [hex, base64url] = [plain.copy().digest('hex'), plain.digest('base64url')];
  t.notOk(keys.some((key) => key.includes(hex) || key.includes(base64url.slice(0, 20))), 'nor a hash anyone can compute from a list of addresses');
});

t.test('per client address: RATE_LIMIT_LOGIN_PER_IP_PER_MINUTE logins a minute, whatever the e-mail', async (t) => {
  const limited = await buildTestApp(t, { env: { RATE_LIMIT_LOGIN_PER_IP_PER_MINUTE: '3' } });
  const from = (remoteAddress: string) =>
    limited.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: uniqueEmail('ip'), password: 'x' }, remoteAddress });
  // The producer connection does not queue commands: until it is up the limit lets logins through uncounted.
  while ((await limited.app.inject({ method: 'GET', url: '/readyz' })).statusCode !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
  const ip = randomIp();
  for (let i = 1; i <= 3; i += 1) t.equal((await from(ip)).statusCode, 401, `login ${i}`);
  const fourth = await from(ip);
  t.match(expectProblem(t, fourth, 429, 'the fourth in a minute').detail, /from your network/);
  retryAfter(t, fourth, 60, 'per address');
  t.match(String(fourth.headers['cache-control']), /no-store/, 'a refused login is not stored either');
  t.equal((await from(randomIp())).statusCode, 401, 'another address is not limited');
});

t.test('without Redis, each process still counts failures in memory', async (t) => {
  const unreachable = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const host = Fastify();
  t.teardown(async () => {
    unreachable.disconnect();
    await host.close();
  });
  const throttle = createLoginThrottle(host, { redis: unreachable, secret: 'secret', perIpPerMinute: 0, maxFailures: 5, lockoutMinutes: 15 });
  const fail = () => throttle.guard('someone@example.org', async () => {
    throw new UnauthorizedError('Wrong e-mail or password');
  });
  for (let i = 0; i < 5; i += 1) await t.rejects(fail(), new UnauthorizedError('Wrong e-mail or password'), `failure ${i + 1}`);
  await t.rejects(fail(), /Too many failed sign-ins/, 'the sixth is refused');
});

interface Tally {
  [status: number]: number;
}

/** `total` logins, `concurrency` at a time, against a listening server (real sockets, real interleaving). */
async function flood(base: string, total: number, concurrency: number, body: (index: number) => object) {
  const tally: Tally = {};
  const missingRetryAfter: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      const res = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(index)),
      });
      await res.arrayBuffer();
      tally[res.status] = (tally[res.status] ?? 0) + 1;
      if ((res.status === 429 || res.status === 503) && !res.headers.get('retry-after')) missingRetryAfter.push(res.status);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { tally, missingRetryAfter };
}

t.test('a login flood of 300 at 50 at once: 401, 429 or 503, never 500', async (t) => {
  const served = await buildTestApp(t, { poolSize: 20 });
  const address = await served.app.listen({ port: 0, host: '127.0.0.1' });
  const known = (await signIn(served.app)).organizer.email;

  const oneAccount = await flood(address, 300, 50, () => ({ email: known, password: 'not-the-password' }));
  t.same(Object.keys(oneAccount.tally).sort(), ['401', '429'], `one account: only 401 and 429 (${JSON.stringify(oneAccount.tally)})`);
  t.equal(oneAccount.tally[401], 5, 'five failures were checked, the rest refused unhashed');
  t.same(oneAccount.missingRetryAfter, [], 'every 429 says when to retry');

  const manyAccounts = await flood(address, 300, 50, (index) => ({ email: `flood-${index}-${uniqueEmail('many')}`, password: 'not-the-password' }));
  t.comment(`one account ${JSON.stringify(oneAccount.tally)}; many accounts ${JSON.stringify(manyAccounts.tally)}`);
  const statuses = Object.keys(manyAccounts.tally);
  t.ok(statuses.every((status) => status === '401' || status === '503'), `many e-mails: only 401 and 503 (${JSON.stringify(manyAccounts.tally)})`);
  t.ok((manyAccounts.tally[503] ?? 0) > 0, 'hashing is bounded: beyond the queue a login is 503');
  t.ok((manyAccounts.tally[401] ?? 0) >= 34, 'the hashes running and queued were all answered');
  t.same(manyAccounts.missingRetryAfter, [], 'every 503 says when to retry');
});
