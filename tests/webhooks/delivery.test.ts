import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import t, { type Test } from 'tap';
import { uniqueEmail } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { freePort, startRedisProcess } from '../helpers/processes.js';
import { createSession, registered, registrationId } from '../helpers/registrations.js';
import { sleep, waitFor } from '../helpers/waiting.js';
import { makeOrganizer } from '../console/support.js';

/**
 * Issue #22, delivery: a real receiver on a loopback port checks every delivery with the
 * `standardwebhooks` package; the worker delivers from the outbox the triggers write. Retries
 * (after a 500) keep the webhook-id; a later event of the same registration waits for the
 * earlier one; a 410 disables the endpoint; another organizer's endpoint gets nothing of sessions
 * it does not host; Redis killed and started again loses nothing.
 */

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: { type: string; timestamp: string; data: Record<string, unknown> };
  endpoint: string;
}

const received: Received[] = [];
/** Per endpoint path: the status codes to answer next (then 200). */
const script = new Map<string, number[]>();
/** Per endpoint path: how many next requests get no answer within the 10 s timeout. */
const silences = new Map<string, number>();
const receiverPort = await freePort();
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const endpoint = request.url ?? '';
    const body = Buffer.concat(chunks).toString('utf8');
    received.push({ headers: request.headers, body, event: JSON.parse(body), endpoint });
    const silent = silences.get(endpoint) ?? 0;
    if (silent > 0) {
      silences.set(endpoint, silent - 1);
      setTimeout(() => response.writeHead(200).end('too late'), 11_000).unref();
      return;
    }
    const next = script.get(endpoint)?.shift() ?? 200;
    response.writeHead(next, { 'content-type': 'text/plain' }).end(next === 200 ? 'ok' : 'no');
  });
});
await new Promise<void>((resolve) => receiver.listen(receiverPort, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

const redis = await startRedisProcess(t);
const ctx = await startMailTest(t, {
  name: 'webhook_delivery',
  redisUrl: redis.url,
  // Four requests in flight, two per endpoint: few enough to show a hanging receiver holding only its share.
  env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_SWEEP_MS: '100', WEBHOOK_CONCURRENCY: '4' },
});
const { app, database, owner, sink } = ctx;
const other = await makeOrganizer(app, 'organizer', 'Other organizer');
const otherHeaders = { authorization: `Bearer ${app.issueToken(other).token}` };

const session = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: true }, reminders: [] });

async function addEndpoint(headers: Record<string, string>, path: string, events: string[]): Promise<{ id: string; secret: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/webhooks', headers, payload: { url: `http://127.0.0.1:${receiverPort}${path}`, events } });
  if (res.statusCode !== 201) throw new Error(`${res.statusCode} ${res.body}`);
  return res.json();
}

const ALL = ['registration.created', 'registration.confirmed', 'registration.waitlisted', 'registration.cancelled', 'registration.checked_in', 'session.updated', 'session.cancelled'];
const mine = await addEndpoint(owner.headers, '/crm', ALL);
const theirs = await addEndpoint(otherHeaders, '/theirs', ALL);

const at = (path: string) => received.filter((entry) => entry.endpoint === path);
/** Every delivery verifies under the endpoint's secret, with the real package. */
function verified(t: Test, entries: Received[], secret: string): void {
  const verifier = new Webhook(secret);
  for (const entry of entries) {
    t.doesNotThrow(() => verifier.verify(entry.body, entry.headers as Record<string, string>), `${entry.event.type} verifies`);
  }
}

