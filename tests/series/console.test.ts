import t from 'tap';
import { buildTestApp, uniqueSuffix } from '../helpers/app.js';
import { createSession } from '../helpers/registrations.js';
import { consoleSignIn, form, formFields, makeOrganizer, tableRows } from '../console/support.js';

/** The console's series pages: list, New series (pick and order sessions), edit, delete; the hosts rule. */

const { app, database } = await buildTestApp(t);
const owner = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Series Owner'));
const ownerApi = { authorization: `Bearer ${app.issueToken(owner.organizer).token}` };
const stranger = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Series Stranger'));
const strangerApi = { authorization: `Bearer ${app.issueToken(stranger.organizer).token}` };

const later = await createSession(app, ownerApi, { title: `Later ${uniqueSuffix()}` }, { daysAhead: 20 });
const sooner = await createSession(app, ownerApi, { title: `Sooner ${uniqueSuffix()}` }, { daysAhead: 10 });
const draft = await createSession(app, ownerApi, { title: `Draft ${uniqueSuffix()}` }, { daysAhead: 15, publish: false });
const foreign = await createSession(app, strangerApi, { title: `Foreign ${uniqueSuffix()}` }, { daysAhead: 12 });

const navHas = (html: string, text: string) => new RegExp(`<nav class="console-nav"[\\s\\S]*?>${text}</a>[\\s\\S]*?</nav>`).test(html);

async function seriesOf(title: string): Promise<{ id: string; slug: string; sessionIds: string[] } | undefined> {
  const { rows } = await database.pool.query<{ id: string; slug: string; ids: string[] }>(
    `SELECT s.id, s.slug, array(SELECT session_id::text FROM series_sessions WHERE series_id = s.id ORDER BY position) AS ids FROM series s WHERE s.title = $1`,
    [title],
  );
  return rows[0] ? { id: rows[0].id, slug: rows[0].slug, sessionIds: rows[0].ids } : undefined;
}

t.test('signed out: the pages lead to the login page', async (t) => {
  for (const url of ['/console/series', '/console/series/new']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 303, url);
    t.match(res.headers.location, /^\/console\/login\?next=/);
  }
  const post = await app.inject({ method: 'POST', url: '/console/series', ...form({ title: 'x' }) });
  t.equal(post.statusCode, 303);
});

