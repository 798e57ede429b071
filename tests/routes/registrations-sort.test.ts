import t from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { createSession } from '../helpers/registrations.js';

/**
 * Issue #17, item 3: the registrations list sorted by name (`?sort=name`): lower(name), then
 * id, with keyset pages on the same key. Names in mixed case and with accents, and equal
 * names (ties broken by id), walked in pages of 2: every row exactly once, in name order.
 */

const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock });
const admin = await signIn(app, 'admin');
const session = await createSession(app, admin.headers, { capacity: null });

// Registered in an order unrelated to the names, a second apart, so the two orders differ.
const NAMES = ['zoe Quinn', 'Émile Durand', 'ada Lovelace', 'Bob Brown', 'ADA LOVELACE', 'émile durand', 'Zoë Quinn', 'charlie Day', 'Ada Lovelace', 'bob brown'];
for (const name of NAMES) {
  const added = await app.inject({
    method: 'POST',
    url: `/api/v1/sessions/${session.id}/registrations`,
    headers: admin.headers,
    payload: { name, email: uniqueEmail('sorted') },
  });
  if (added.statusCode !== 201) throw new Error(`adding ${name} failed: ${added.statusCode} ${added.body}`);
  clock.advance(1000);
}

interface Item {
  id: string;
  name: string;
  registeredAt: string;
}

const list = (query: string) => app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/registrations${query}`, headers: admin.headers });

/** Every page of a list, `limit` at a time, following nextCursor. */
async function walk(query: string, limit: number): Promise<{ items: Item[]; pages: number }> {
  const items: Item[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await list(`?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (res.statusCode !== 200) throw new Error(`page ${pages + 1}: ${res.statusCode} ${res.body}`);
    const body = res.json<{ items: Item[]; nextCursor: string | null }>();
    items.push(...body.items);
    cursor = body.nextCursor;
    pages += 1;
    if (pages > 100) throw new Error('the pages never end');
  } while (cursor);
  return { items, pages };
}

/**
 * The expected name order: lower(name) under ICU's root collation, as Postgres compares it (so
 * "é" sits beside "e"; case never matters), then the id (uuids compare as their hex text).
 */
