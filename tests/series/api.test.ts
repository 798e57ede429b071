import { randomUUID } from 'node:crypto';
import t from 'tap';
import { buildTestApp, signIn, uniqueSuffix } from '../helpers/app.js';
import { CITY_QUESTIONS, createSession } from '../helpers/registrations.js';

/** The series API: create, read, change, delete; the hosts rule; validation; the public read. */

const { app, database } = await buildTestApp(t);
const owner = await signIn(app);
const other = await signIn(app);
const admin = await signIn(app, 'admin');

const api = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: unknown) =>
  app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });

const first = await createSession(app, owner.headers, { title: 'Part one' }, { daysAhead: 7 });
const second = await createSession(app, owner.headers, { title: 'Part two' }, { daysAhead: 14 });
const draft = await createSession(app, owner.headers, { title: 'Part three (draft)' }, { daysAhead: 21, publish: false });
const foreign = await createSession(app, other.headers, { title: 'Not yours' }, { daysAhead: 7 });

async function auditOf(subjectId: string): Promise<Array<{ action: string; actor_id: string | null; details: Record<string, unknown> }>> {
  const { rows } = await database.pool.query('SELECT action, actor_id, details FROM audit_log WHERE subject_id = $1 ORDER BY at, id', [subjectId]);
  return rows;
}

t.test('create: 201 with the sessions in the order given, a slug from the title, audited', async (t) => {
  const title = `Resilient Cities Série ${uniqueSuffix()}`;
  const res = await api('POST', '/api/v1/series', owner.headers, { title, description: 'Three sessions, one cohort.', sessionIds: [second.id, first.id, draft.id] });
  t.equal(res.statusCode, 201, res.body);
  const body = res.json();
  t.equal(res.headers.location, `/api/v1/series/${body.id}`);
  t.equal(body.slug, title.toLowerCase().replace('é', 'e').replace(/ /g, '-'), 'slugified: accents dropped, words joined');
  t.same(body.sessions.map((s: { id: string }) => s.id), [second.id, first.id, draft.id], 'the order given is the order of the series');
  t.same(body.sessions.map((s: { status: string }) => s.status), ['published', 'published', 'draft']);
  t.same(body.urls, { page: `http://convene.test/series/${body.slug}`, feed: `http://convene.test/feeds/series/${body.slug}.ics` });
  const audit = await auditOf(body.id);
  t.same(audit.map((entry) => entry.action), ['series.create']);
  t.equal(audit[0]!.actor_id, owner.organizer.id);
  t.same(audit[0]!.details.sessionIds, [second.id, first.id, draft.id]);

  const again = await api('POST', '/api/v1/series', owner.headers, { title, sessionIds: [first.id] });
  t.equal(again.statusCode, 201, 'the same title again: another slug is made');
  t.not(again.json().slug, body.slug);
  t.match(again.json().slug, new RegExp(`^${body.slug.slice(0, 60)}`));

  const taken = await api('POST', '/api/v1/series', owner.headers, { title: 'Another', slug: body.slug, sessionIds: [first.id] });
  t.equal(taken.statusCode, 409, 'an explicit slug already taken');
  t.match(taken.json().detail, body.slug);
});

