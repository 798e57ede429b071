import { randomBytes } from 'node:crypto';
import t from 'tap';
import { buildTestApp, signIn, uniqueEmail } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import {
  assertCounters,
  createSession,
  notificationRows,
  registered,
  registrationId,
  registrationRows,
  waitingInOrder,
} from '../helpers/registrations.js';

const { app, database } = await buildTestApp(t);
const { pool } = database;
const owner = await signIn(app);
const base = 'http://convene.test'; // PUBLIC_BASE_URL of testConfig

const manageToken = (id: string) => app.services.tokens.derive('manage', id, 0);
const view = (token: string) => app.inject({ method: 'GET', url: `/api/v1/registrations/${token}` });
const cancel = (token: string) => app.inject({ method: 'POST', url: `/api/v1/registrations/${token}/cancel` });

/** A session with capacity 1 and three people: one confirmed, two waiting. */
async function threePeople() {
  const session = await createSession(app, owner.headers, { capacity: 1, joinUrl: 'https://meet.example.org/j/hidden-room' });
  const people = [
    { name: 'Ana Seat', email: uniqueEmail('ana') },
    { name: 'Bo First Waiting', email: uniqueEmail('bo') },
    { name: 'Cy Second Waiting', email: uniqueEmail('cy') },
  ];
  for (const person of people) await registered(app, session.slug, person);
  const ids = await Promise.all(people.map((person) => registrationId(pool, session.id, person.email)));
  return { session, people, ids, tokens: ids.map(manageToken) };
}

t.test('the manage view: status, place, session, join link only when confirmed; private headers', async (t) => {
  const { session, people, ids, tokens } = await threePeople();

  const ana = await view(tokens[0]!);
  t.equal(ana.statusCode, 200);
  t.equal(ana.headers['referrer-policy'], 'no-referrer');
  t.equal(ana.headers['cache-control'], 'private, no-store');
  const anaBody = ana.json();
  t.equal(anaBody.registration.status, 'confirmed');
  t.equal(anaBody.registration.waitlistPosition, null);
  t.equal(anaBody.registration.name, 'Ana Seat');
  t.equal(anaBody.registration.email, people[0]!.email);
  t.equal(anaBody.session.slug, session.slug);
  t.equal(anaBody.joinLink, `${base}/j/${app.services.tokens.derive('join', ids[0]!, 0)}`, 'the personal join link');
  t.equal(anaBody.links.manage, `${base}/m/${tokens[0]}`);
  t.notMatch(ana.body, /hidden-room/, 'the meeting URL itself is never shown');

  const bo = await view(tokens[1]!);
  t.equal(bo.statusCode, 200);
  t.equal(bo.headers['referrer-policy'], 'no-referrer');
  t.equal(bo.headers['cache-control'], 'private, no-store');
  t.equal(bo.json().registration.status, 'waitlisted');
  t.equal(bo.json().registration.waitlistPosition, 1);
  t.equal(bo.json().joinLink, null, 'no join link while waiting');
  const cy = await view(tokens[2]!);
  t.equal(cy.json().registration.waitlistPosition, 2);
  t.equal(cy.json().joinLink, null);

  // One attendee's token never reveals another's data.
  for (const [index, res] of [ana, bo, cy].entries()) {
    for (const [other, person] of people.entries()) {
      if (other === index) continue;
      t.notOk(res.body.includes(person.email), `view ${index} does not show the e-mail of ${other}`);
      t.notOk(res.body.includes(person.name), `view ${index} does not show the name of ${other}`);
      t.notOk(res.body.includes(tokens[other]!), `view ${index} does not show the token of ${other}`);
    }
  }
});

t.test('unknown and garbage manage tokens are 404 with the private headers', async (t) => {
  const { ids } = await threePeople();
  const cases: Array<[string, string]> = [
    ['random token of the right shape', randomBytes(24).toString('base64url')],
    ['join token used as manage token', app.services.tokens.derive('join', ids[0]!, 0)],
    ['manage token of version 1', app.services.tokens.derive('manage', ids[0]!, 1)],
    ['registration id', ids[0]!],
    ['short garbage', 'abc'],
    ['garbage with symbols', encodeURIComponent("' OR 1=1 --")],
    ['encoded slashes', '..%2F..%2Fetc%2Fpasswd'],
    ['a 33-character token', `${manageToken(ids[0]!)}x`],
  ];
  for (const [label, token] of cases) {
    const res = await view(token);
    expectProblem(t, res, 404, label);
    t.equal(res.headers['referrer-policy'], 'no-referrer', `referrer policy (${label})`);
    t.equal(res.headers['cache-control'], 'private, no-store', `no caching (${label})`);
    expectProblem(t, await cancel(token), 404, `cancel: ${label}`);
  }
  t.equal((await view(manageToken(ids[0]!))).statusCode, 200, 'the real token still works');
});