async function expectedByName(items: Item[]): Promise<string[]> {
  const { rows } = await database.pool.query<{ key: string }>('SELECT DISTINCT lower(n) COLLATE "und-x-icu" AS key FROM unnest($1::text[]) AS n ORDER BY 1', [items.map((item) => item.name)]);
  const rank = new Map(rows.map((row, index) => [row.key, index]));
  const rankOf = (name: string) => rank.get(name.toLowerCase())!;
  return [...items].sort((a, b) => rankOf(a.name) - rankOf(b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((item) => item.id);
}

t.test('sort=name: pages of 2 walk every row exactly once, by name ignoring case, ties by id', async (t) => {
  const { items, pages } = await walk('&sort=name', 2);
  t.equal(pages, NAMES.length / 2, 'five full pages, the last without a next cursor');
  t.equal(items.length, NAMES.length, 'every registration');
  t.equal(new Set(items.map((item) => item.id)).size, NAMES.length, 'none twice');
  t.same(items.map((item) => item.id), await expectedByName(items), 'lower(name), then id');

  const names = items.map((item) => item.name);
  t.same(
    [...new Set(names.map((name) => name.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '')))],
    ['ada lovelace', 'bob brown', 'charlie day', 'emile durand', 'zoe quinn'],
    'accented names beside their letters: Émile after Charlie, Zoë with Zoe',
  );
  // Whatever the collation: case is ignored, so equal names sit together, ASCII letters in order.
  t.same(names.slice(0, 3).map((name) => name.toLowerCase()), ['ada lovelace', 'ada lovelace', 'ada lovelace'], 'the three Adas first, any case');
  t.same(names.slice(3, 5).map((name) => name.toLowerCase()), ['bob brown', 'bob brown'], 'then both Bobs');
  t.equal(names[5], 'charlie Day', 'a lower-case name among capitals');
  const emile = names.findIndex((name) => name.toLowerCase() === 'émile durand');
  t.equal(names[emile + 1]!.toLowerCase(), 'émile durand', 'É and é are one letter for the order');
  const adaIds = items.slice(0, 3).map((item) => item.id);
  t.same(adaIds, [...adaIds].sort(), 'equal names by id');

  const whole = await list('?sort=name&limit=50');
  t.same(whole.json<{ items: Item[] }>().items.map((item) => item.id), items.map((item) => item.id), 'one page of everything gives the same order');
});

t.test('the default and sort=registeredAt stay oldest first, with their own cursors', async (t) => {
  const byDefault = await walk('', 3);
  const explicit = await walk('&sort=registeredAt', 3);
  t.same(byDefault.items.map((item) => item.name), NAMES, 'registration order');
  t.same(explicit.items.map((item) => item.id), byDefault.items.map((item) => item.id), 'sort=registeredAt is the default');
});

t.test('a cursor of one order with the other sort is 400; a bad sort is 400', async (t) => {
  const byTime = (await list('?limit=2')).json<{ nextCursor: string }>().nextCursor;
  const byName = (await list('?limit=2&sort=name')).json<{ nextCursor: string }>().nextCursor;
  t.type(byTime, 'string');
  t.type(byName, 'string');
  for (const [label, query] of [
    ['a time cursor with sort=name', `?sort=name&cursor=${encodeURIComponent(byTime)}`],
    ['a name cursor with the default sort', `?cursor=${encodeURIComponent(byName)}`],
    ['a name cursor with sort=registeredAt', `?sort=registeredAt&cursor=${encodeURIComponent(byName)}`],
  ] as const) {
    const body = expectProblem(t, await list(query), 400, label);
    t.same(body.errors, [{ path: '/query/cursor', message: 'is a cursor of another sort order: start again from the first page' }], `${label}: says why`);
  }
  for (const sort of ['nonsense', 'Name', 'registered', '']) {
    const body = expectProblem(t, await list(`?sort=${sort}`), 400, `sort=${sort}`);
    t.match(JSON.stringify(body), /sort/, `sort=${sort}: names the parameter`);
  }
});

t.test('name cursors that were never handed out are 400, never 500', async (t) => {
  const UUID = '5f0c6f8e-3c1a-4b7e-9a55-0d6a3b1e2f4c';
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const garbage: Record<string, string> = {
    'a NUL in the name': encode(['name', 'ada\u0000', UUID]),
    'a lone surrogate': encode(['name', 'ada\ud800', UUID]),
    'a name that is no string': encode(['name', 42, UUID]),
    'an id that is no uuid': encode(['name', 'ada', 'x'.repeat(36)]),
    'another tag': encode(['nom', 'ada', UUID]),
    'four items': encode(['name', 'ada', UUID, 'more']),
    'a name far too long': encode(['name', 'a'.repeat(1001), UUID]),
  };
  for (const [label, cursor] of Object.entries(garbage)) {
    const body = expectProblem(t, await list(`?sort=name&cursor=${encodeURIComponent(cursor)}`), 400, label);
    t.same(body.errors, [{ path: '/query/cursor', message: 'is not a cursor from a previous page' }], `${label}: names the cursor`);
  }
  // A well-formed name cursor made by hand is a position like any other: after "bob", Charlie first.
  const after = await list(`?sort=name&limit=1&cursor=${encodeURIComponent(encode(['name', 'bob brown', 'ffffffff-ffff-ffff-ffff-ffffffffffff']))}`);
  t.equal(after.statusCode, 200);
  t.same(after.json<{ items: Item[] }>().items.map((item) => item.name), ['charlie Day']);
});

t.test('the name cursor of a 200-letter name of 4-byte letters fits the API cursor limit', async (t) => {
  const other = await createSession(app, admin.headers, { capacity: null });
  const long = '𝒜'.repeat(200); // 200 letters of 4 bytes each
  for (const name of [long, `${long.slice(0, -2)}𝒵`]) {
    const added = await app.inject({ method: 'POST', url: `/api/v1/sessions/${other.id}/registrations`, headers: admin.headers, payload: { name, email: uniqueEmail('long') } });
    t.equal(added.statusCode, 201, `added: ${added.body.slice(0, 200)}`);
  }
  const first = await app.inject({ method: 'GET', url: `/api/v1/sessions/${other.id}/registrations?sort=name&limit=1`, headers: admin.headers });
  const { nextCursor } = first.json<{ nextCursor: string }>();
  const second = await app.inject({ method: 'GET', url: `/api/v1/sessions/${other.id}/registrations?sort=name&limit=1&cursor=${nextCursor}`, headers: admin.headers });
  t.equal(second.statusCode, 200, `${nextCursor.length} characters of cursor`);
  t.equal(second.json<{ items: Item[] }>().items.length, 1);
});