t.test('registrations and a cancellation arrive signed, in order, with ids only', async (t) => {
  const email = uniqueEmail('crm');
  await registered(app, session.slug, { name: 'Ana Reyes', email });
  const id = await registrationId(database.pool, session.id, email);
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${id}/cancel`, headers: owner.headers, payload: {} });
  t.equal(cancelled.statusCode, 200, cancelled.body);
  await waitFor(() => at('/crm').filter((entry) => entry.event.data.registrationId === id).length >= 2, 10_000, 'two events');
  const events = at('/crm').filter((entry) => entry.event.data.registrationId === id);
  t.same(events.map((entry) => entry.event.type), ['registration.created', 'registration.cancelled']);
  t.same(events[0]!.event.data, { sessionId: session.id, registrationId: id, status: 'confirmed' }, 'ids and the status, nothing personal');
  t.notOk(events.some((entry) => entry.body.includes(email) || entry.body.includes('Ana')), 'no name, no address');
  verified(t, events, mine.secret);
  t.equal(events[0]!.headers['content-type'], 'application/json');
  t.same(at('/theirs'), [], 'the other organizer hosts nothing here: nothing for them');
});

t.test('a 500 is retried with the same webhook-id; the next event of that registration waits for it', async (t) => {
  script.set('/crm', [500]);
  const email = uniqueEmail('retry');
  const before = at('/crm').length;
  await registered(app, session.slug, { name: 'Bo Lind', email });
  const id = await registrationId(database.pool, session.id, email);
  await waitFor(() => at('/crm').length > before, 10_000, 'the first attempt');
  // Cancelled while the first event waits for its retry (5 s).
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${id}/cancel`, headers: owner.headers, payload: {} });
  t.equal(cancelled.statusCode, 200);
  await sleep(1_000);
  t.same(
    at('/crm').filter((entry) => entry.event.data.registrationId === id).map((entry) => entry.event.type),
    ['registration.created'],
    'the cancellation waits behind the failed event',
  );
  await waitFor(() => at('/crm').filter((entry) => entry.event.data.registrationId === id).length >= 3, 15_000, 'the retry and the next event');
  const events = at('/crm').filter((entry) => entry.event.data.registrationId === id);
  t.same(events.map((entry) => entry.event.type), ['registration.created', 'registration.created', 'registration.cancelled'], 'in order');
  t.equal(events[0]!.headers['webhook-id'], events[1]!.headers['webhook-id'], 'the same webhook-id on the retry');
  t.not(events[1]!.headers['webhook-id'], events[2]!.headers['webhook-id']);
  verified(t, events, mine.secret);
  const log = await app.inject({ method: 'GET', url: `/api/v1/webhooks/${mine.id}/deliveries?limit=5`, headers: owner.headers });
  const first = log.json().items.find((item: { id: string }) => item.id === events[0]!.headers['webhook-id']);
  t.match(first, { type: 'registration.created', status: 'succeeded', attempts: 2, statusCode: 200 });
});

t.test('an admin endpoint gets every session’s events; a ping reaches only the endpoint tested', async (t) => {
  const admin = await makeOrganizer(app, 'admin', 'Admin');
  const adminHeaders = { authorization: `Bearer ${app.issueToken(admin).token}` };
  const everything = await addEndpoint(adminHeaders, '/admin', ['registration.created']);
  const email = uniqueEmail('admin-sees');
  await registered(app, session.slug, { name: 'Cy Okafor', email });
  await waitFor(() => at('/admin').length >= 1, 10_000, 'the admin endpoint');
  verified(t, at('/admin'), everything.secret);
  const ping = await app.inject({ method: 'POST', url: `/api/v1/webhooks/${theirs.id}/test`, headers: otherHeaders });
  t.equal(ping.statusCode, 202);
  await waitFor(() => at('/theirs').length >= 1, 10_000, 'the ping');
  t.same(at('/theirs').map((entry) => entry.event.type), ['ping']);
  verified(t, at('/theirs'), theirs.secret);
  const notYours = await app.inject({ method: 'POST', url: `/api/v1/webhooks/${mine.id}/test`, headers: otherHeaders });
  t.equal(notYours.statusCode, 404, 'another organizer’s endpoint is not found');
  await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${everything.id}`, headers: adminHeaders });
});

t.test('a rotated secret: both signatures for a day, each verifies alone', async (t) => {
  const rotated = await app.inject({ method: 'POST', url: `/api/v1/webhooks/${mine.id}/rotate-secret`, headers: owner.headers });
  t.equal(rotated.statusCode, 200);
  const { secret } = rotated.json();
  t.not(secret, mine.secret);
  const before = at('/crm').length;
  await registered(app, session.slug, { name: 'Dee Rotated', email: uniqueEmail('rotated') });
  await waitFor(() => at('/crm').length > before, 10_000, 'the event');
  const entry = at('/crm').at(-1)!;
  t.equal(String(entry.headers['webhook-signature']).split(' ').length, 2, 'two signatures');
  verified(t, [entry], secret);
  verified(t, [entry], mine.secret);
  mine.secret = secret;
});

t.test('a 410 disables the endpoint', async (t) => {
  script.set('/crm', [410]);
  const before = at('/crm').length;
  await registered(app, session.slug, { name: 'Eve Gone', email: uniqueEmail('gone') });
  await waitFor(() => at('/crm').length > before, 10_000, 'the attempt');
  await waitFor(async () => (await app.inject({ method: 'GET', url: `/api/v1/webhooks/${mine.id}`, headers: owner.headers })).json().enabled === false, 5_000, 'disabled');
  const shown = (await app.inject({ method: 'GET', url: `/api/v1/webhooks/${mine.id}`, headers: owner.headers })).json();
  t.match(shown, { enabled: false, disabledReason: /410/ });
  const count = at('/crm').length;
  await registered(app, session.slug, { name: 'Fay Later', email: uniqueEmail('later') });
  await sleep(1_000);
  t.equal(at('/crm').length, count, 'nothing more is sent');
  // Its owner is told, by the worker, with the way back.
  const [notice] = await sink!.waitForMail(owner.organizer.email, 1, 20_000);
  t.match(notice!.parsed.subject, /Webhook endpoint disabled/);
  t.match(notice!.text, /410/);
  t.match(notice!.text, new RegExp(`/console/webhooks/${mine.id}`));
  const enabled = await app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${mine.id}`, headers: owner.headers, payload: { enabled: true } });
  t.match(enabled.json(), { enabled: true, disabledReason: null });
});

