import t, { type Test } from 'tap';
import { buildTestApp, signIn, uniqueEmail } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { startRedisProcess } from '../helpers/processes.js';
import { CITY_QUESTIONS, createSession } from '../helpers/registrations.js';
import { expectPage, postForm, randomIp, storedFor } from './support.js';

// The limits on, small, for this file (the default test configuration turns them off).
const limited = { RATE_LIMIT_REGISTER_PER_IP_PER_MINUTE: '3', RATE_LIMIT_REGISTER_PER_EMAIL_PER_HOUR: '2' };
const { app, database } = await buildTestApp(t, { env: limited });
const owner = await signIn(app);
const session = await createSession(app, owner.headers, { questions: CITY_QUESTIONS });

const apiPost = (payload: Record<string, unknown>, remoteAddress: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/api/v1/public/sessions/${session.slug}/registrations`, payload, remoteAddress, headers });
const person = (email = uniqueEmail('limited')) => ({ name: 'Rate Limited', email, answers: { city: 'X' }, consent: true });
const formPerson = (email = uniqueEmail('limited')) => ({ name: 'Rate Limited', email, 'answers[city]': 'X', consent: 'on' });

function retryAfter(t: Test, value: unknown, max: number, label: string): void {
  const seconds = Number(value);
  t.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= max, `${label}: Retry-After is whole seconds within the window (${String(value)})`);
}

t.test('the API: per client address, 429 problem with Retry-After', async (t) => {
  const ip = randomIp();
  for (let i = 1; i <= 3; i += 1) t.equal((await apiPost(person(), ip)).statusCode, 202, `post ${i} from one address`);
  const fourth = await apiPost(person(), ip);
  const problem = expectProblem(t, fourth, 429, 'the fourth in a minute');
  t.match(problem.detail, /Too many registration attempts from your network/);
  retryAfter(t, fourth.headers['retry-after'], 60, 'per address');
  t.equal((await apiPost(person(), randomIp())).statusCode, 202, 'another address is not limited');
  // Invalid posts count too (the limit comes before the body is read).
  const other = randomIp();
  for (let i = 0; i < 3; i += 1) await apiPost({ junk: true }, other);
  expectProblem(t, await apiPost(person(), other), 429, 'after three invalid posts');
});

t.test('the API: per recipient address, whatever the client address', async (t) => {
  const email = uniqueEmail('target');
  t.equal((await apiPost(person(email), randomIp())).statusCode, 202);
  t.equal((await apiPost(person(email), randomIp())).statusCode, 202, 'a repeat (same answer)');
  const third = await apiPost(person(email.toUpperCase()), randomIp());
  const problem = expectProblem(t, third, 429, 'the third post for one address in an hour (case-insensitive)');
  t.match(problem.detail, /for this e-mail address/);
  retryAfter(t, third.headers['retry-after'], 3600, 'per recipient');
  const form = await postForm(app, `/s/${session.slug}/register`, formPerson(email), {}, randomIp());
  const page = expectPage(t, form, 429, 'the form for the same address');
  t.match(page, '<h1>Too many attempts</h1>');
  retryAfter(t, form.headers['retry-after'], 3600, 'the form, per recipient');
});

t.test('posts that register nothing do not count against the recipient: nobody can lock a person out', async (t) => {
  const victim = uniqueEmail('mayor');
  const closed = await createSession(app, owner.headers, { questions: CITY_QUESTIONS });
  await database.pool.query(`UPDATE sessions SET registration_closes_at = now() - interval '1 minute' WHERE id = $1`, [closed.id]);
  const draft = await createSession(app, owner.headers, {}, { publish: false });
  // Each from a new client address, so only the per-recipient limit (2 an hour here) could bite.
  const attempts: Array<[string, () => Promise<{ statusCode: number }>]> = [
    ['a missing slug (API)', () => app.inject({ method: 'POST', url: '/api/v1/public/sessions/no-such-session/registrations', payload: person(victim), remoteAddress: randomIp() })],
    ['a missing slug (form)', () => postForm(app, '/s/no-such-session/register', formPerson(victim), {}, randomIp())],
    ['a draft (API)', () => app.inject({ method: 'POST', url: `/api/v1/public/sessions/${draft.slug}/registrations`, payload: person(victim), remoteAddress: randomIp() })],
    ['no consent (API)', () => apiPost({ ...person(victim), consent: false }, randomIp())],
    ['no consent (form)', () => postForm(app, `/s/${session.slug}/register`, { ...formPerson(victim), consent: '' }, {}, randomIp())],
    ['a missing answer (API)', () => apiPost({ ...person(victim), answers: {} }, randomIp())],
    ['a missing answer (form)', () => postForm(app, `/embed/${session.slug}/register`, { name: 'Rate Limited', email: victim, consent: 'on' }, {}, randomIp())],
    ['a closed session (API)', () => app.inject({ method: 'POST', url: `/api/v1/public/sessions/${closed.slug}/registrations`, payload: person(victim), remoteAddress: randomIp() })],
    ['a closed session (form)', () => postForm(app, `/s/${closed.slug}/register`, formPerson(victim), {}, randomIp())],
  ];
  for (const [label, attempt] of attempts) {
    for (let i = 0; i < 5; i += 1) {
      const status = (await attempt()).statusCode;
      if (status < 400 || status === 429) t.fail(`${label}: expected a refusal that is not 429, got ${status}`);
    }
  }
  t.equal((await apiPost(person(victim), randomIp())).statusCode, 202, 'the real person registers through the API');
  const other = await createSession(app, owner.headers, { questions: CITY_QUESTIONS });
  t.equal((await postForm(app, `/s/${other.slug}/register`, formPerson(victim), {}, randomIp())).statusCode, 303, 'and through the form');
  expectProblem(t, await apiPost(person(victim), randomIp()), 429, 'valid posts for open sessions still count');
});

t.test('the form: per client address, a 429 page with Retry-After', async (t) => {
  const ip = randomIp();
  for (let i = 1; i <= 3; i += 1) {
    t.equal((await postForm(app, `/s/${session.slug}/register`, formPerson(), {}, ip)).statusCode, 303, `form post ${i}`);
  }
  const email = uniqueEmail('fourth');
  const fourth = await postForm(app, `/embed/${session.slug}/register`, formPerson(email), {}, ip);
  const body = expectPage(t, fourth, 429, 'the fourth form post (the embed counts with the page)');
  t.match(body, /Please wait \d+ seconds and try again\./);
  retryAfter(t, fourth.headers['retry-after'], 60, 'form');
  t.same(await storedFor(database.pool, email), { attendees: 0, registrations: 0, notifications: 0 }, 'the refused post stored nothing');
  const api = await apiPost(person(), ip);
  expectProblem(t, api, 429, 'the API shares the budget of the address');
});

t.test('X-Forwarded-For counts only with TRUST_PROXY', async (t) => {
  const proxy = randomIp();
  // Without TRUST_PROXY every client behind the same proxy shares one budget (the header is ignored).
  const statuses: number[] = [];
  for (let i = 0; i < 4; i += 1) statuses.push((await apiPost(person(), proxy, { 'x-forwarded-for': randomIp() })).statusCode);
  t.same(statuses, [202, 202, 202, 429], 'a forged X-Forwarded-For does not escape the limit');

  const trusting = await buildTestApp(t, { env: { ...limited, TRUST_PROXY: 'true' } });
  const trustedProxy = randomIp();
  const trustedSession = await createSession(trusting.app, owner.headers, {});
  const post = (forwardedFor: string) =>
    trusting.app.inject({
      method: 'POST',
      url: `/api/v1/public/sessions/${trustedSession.slug}/registrations`,
      payload: { name: 'Behind Proxy', email: uniqueEmail('proxied'), consent: true },
      remoteAddress: trustedProxy,
      headers: { 'x-forwarded-for': forwardedFor },
    });
  const results: number[] = [];
  for (let i = 0; i < 4; i += 1) results.push((await post(randomIp())).statusCode);
  t.same(results, [202, 202, 202, 202], 'with TRUST_PROXY each client has its own budget');
  const client = randomIp();
  const same: number[] = [];
  for (let i = 0; i < 4; i += 1) same.push((await post(client)).statusCode);
  t.same(same, [202, 202, 202, 429], 'and one client is still limited');
});

t.test('0 turns the limits off (the default test configuration)', async (t) => {
  const open = await buildTestApp(t);
  const openSession = await createSession(open.app, owner.headers, {});
  const ip = randomIp();
  const email = uniqueEmail('unlimited');
  for (let i = 0; i < 25; i += 1) {
    const res = await open.app.inject({
      method: 'POST',
      url: `/api/v1/public/sessions/${openSession.slug}/registrations`,
      payload: { name: 'Many Times', email, consent: true },
      remoteAddress: ip,
    });
    if (res.statusCode !== 202) t.fail(`post ${i}: ${res.statusCode}`);
  }
  t.pass('25 posts from one address for one recipient, none limited');
});

t.test('Redis down: registrations still answer (the limits step aside)', async (t) => {
  const redis = await startRedisProcess(t);
  const down = await buildTestApp(t, { env: { ...limited, REDIS_URL: redis.url } });
  const downSession = await createSession(down.app, owner.headers, { questions: CITY_QUESTIONS });
  await redis.kill();
  const ip = randomIp();
  for (let i = 0; i < 5; i += 1) {
    const res = await down.app.inject({
      method: 'POST',
      url: `/api/v1/public/sessions/${downSession.slug}/registrations`,
      payload: person(),
      remoteAddress: ip,
    });
    t.equal(res.statusCode, 202, `API post ${i + 1} with Redis down`);
  }
  const form = await postForm(down.app, `/s/${downSession.slug}/register`, formPerson(), {}, ip);
  t.equal(form.statusCode, 303, 'the form too');
  // Back, so that the app closes as usual.
  await redis.start();
});
