import t from 'tap';
import { buildTestApp, signIn, uniqueEmail } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { createSession } from '../helpers/registrations.js';

/** A cursor comes back from the client, who may send anything: whatever it is, 400, never 500. */

const { app } = await buildTestApp(t);
const admin = await signIn(app, 'admin');
const session = await createSession(app, admin.headers, { capacity: 10 });
for (let i = 0; i < 3; i++) {
  const added = await app.inject({
    method: 'POST',
    url: `/api/v1/sessions/${session.id}/registrations`,
    headers: admin.headers,
    payload: { name: `Paged ${i}`, email: uniqueEmail('paged') },
  });
  if (added.statusCode !== 201) throw new Error(`adding a registration failed: ${added.statusCode} ${added.body}`);
}

const UUID = '5f0c6f8e-3c1a-4b7e-9a55-0d6a3b1e2f4c';
const encode = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

const garbage: Record<string, string> = {
  'a date JavaScript parses but Postgres cannot store': encode(['-200000-01-01T00:00:00.000Z', UUID]),
  'a date outside JavaScript': encode(['+275761-01-01T00:00:00.000Z', UUID]),
  'a date in another format': encode(['Tue Dec 01 2026 10:00:00 GMT+0000', UUID]),
  'a day that does not exist': encode(['2026-02-31T00:00:00.000Z', UUID]),
  'an id of 36 dashes': encode(['2026-12-01T00:00:00.000Z', '-'.repeat(36)]),
  'an id that is no uuid': encode(['2026-12-01T00:00:00.000Z', 'x'.repeat(36)]),
  'not base64': '%%%not*base64%%%',
  'base64 of no JSON': encode('not json at all'),
  'an object': encode({ at: '2026-12-01T00:00:00.000Z', id: UUID }),
  'an empty array': encode([]),
  'numbers': encode([1, 2]),
  'a null date': encode([null, UUID]),
  'three items': encode(['2026-12-01T00:00:00.000Z', UUID, 'more']),
  'JSON null': encode('null'),
};

const lists = {
  registrations: (cursor: string) => `/api/v1/sessions/${session.id}/registrations?limit=1&cursor=${encodeURIComponent(cursor)}`,
  audit: (cursor: string) => `/api/v1/audit?limit=1&cursor=${encodeURIComponent(cursor)}`,
};

for (const [list, url] of Object.entries(lists)) {
  t.test(`${list}: a malformed cursor is 400`, async (t) => {
    for (const [label, cursor] of Object.entries(garbage)) {
      const res = await app.inject({ method: 'GET', url: url(cursor), headers: admin.headers });
      const body = expectProblem(t, res, 400, label);
      t.same(body.errors, [{ path: '/query/cursor', message: 'is not a cursor from a previous page' }], `${label}: names the cursor`);
    }
  });

  t.test(`${list}: a cursor from a previous page still pages`, async (t) => {
    const first = await app.inject({ method: 'GET', url: url('').replace('&cursor=', ''), headers: admin.headers });
    t.equal(first.statusCode, 200);
    const { items, nextCursor } = first.json<{ items: { id: string }[]; nextCursor: string | null }>();
    t.equal(items.length, 1);
    t.type(nextCursor, 'string');
    const second = await app.inject({ method: 'GET', url: url(nextCursor!), headers: admin.headers });
    t.equal(second.statusCode, 200);
    const next = second.json<{ items: { id: string }[] }>().items;
    t.equal(next.length, 1);
    t.not(next[0]!.id, items[0]!.id, 'the next page starts after the first');
  });
}