t.test('Redis killed and started again: the events written meanwhile all arrive', async (t) => {
  await redis.kill();
  const emails = [uniqueEmail('outage1'), uniqueEmail('outage2'), uniqueEmail('outage3')];
  for (const email of emails) await registered(app, session.slug, { name: 'Outage Person', email });
  const ids = await Promise.all(emails.map((email) => registrationId(database.pool, session.id, email)));
  await sleep(500);
  await redis.start();
  await waitFor(() => ids.every((id) => at('/crm').some((entry) => entry.event.data.registrationId === id)), 90_000, 'every event after the outage');
  t.pass('nothing lost');
});

t.test('no answer within 10 s: retried with the same webhook-id', async (t) => {
  const slow = await addEndpoint(owner.headers, '/slow', ['registration.created']);
  silences.set('/slow', 1);
  await registered(app, session.slug, { name: 'Gus Slow', email: uniqueEmail('slow') });
  await waitFor(() => at('/slow').length >= 2, 30_000, 'the attempt and its retry');
  const [first, second] = at('/slow');
  t.equal(first!.headers['webhook-id'], second!.headers['webhook-id'], 'the same webhook-id');
  verified(t, [first!, second!], slow.secret);
  const log = await app.inject({ method: 'GET', url: `/api/v1/webhooks/${slow.id}/deliveries`, headers: owner.headers });
  t.match(log.json().items[0], { status: 'succeeded', attempts: 2, statusCode: 200 });
});

t.test('failing for five days in a row disables the endpoint; a success ends the streak', async (t) => {
  const down = await addEndpoint(owner.headers, '/down', ['registration.created']);
  const shown = async () => (await app.inject({ method: 'GET', url: `/api/v1/webhooks/${down.id}`, headers: owner.headers })).json();
  // A streak just short of five days: one more failure keeps it enabled.
  script.set('/down', [500, 500]);
  await database.pool.query(`UPDATE webhook_endpoints SET failing_since = now() - interval '5 days' + interval '10 minutes' WHERE id = $1`, [down.id]);
  await registered(app, session.slug, { name: 'Hal Streak', email: uniqueEmail('streak1') });
  await waitFor(() => at('/down').length >= 1, 10_000, 'the first failure');
  await sleep(300);
  t.match(await shown(), { enabled: true, disabledReason: null }, 'under five days: still enabled');
  // Five days and more: the next failure disables it.
  await database.pool.query(`UPDATE webhook_endpoints SET failing_since = now() - interval '5 days' - interval '10 minutes' WHERE id = $1`, [down.id]);
  await registered(app, session.slug, { name: 'Ida Streak', email: uniqueEmail('streak2') });
  await waitFor(() => at('/down').length >= 2, 10_000, 'the second failure');
  await waitFor(async () => (await shown()).enabled === false, 5_000, 'disabled');
  t.match(await shown(), { enabled: false, disabledReason: 'Every delivery failed for 5 days' });
  // Enabled again by its owner, a success clears the streak.
  await app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${down.id}`, headers: owner.headers, payload: { enabled: true } });
  t.match(await shown(), { enabled: true, failingSince: null });
});

t.test('a receiver that does not answer holds only its share: another endpoint’s events go on', async (t) => {
  const stuck = await addEndpoint(owner.headers, '/stuck', ['registration.created']);
  silences.set('/stuck', 4);
  const emails = [1, 2, 3, 4].map((n) => uniqueEmail(`share${n}`));
  for (const email of emails) await registered(app, session.slug, { name: 'Share Person', email });
  const ids = await Promise.all(emails.map((email) => registrationId(database.pool, session.id, email)));
  await waitFor(() => at('/stuck').length >= 2, 7_000, 'the hanging endpoint’s share in flight');
  // Well before the hanging requests' 10 s timeout.
  await waitFor(() => ids.every((id) => at('/crm').some((entry) => entry.event.data.registrationId === id)), 7_000, 'every event at the healthy endpoint');
  await sleep(300);
  t.equal(at('/stuck').length, 2, 'the hanging endpoint has its share in flight (2 of 4), the rest wait');
  t.equal(silences.get('/stuck'), 2, 'two of its events not even sent yet');
  const removed = await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${stuck.id}`, headers: owner.headers });
  t.equal(removed.statusCode, 204);
});