t.test('cancel: 200 cancelled, the first waiting person is promoted, again is a no-op', async (t) => {
  const { session, ids, tokens } = await threePeople();
  const [anaId, boId, cyId] = ids as [string, string, string];

  const res = await cancel(tokens[0]!);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.equal(res.headers['cache-control'], 'private, no-store');
  const body = res.json();
  t.equal(body.registration.status, 'cancelled');
  t.ok(body.registration.cancelledAt, 'cancelledAt set');
  t.equal(body.joinLink, null, 'no join link once cancelled');

  const rows = await registrationRows(pool, session.id);
  const statusOf = (id: string) => rows.find((row) => row.id === id)?.status;
  t.equal(statusOf(anaId), 'cancelled');
  t.equal(statusOf(boId), 'confirmed', 'the first waiting person is promoted');
  t.equal(statusOf(cyId), 'waitlisted', 'the second still waits');
  const promoted = await notificationRows(pool, session.id, 'promoted');
  t.same(
    promoted.map((row) => [row.registration_id, row.dedupe_key]),
    [[boId, `promoted:${boId}`]],
    'one promoted row, for the first waiting person',
  );
  const cancelledRows = await notificationRows(pool, session.id, 'registration_cancelled');
  t.same(cancelledRows.map((row) => row.registration_id), [anaId]);
  t.equal(cancelledRows[0]?.payload.previousStatus, 'confirmed');

  const bo = (await view(tokens[1]!)).json();
  t.equal(bo.registration.status, 'confirmed');
  t.equal(bo.registration.waitlistPosition, null);
  t.equal(bo.joinLink, `${base}/j/${app.services.tokens.derive('join', boId, 0)}`, 'the promoted person now has a join link');
  t.equal((await view(tokens[2]!)).json().registration.waitlistPosition, 1, 'the line closes up');

  const notificationsBefore = (await notificationRows(pool, session.id)).length;
  const again = await cancel(tokens[0]!);
  t.equal(again.statusCode, 200, 'cancelling again is 200');
  t.equal(again.json().registration.status, 'cancelled');
  t.equal(again.json().registration.cancelledAt, body.registration.cancelledAt, 'the first cancellation time stays');
  t.equal((await notificationRows(pool, session.id)).length, notificationsBefore, 'no extra notification rows');
  const afterAgain = await registrationRows(pool, session.id);
  t.same(
    afterAgain.map((row) => row.status),
    rows.map((row) => row.status),
    'nobody else changed',
  );

  const viewAfter = await view(tokens[0]!);
  t.equal(viewAfter.statusCode, 200, 'the cancelled registration can still be viewed');
  t.equal(viewAfter.json().registration.status, 'cancelled');
  const counts = await assertCounters(t, pool, session.id);
  t.same(counts, { confirmed: 1, waitlisted: 1, cancelled: 1 });
});

t.test('leaving the waitlist closes up the line behind and promotes nobody', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 1 });
  const people = ['Seat', 'W1', 'W2', 'W3', 'W4'].map((name) => ({ name, email: uniqueEmail(name.toLowerCase()) }));
  for (const person of people) await registered(app, session.slug, person);
  const ids = await Promise.all(people.map((person) => registrationId(pool, session.id, person.email)));
  const positions = async () => Promise.all(ids.slice(1).map(async (id) => (await view(manageToken(id))).json().registration.waitlistPosition));
  t.same(await positions(), [1, 2, 3, 4]);

  const left = await cancel(manageToken(ids[2]!)); // W2 leaves
  t.equal(left.statusCode, 200);
  t.equal(left.json().registration.status, 'cancelled');
  t.equal(left.json().registration.waitlistPosition, null);
  t.same(await positions(), [1, null, 2, 3], 'the people behind move up');
  t.equal((await notificationRows(pool, session.id, 'promoted')).length, 0, 'nobody promoted: no seat was freed');
  const note = (await notificationRows(pool, session.id, 'registration_cancelled'))[0];
  t.equal(note?.payload.previousStatus, 'waitlisted');

  await cancel(manageToken(ids[1]!)); // W1, at the front, leaves
  t.same(await positions(), [null, null, 1, 2]);
  await cancel(manageToken(ids[0]!)); // the seat is freed: W3 (now first) is promoted
  t.same(await waitingInOrder(pool, session.id), [ids[4]], 'W4 waits alone');
  t.same(
    (await notificationRows(pool, session.id, 'promoted')).map((row) => row.registration_id),
    [ids[3]],
    'the first one still waiting was promoted',
  );
  t.same(await positions(), [null, null, null, 1]);
  const counts = await assertCounters(t, pool, session.id);
  t.same(counts, { confirmed: 1, waitlisted: 1, cancelled: 3 });
});

t.test('the manage view of a registration in a cancelled session has no join link', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 5 });
  const email = uniqueEmail('sc');
  await registered(app, session.slug, { name: 'Session Cancelled', email });
  const token = manageToken(await registrationId(pool, session.id, email));
  t.ok((await view(token)).json().joinLink, 'a join link before');
  const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: owner.headers, payload: { reason: 'Storm' } });
  t.equal(res.statusCode, 200);
  const after = (await view(token)).json();
  t.equal(after.registration.status, 'cancelled');
  t.equal(after.session.status, 'cancelled');
  t.equal(after.joinLink, null);
  const again = await cancel(token);
  t.equal(again.statusCode, 200, 'cancelling in a cancelled session is a no-op');
  await assertCounters(t, pool, session.id);
});