t.test('validation: each problem a 400 naming its field', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['no title', { sessionIds: [first.id] }, '/title'],
    ['a blank title', { title: '   ', sessionIds: [first.id] }, '/title'],
    ['no sessions', { title: 'x', sessionIds: [] }, '/sessionIds'],
    ['no sessionIds', { title: 'x' }, '/sessionIds'],
    ['not an id', { title: 'x', sessionIds: ['not-a-uuid'] }, '/sessionIds/0'],
    ['a slug with capitals', { title: 'x', slug: 'Not-Valid', sessionIds: [first.id] }, '/slug'],
    ['an unknown field', { title: 'x', sessionIds: [first.id], colour: 'red' }, '/colour'],
    ['a description too long', { title: 'x', sessionIds: [first.id], description: 'a'.repeat(20_001) }, '/description'],
  ];
  for (const [label, payload, path] of cases) {
    const res = await api('POST', '/api/v1/series', owner.headers, payload);
    t.equal(res.statusCode, 400, label);
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', `${label}: problem details`);
    t.ok(
      res.json().errors?.some((error: { path: string }) => error.path === path),
      `${label}: ${path} in ${JSON.stringify(res.json().errors)}`,
    );
  }
  const twice = await api('POST', '/api/v1/series', owner.headers, { title: 'x', sessionIds: [first.id, second.id, first.id.toUpperCase()] });
  t.equal(twice.statusCode, 400, 'a session listed twice');
  t.same(twice.json().errors, [{ path: '/sessionIds/2', message: 'is listed twice' }]);
  const emptyPatch = await api('PATCH', `/api/v1/series/${randomUUID()}`, owner.headers, {});
  t.equal(emptyPatch.statusCode, 400, 'an empty change');
  t.equal((await api('GET', '/api/v1/series/not-a-uuid', owner.headers)).statusCode, 400, 'a malformed id');
  t.equal((await api('GET', '/api/v1/series', {})).statusCode, 401, 'no token');
});

t.test('hosts rule: only sessions you host go in; another organizer neither sees nor changes the series', async (t) => {
  const foreignSession = await api('POST', '/api/v1/series', owner.headers, { title: 'Mixed', sessionIds: [first.id, foreign.id] });
  const missing = await api('POST', '/api/v1/series', owner.headers, { title: 'Mixed', sessionIds: [first.id, randomUUID()] });
  t.equal(foreignSession.statusCode, 400, "another organizer's session");
  t.equal(missing.statusCode, 400, 'no session at all');
  t.same(foreignSession.json().errors, [{ path: '/sessionIds/1', message: 'is not a session you host' }]);
  t.equal(foreignSession.body, missing.body, "the same answer: nothing tells that the foreign session exists");
  t.notOk(foreignSession.body.includes(foreign.title));

  const created = await api('POST', '/api/v1/series', owner.headers, { title: `Owned ${uniqueSuffix()}`, sessionIds: [first.id, second.id] });
  const id = created.json().id as string;
  const otherList = await api('GET', '/api/v1/series', other.headers);
  t.equal(otherList.statusCode, 200);
  t.notOk(otherList.json().items.some((item: { id: string }) => item.id === id), 'not in the other organizer’s list');
  t.ok((await api('GET', '/api/v1/series', owner.headers)).json().items.some((item: { id: string }) => item.id === id), 'in the owner’s list');
  t.ok((await api('GET', '/api/v1/series', admin.headers)).json().items.some((item: { id: string }) => item.id === id), 'in an admin’s list');
  const unknown = await api('GET', `/api/v1/series/${randomUUID()}`, other.headers);
  for (const [method, payload] of [['GET', undefined], ['PATCH', { title: 'Taken over' }], ['DELETE', undefined]] as const) {
    const res = await api(method, `/api/v1/series/${id}`, other.headers, payload);
    t.equal(res.statusCode, 404, `${method} by another organizer`);
    t.equal(res.body, unknown.body, `${method}: the answer of a series that does not exist`);
  }
  t.equal((await api('GET', `/api/v1/series/${id}`, admin.headers)).statusCode, 200, 'an admin sees it');

  // A co-host of every session shares the series; a host of only some of them does not see it.
  const coHosted = await api('PUT', `/api/v1/sessions/${first.id}/hosts`, owner.headers, { organizerIds: [owner.organizer.id, other.organizer.id] });
  t.equal(coHosted.statusCode, 200);
  t.equal((await api('GET', `/api/v1/series/${id}`, other.headers)).statusCode, 404, 'hosting one session of two is not enough');
  await api('PUT', `/api/v1/sessions/${second.id}/hosts`, owner.headers, { organizerIds: [owner.organizer.id, other.organizer.id] });
  t.equal((await api('GET', `/api/v1/series/${id}`, other.headers)).statusCode, 200, 'a co-host of every session sees it');
  const sneaky = await api('PATCH', `/api/v1/series/${id}`, owner.headers, { sessionIds: [first.id, second.id, foreign.id] });
  t.equal(sneaky.statusCode, 400, 'the owner still cannot add a session it does not host');
  await api('PUT', `/api/v1/sessions/${first.id}/hosts`, owner.headers, { organizerIds: [owner.organizer.id] });
  await api('PUT', `/api/v1/sessions/${second.id}/hosts`, owner.headers, { organizerIds: [owner.organizer.id] });
  t.equal((await api('GET', `/api/v1/series/${id}`, other.headers)).statusCode, 404, 'no longer a co-host: no longer seen');
});

