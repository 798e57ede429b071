import { randomUUID } from 'node:crypto';
import t from 'tap';
import { consoleSignIn, form, makeOrganizer, tableRows, unescape, type ConsoleBrowser } from '../console/support.js';
import { buildTestApp } from '../helpers/app.js';

/**
 * The console's API keys page: every organizer's own keys (Name, Starts with, Created, Last used),
 * the New key form whose answer shows the key once (never in a URL or a later page), Delete after
 * a confirmation, CSRF on every POST.
 */

const { app, database } = await buildTestApp(t);
const PAGE = '/console/api-keys';

const rows = (html: string) => tableRows(html, 'admin-table api-keys-table').map((row) => row.map(unescape));
const navHas = (html: string, text: string) => new RegExp(`<nav class="console-nav"[\\s\\S]*?>${text}</a>[\\s\\S]*?</nav>`).test(html);
const shownKey = (html: string) => /<input type="text" id="new-key" value="([^"]+)"/.exec(html)?.[1] ?? null;
const me = (key: string) => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${key}` } });

function fieldError(html: string, id: string): string | null {
  const match = new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html);
  return match ? unescape(match[1]!) : null;
}

function summaryItems(html: string): string[] {
  const summary = /<div class="error-summary"[\s\S]*?<\/div>/.exec(html)?.[0] ?? '';
  return [...summary.matchAll(/<li>(?:<a href="([^"]*)">)?([^<]*)/g)].map((match) => `${match[1] ?? ''} ${unescape(match[2]!)}`.trim());
}

async function keysOf(organizerId: string): Promise<Array<{ id: string; name: string; prefix: string }>> {
  const { rows: found } = await database.pool.query('SELECT id, name, prefix FROM api_keys WHERE organizer_id = $1 ORDER BY created_at', [organizerId]);
  return found;
}

async function browser(name: string): Promise<ConsoleBrowser> {
  return consoleSignIn(app, await makeOrganizer(app, 'organizer', name));
}

/** A POST of the console session without its `_csrf`. */
function postWithoutCsrf(who: ConsoleBrowser, url: string, fields: Record<string, string>) {
  const body = form(fields);
  return app.inject({ method: 'POST', url, payload: body.payload, headers: { ...body.headers, ...who.headers } });
}

t.test('signed out: the page leads to the login page', async (t) => {
  const res = await app.inject({ method: 'GET', url: PAGE });
  t.equal(res.statusCode, 303);
  t.match(res.headers.location, /^\/console\/login/);
});

t.test('every organizer has the page in the nav; it starts empty with the New key form', async (t) => {
  const plain = await browser('Keys Empty');
  const res = await plain.get(PAGE);
  t.equal(res.statusCode, 200);
  t.ok(navHas(res.body, 'API keys'), 'nav entry');
  t.match(res.body, /<a href="\/console\/api-keys" aria-current="page">API keys<\/a>/, 'marked current');
  t.match(res.body, /You have no API key\./);
  t.match(res.body, /<form method="post" action="\/console\/api-keys" novalidate>/);
  t.match(res.body, /<label for="f-name">Name <span class="req">\(required\)<\/span><\/label>/, 'a labelled field');
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(String(res.headers['content-security-policy']), /script-src 'self'/);
});

t.test('New key: the answer shows the key once, and no later page does', async (t) => {
  const owner = await browser('Keys Maker');
  const res = await owner.post(PAGE, { name: 'Reporting <script>' });
  t.equal(res.statusCode, 200, 'the page itself answers: no redirect to carry the key');
  t.equal(res.headers.location, undefined);
  t.equal(res.headers['cache-control'], 'no-store');
  const key = shownKey(res.body);
  t.ok(key, 'the key is on the page');
  t.match(key!, /^cvk_[A-Za-z0-9_-]{43}$/);
  t.match(res.body, /Copy it now: it is not shown again/);
  t.match(res.body, /readonly autocomplete="off" spellcheck="false" autocapitalize="off" aria-describedby="new-key-hint" data-copy>/, 'read-only, with the Copy button of the console script');
  t.notOk(res.body.includes('<script>'), 'the name is escaped');

  const [stored] = await keysOf(owner.organizer.id);
  t.equal(stored!.name, 'Reporting <script>');
  t.equal(stored!.prefix, key!.slice(0, 12));
  t.equal(rows(res.body)[0]?.[0], 'Reporting <script>', 'listed at once');

  t.equal((await me(key!)).json().id, owner.organizer.id, 'the key works, as its organizer');

  const later = await owner.get(PAGE);
  t.notOk(later.body.includes(key!), 'the key is shown once only');
  t.equal(shownKey(later.body), null);
  const [row] = rows(later.body);
  t.equal(row?.[0], 'Reporting <script>', 'Name');
  t.equal(row?.[1], key!.slice(0, 12), 'Starts with: the prefix');
  t.match(row?.[2] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d$/, 'Created');
  t.match(row?.[3] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d$/, 'Last used: by the request above');
  t.match(later.body, /<th scope="col">Name<\/th><th scope="col">Starts with<\/th><th scope="col">Created \(UTC\)<\/th><th scope="col">Last used \(UTC\)<\/th>/);
});

t.test('a key never used says so; the list is of the caller only', async (t) => {
  const owner = await browser('Keys Owner');
  const other = await browser('Keys Other');
  await owner.post(PAGE, { name: 'Unused' });
  const [row] = rows((await owner.get(PAGE)).body);
  t.equal(row?.[3], 'Never');
  t.same(rows((await other.get(PAGE)).body), [], "another organizer does not see it");
});

t.test('the form refuses a blank or too long name, with the summary and the field error', async (t) => {
  const owner = await browser('Keys Errors');
  const blank = await owner.post(PAGE, { name: '   ' });
  t.equal(blank.statusCode, 400);
  t.match(blank.body, /<title>Error: API keys/);
  t.same(summaryItems(blank.body), ['#f-name Name is required']);
  t.equal(fieldError(blank.body, 'f-name'), 'Name is required');
  t.match(blank.body, /aria-invalid="true"/);
  t.equal(shownKey(blank.body), null);

  const long = await owner.post(PAGE, { name: 'y'.repeat(101) });
  t.equal(long.statusCode, 400);
  t.equal(fieldError(long.body, 'f-name'), 'Name must be at most 100 characters');
  t.match(long.body, new RegExp(`value="${'y'.repeat(101)}"`), 'what was typed is kept');
  t.same(await keysOf(owner.organizer.id), [], 'nothing made');
});

t.test('CSRF: a POST without the session token or from a foreign origin makes and deletes nothing', async (t) => {
  const owner = await browser('Keys Csrf');
  const made = await postWithoutCsrf(owner, PAGE, { name: 'Forged' });
  t.equal(made.statusCode, 403);
  t.equal(shownKey(made.body), null);
  const foreign = await owner.post(PAGE, { name: 'Forged' }, { origin: 'https://evil.example' });
  t.equal(foreign.statusCode, 403, 'a foreign Origin');
  t.same(await keysOf(owner.organizer.id), [], 'no key made');

  const key = shownKey((await owner.post(PAGE, { name: 'Kept' })).body)!;
  const [stored] = await keysOf(owner.organizer.id);
  const deleted = await postWithoutCsrf(owner, `${PAGE}/${stored!.id}/delete`, {});
  t.equal(deleted.statusCode, 403);
  t.equal((await me(key)).statusCode, 200, 'the key still works');
});

t.test('Delete: a confirmation first, then the key is refused at once', async (t) => {
  const owner = await browser('Keys Deleter');
  const key = shownKey((await owner.post(PAGE, { name: 'Old sync' })).body)!;
  const [stored] = await keysOf(owner.organizer.id);
  const list = await owner.get(PAGE);
  t.match(list.body, new RegExp(`<a class="button secondary" href="/console/api-keys/${stored!.id}/delete" aria-label="Delete Old sync">Delete</a>`));

  const confirm = await owner.get(`${PAGE}/${stored!.id}/delete`);
  t.equal(confirm.statusCode, 200);
  t.match(confirm.body, /<h1>Delete the API key “Old sync”\?<\/h1>/);
  t.match(confirm.body, new RegExp(`<dd><code>${key.slice(0, 12)}</code></dd>`), 'which key');
  t.match(confirm.body, new RegExp(`<form method="post" action="/console/api-keys/${stored!.id}/delete">`));
  t.match(confirm.body, /name="_csrf"/);
  t.equal((await me(key)).statusCode, 200, 'the confirmation page deletes nothing');

  const res = await owner.post(`${PAGE}/${stored!.id}/delete`, {});
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `${PAGE}?done=deleted`);
  t.equal((await me(key)).statusCode, 401, 'refused on the next request');
  const after = await owner.get(res.headers.location as string);
  t.match(after.body, /The key is deleted: every program using it is refused from now on\./);
  t.same(rows(after.body), []);
  const { rows: audit } = await database.pool.query("SELECT action FROM audit_log WHERE subject_type = 'api_key' AND subject_id = $1 ORDER BY at, id", [stored!.id]);
  t.same(audit.map((entry) => entry.action), ['api_key.create', 'api_key.delete']);

  t.equal((await owner.post(`${PAGE}/${stored!.id}/delete`, {})).statusCode, 404, 'deleted already');
});

t.test("another organizer's key is a 404 page, to see and to delete", async (t) => {
  const owner = await browser('Keys Victim');
  const stranger = await browser('Keys Stranger');
  const key = shownKey((await owner.post(PAGE, { name: 'Private' })).body)!;
  const [stored] = await keysOf(owner.organizer.id);
  t.equal((await stranger.get(`${PAGE}/${stored!.id}/delete`)).statusCode, 404);
  t.equal((await stranger.post(`${PAGE}/${stored!.id}/delete`, {})).statusCode, 404);
  t.equal((await stranger.get(`${PAGE}/${randomUUID()}/delete`)).statusCode, 404, 'as an unknown id');
  t.equal((await stranger.get(`${PAGE}/not-a-uuid/delete`)).statusCode, 400, 'a malformed id');
  t.equal((await me(key)).statusCode, 200, 'the key still works');
});

t.test('with 20 keys the form gives way to a note; one more is refused on the page', async (t) => {
  const owner = await browser('Keys Collector');
  for (let i = 0; i < 20; i += 1) await app.services.apiKeys.create(owner.organizer, `Key ${i}`);
  const full = await owner.get(PAGE);
  t.equal(rows(full.body).length, 20);
  t.match(full.body, /You have 20 keys, the most one may have\./);
  t.notOk(full.body.includes('action="/console/api-keys" novalidate'), 'no New key form');

  const refused = await owner.post(PAGE, { name: 'One more' });
  t.equal(refused.statusCode, 409);
  t.equal(shownKey(refused.body), null);
  t.match(summaryItems(refused.body).join('\n'), /20 API keys/);
  t.equal((await keysOf(owner.organizer.id)).length, 20);
});
