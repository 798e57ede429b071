import t from 'tap';
import { buildTestApp, signIn, uniqueEmail } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { createSession, registered, registrationId } from '../helpers/registrations.js';

interface Entry {
  id: string;
  at: string;
  actor: { id: string | null; email: string | null } | null;
  action: string;
  subjectType: string;
  subjectId: string | null;
  details: Record<string, unknown>;
}

t.test('the audit log', async (t) => {
  const { app, database } = await buildTestApp(t);
  const admin = await signIn(app, 'admin');
  const actor = await signIn(app);
  const { headers } = actor;
  const audit = (query: string, as = admin.headers) => app.inject({ method: 'GET', url: `/api/v1/audit${query}`, headers: as });
  const mine = async (extra = '') => (await audit(`?actor=${actor.organizer.id}&limit=500${extra}`)).json<{ items: Entry[]; nextCursor: string | null }>();

  const startedAt = new Date().toISOString();
  // Every kind of organizer change, by one organizer.
  const session = await createSession(app, headers, { capacity: 1, questions: [{ id: 'city', label: 'Your city', type: 'text', required: false }] });
  const patched = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${session.id}`, headers, payload: { capacity: 2, summary: 'More seats' } });
  t.equal(patched.statusCode, 200);
  const attendeeEmail = uniqueEmail('ana');
  await registered(app, session.slug, { name: 'Ana Secretname', email: attendeeEmail, answers: { city: 'Secretville' } });
  const byHand = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations`, headers, payload: { name: 'Ben Byhand', email: uniqueEmail('ben') } });
  const forced = await app.inject({
    method: 'POST',
    url: `/api/v1/sessions/${session.id}/registrations`,
    headers,
    payload: { name: 'Cleo Forced', email: uniqueEmail('cleo'), force: true },
  });
  t.equal(byHand.statusCode, 201);
  t.equal(forced.statusCode, 201);
  const anaId = await registrationId(database.pool, session.id, attendeeEmail);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${anaId}/check-in`, headers })).statusCode, 200);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${byHand.json().id}/cancel`, headers })).statusCode, 200);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers, payload: { reason: 'Speaker ill' } })).statusCode, 200);
  const draft = await createSession(app, headers, {}, { publish: false });
  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/sessions/${draft.id}`, headers })).statusCode, 204);
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/organizers',
    headers: admin.headers,
    payload: { email: uniqueEmail('new-organizer'), name: 'New Organizer', password: 'a-long-enough-password' },
  });
  t.equal(created.statusCode, 201);

  t.test('admins only', async (t) => {
    expectProblem(t, await audit('', {} as never), 401, 'no token');
    expectProblem(t, await audit('', headers), 403, 'an organizer');
    t.equal((await audit('')).statusCode, 200, 'an admin');
  });

  t.test('every organizer change is recorded, newest first, with the actor', async (t) => {
    const { items } = await mine();
    t.same(
      items.map((entry) => entry.action),
      [
        'session.delete',
        'session.create',
        'session.cancel',
        'registration.cancel',
        'registration.check_in',
        'registration.add',
        'registration.add',
        'session.update',
        'session.publish',
        'session.create',
      ],
    );
    t.ok(items.every((entry) => entry.actor?.id === actor.organizer.id && entry.actor.email === actor.organizer.email), 'the actor and their e-mail');
    const adds = items.filter((entry) => entry.action === 'registration.add');
    t.same(adds.map((entry) => entry.details.forced).sort(), [false, true], 'the forced addition is flagged');
    t.equal(adds.find((entry) => entry.details.forced === true)!.subjectId, forced.json().id);
    t.match(items.find((entry) => entry.action === 'session.update'), { subjectId: session.id, details: { fields: ['capacity', 'summary'], capacityRaised: true } });
    t.match(items.find((entry) => entry.action === 'session.cancel'), { details: { registrationsCancelled: 2 } });
    t.match(items.find((entry) => entry.action === 'registration.check_in'), { subjectId: anaId, subjectType: 'registration' });
    t.match(items.find((entry) => entry.action === 'session.delete'), { subjectId: draft.id });
    const text = JSON.stringify(items);
    for (const secret of ['Secretname', 'Secretville', attendeeEmail, 'Ben Byhand', 'Cleo Forced']) {
      t.notOk(text.includes(secret), `no attendee data (${secret})`);
    }
    const accounts = (await audit(`?actor=${admin.organizer.id}&action=organizer.create`)).json<{ items: Entry[] }>().items;
    t.equal(accounts[0]?.subjectId, created.json().id, 'organizer accounts too, by the admin who made them');
    t.equal(accounts[0]?.details.role, 'organizer');
  });

  t.test('pagination: pages of 3 add up to the whole, in order, without repeats', async (t) => {
    const all = (await mine()).items;
    const paged: Entry[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: Entry[]; nextCursor: string | null } = (
        await audit(`?actor=${actor.organizer.id}&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      t.ok(page.items.length <= 3);
      paged.push(...page.items);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 20);
    t.equal(pages, 4, 'ten entries in four pages');
    t.same(
      paged.map((entry) => entry.id),
      all.map((entry) => entry.id),
    );
    expectProblem(t, await audit('?cursor=not-a-cursor'), 400, 'a made-up cursor');
  });

  t.test('filters: time range, actor by e-mail, action', async (t) => {
    const byEmail = (await audit(`?actor=${encodeURIComponent(actor.organizer.email.toUpperCase())}&limit=500`)).json<{ items: Entry[] }>().items;
    t.equal(byEmail.length, 10, 'the actor by e-mail, any case');
    const sessionsOnly = (await mine('&action=session.create')).items;
    t.equal(sessionsOnly.length, 2);
    const now = new Date().toISOString();
    t.equal((await mine(`&from=${startedAt}&to=${now}`)).items.length, 10, 'all within the range');
    t.equal((await mine(`&to=${startedAt}`)).items.length, 0, 'nothing before it');
    expectProblem(t, await audit('?from=yesterday'), 400, 'a date without a time and offset');
    expectProblem(t, await audit('?limit=0'), 400);
    expectProblem(t, await audit('?limit=501'), 400);
    expectProblem(t, await audit('?action=DROP TABLE'), 400);
    expectProblem(t, await audit('?secret=1'), 400, 'unknown parameter');
  });
});