t.test('change and delete: the whole list in its new order, audited; the sessions stay', async (t) => {
  const created = await api('POST', '/api/v1/series', owner.headers, { title: `Changing ${uniqueSuffix()}`, sessionIds: [first.id] });
  const { id } = created.json();
  const slug = `renamed-${uniqueSuffix()}`;
  const changed = await api('PATCH', `/api/v1/series/${id}`, owner.headers, { title: 'Renamed', slug, description: null, sessionIds: [second.id, first.id] });
  t.equal(changed.statusCode, 200, changed.body);
  t.equal(changed.json().title, 'Renamed');
  t.equal(changed.json().slug, slug);
  t.same(changed.json().sessions.map((s: { id: string }) => s.id), [second.id, first.id]);
  const other = await api('POST', '/api/v1/series', owner.headers, { title: `Other ${uniqueSuffix()}`, sessionIds: [first.id] });
  t.equal((await api('PATCH', `/api/v1/series/${other.json().id}`, owner.headers, { slug })).statusCode, 409, 'a slug of another series');
  const deleted = await api('DELETE', `/api/v1/series/${id}`, owner.headers);
  t.equal(deleted.statusCode, 204);
  t.equal((await api('GET', `/api/v1/series/${id}`, owner.headers)).statusCode, 404, 'gone');
  t.equal((await api('GET', `/api/v1/sessions/${first.id}`, owner.headers)).statusCode, 200, 'its sessions stay');
  const audit = await auditOf(id);
  t.same(audit.map((entry) => entry.action), ['series.create', 'series.update', 'series.delete']);
  t.same(audit[1]!.details.fields, ['title', 'slug', 'sessionIds']);
  t.same(audit[1]!.details.sessionIds, [second.id, first.id]);
});

t.test('the public read: the published sessions that have not ended, in order; which the form registers for', async (t) => {
  const asking = await createSession(app, owner.headers, { title: 'Asks its own questions', questions: CITY_QUESTIONS }, { daysAhead: 10 });
  const created = await api('POST', '/api/v1/series', owner.headers, { title: `Public ${uniqueSuffix()}`, sessionIds: [second.id, draft.id, asking.id, first.id] });
  const { slug } = created.json();
  const res = await app.inject({ method: 'GET', url: `/api/v1/public/series/${slug}` });
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.same(body.sessions.map((s: { slug: string }) => s.slug), [second.slug, asking.slug, first.slug], 'the draft is left out; the order is the series’');
  t.same(body.sessions.map((s: { seriesForm: boolean }) => s.seriesForm), [true, false, true], 'a session with a required question is registered for on its own page');
  t.notOk(res.body.includes(draft.id) || res.body.includes(draft.slug), 'nothing of the draft');
  t.notOk([first.id, second.id, asking.id, created.json().id].some((id) => res.body.includes(id)), 'no ids');
  t.notMatch(res.body, /joinUrl|confirmedCount|hosts/, 'no organizer details');
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/public/series/no-such-series' })).statusCode, 404);
});