t.test('New series: the sessions it hosts that have not ended, ticked and ordered by start time', async (t) => {
  const list = await owner.get('/console/series');
  t.equal(list.statusCode, 200);
  t.ok(navHas(list.body, 'Series'), 'a nav entry');
  t.match(list.body, /<a class="button" href="\/console\/series\/new">New series<\/a>/);

  const page = await owner.get('/console/series/new');
  t.equal(page.statusCode, 200);
  const offered = tableRows(page.body, 'series-sessions-table');
  const titles = offered.map((row) => row[0]);
  t.ok(titles.includes(sooner.title) && titles.includes(later.title) && titles.includes(draft.title), 'its sessions, drafts too');
  t.notOk(page.body.includes(foreign.title), 'never another organizer’s session');
  t.ok(titles.indexOf(sooner.title) < titles.indexOf(later.title), 'soonest first');
  t.match(page.body, /<label for="f-title">Title/);
  t.match(page.body, /<label class="visually-hidden" for="p-[0-9a-f-]+">Position of /, 'each position field labelled');

  const title = `Cohort ${uniqueSuffix()}`;
  const fields = { ...formFields(page.body, '/console/series'), title, description: 'Three sessions, one cohort.' };
  const body = new URLSearchParams(fields);
  for (const session of [later, draft, sooner]) body.append('sessionIds', session.id);
  const saved = await app.inject({
    method: 'POST',
    url: '/console/series',
    payload: body.toString(),
    headers: { ...owner.headers, 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(saved.statusCode, 303, saved.body.slice(0, 2000));
  t.equal(saved.headers.location, '/console/series?done=created');
  const created = await seriesOf(title);
  t.same(created?.sessionIds, [sooner.id, draft.id, later.id], 'by start time');

  const after = await owner.get('/console/series?done=created');
  t.match(after.body, /The series is created/);
  const row = tableRows(after.body, 'series-table').find((cells) => cells[0] === title);
  t.ok(row, 'listed');
  t.match(row![1]!, /^3 \(2 published, 1 draft\)$/);
  t.equal(row![3], `/series/${created!.slug}`, 'its public page');
  const { rows: audit } = await database.pool.query('SELECT action, actor_id FROM audit_log WHERE subject_id = $1', [created!.id]);
  t.same(audit, [{ action: 'series.create', actor_id: owner.organizer.id }], 'the API’s audit entry, the organizer as actor');
});

t.test('by the positions given; errors said at their fields; a foreign session refused', async (t) => {
  const title = `Ordered ${uniqueSuffix()}`;
  const ordered = await owner.post('/console/series', {
    title,
    order: 'position',
    sessionIds: later.id,
    [`position-${later.id}`]: '1',
    [`position-${sooner.id}`]: '7',
  });
  t.equal(ordered.statusCode, 303, 'one ticked (an untouched position elsewhere is ignored)');
  t.same((await seriesOf(title))?.sessionIds, [later.id]);

  const both = new URLSearchParams({ _csrf: owner.csrf, title: `${title} 2`, order: 'position', [`position-${later.id}`]: '1', [`position-${sooner.id}`]: '2' });
  both.append('sessionIds', sooner.id);
  both.append('sessionIds', later.id);
  const res = await app.inject({ method: 'POST', url: '/console/series', payload: both.toString(), headers: { ...owner.headers, 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(res.statusCode, 303);
  t.same((await seriesOf(`${title} 2`))?.sessionIds, [later.id, sooner.id], 'position 1 first, whatever the start times');

  const empty = await owner.post('/console/series', { title: '', order: 'start' });
  t.equal(empty.statusCode, 400);
  t.match(empty.body, /<title>Error: New series/);
  t.match(empty.body, /<a href="#f-title">Title is required<\/a>/);
  t.match(empty.body, /<a href="#series-sessions">Sessions: tick at least one session<\/a>/);

  const badPosition = await owner.post('/console/series', { title: 'x', order: 'position', sessionIds: sooner.id, [`position-${sooner.id}`]: 'first' });
  t.equal(badPosition.statusCode, 400);
  t.match(badPosition.body, /a whole number from 1 to 999/);
  t.match(badPosition.body, new RegExp(`value="first"`), 'what was typed stays');

  const crafted = await owner.post('/console/series', { title: 'Crafted', sessionIds: foreign.id });
  t.equal(crafted.statusCode, 400, 'a session of another organizer, sent by hand');
  t.match(crafted.body, /Sessions: is not a session you host/);
  t.notOk(crafted.body.includes(foreign.title));

  const slugTaken = await owner.post('/console/series', { title: 'Taken', slug: (await seriesOf(title))!.slug, sessionIds: sooner.id });
  t.equal(slugTaken.statusCode, 409);
  t.match(slugTaken.body, /is already used by another series/);

  const noCsrf = await app.inject({ method: 'POST', url: '/console/series', ...form({ title: 'No token', sessionIds: sooner.id }), headers: { ...form({}).headers, ...owner.headers } });
  t.equal(noCsrf.statusCode, 403, 'no CSRF token');
});

t.test('edit: filled in, saved through the API’s update; another organizer gets 404 pages', async (t) => {
  const title = `Editable ${uniqueSuffix()}`;
  await owner.post('/console/series', { title, sessionIds: sooner.id });
  const { id, slug } = (await seriesOf(title))!;
  const page = await owner.get(`/console/series/${id}/edit`);
  t.equal(page.statusCode, 200);
  const fields = formFields(page.body, `/console/series/${id}`);
  t.equal(fields.title, title);
  t.equal(fields.slug, slug);
  t.equal(fields.sessionIds, sooner.id, 'its session ticked');
  t.equal(fields[`position-${sooner.id}`], '1', 'with its position');
  t.equal(fields.order, 'position', 'the series’ own order kept by default');

  const body = new URLSearchParams({ ...fields, title: `${title} (renamed)`, [`position-${later.id}`]: '1', [`position-${sooner.id}`]: '2' });
  body.append('sessionIds', later.id);
  const saved = await app.inject({ method: 'POST', url: `/console/series/${id}`, payload: body.toString(), headers: { ...owner.headers, 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(saved.statusCode, 303, saved.body.slice(0, 1500));
  t.equal(saved.headers.location, '/console/series?done=saved');
  t.same((await seriesOf(`${title} (renamed)`))?.sessionIds, [later.id, sooner.id]);

  for (const url of [`/console/series/${id}/edit`, `/console/series/${id}/delete`]) {
    const res = await stranger.get(url);
    t.equal(res.statusCode, 404, `${url} for another organizer`);
    t.notOk(res.body.includes(title));
  }
  t.equal((await stranger.post(`/console/series/${id}`, { title: 'Taken over', sessionIds: foreign.id })).statusCode, 404);
  t.equal((await stranger.post(`/console/series/${id}/delete`, {})).statusCode, 404);
  t.notOk((await stranger.get('/console/series')).body.includes(title), 'not in the other organizer’s list');
});

t.test('delete: confirmed first, then gone; the sessions stay', async (t) => {
  const title = `Doomed ${uniqueSuffix()}`;
  await owner.post('/console/series', { title, sessionIds: sooner.id });
  const { id } = (await seriesOf(title))!;
  const confirm = await owner.get(`/console/series/${id}/delete`);
  t.equal(confirm.statusCode, 200);
  t.match(confirm.body, /Delete the series “Doomed/);
  t.match(confirm.body, /Its 1 session stays as it is/);
  const deleted = await owner.post(`/console/series/${id}/delete`, {});
  t.equal(deleted.statusCode, 303);
  t.equal(deleted.headers.location, '/console/series?done=deleted');
  t.equal(await seriesOf(title), undefined);
  t.equal((await owner.get(`/console/sessions/${sooner.id}`)).statusCode, 200, 'its session stays');
});
