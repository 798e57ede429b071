import { randomInt } from 'node:crypto';
import t from 'tap';
import { buildTestApp, manualClock, sessionBody, signIn, uniqueSuffix } from '../helpers/app.js';
import { errorPaths, expectProblem } from '../helpers/http.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

const { app, database } = await buildTestApp(t);
const owner = await signIn(app);
const base = 'http://convene.test'; // PUBLIC_BASE_URL of testConfig

type Session = Record<string, any>;

const create = (payload: Record<string, unknown>, headers = owner.headers) =>
  app.inject({ method: 'POST', url: '/api/v1/sessions', headers, payload });
const get = (id: string) => app.inject({ method: 'GET', url: `/api/v1/sessions/${id}`, headers: owner.headers });
const patch = (id: string, payload: unknown) =>
  app.inject({ method: 'PATCH', url: `/api/v1/sessions/${id}`, headers: owner.headers, payload: payload as object });
const publish = (id: string) => app.inject({ method: 'POST', url: `/api/v1/sessions/${id}/publish`, headers: owner.headers });
const cancel = (id: string, payload: Record<string, unknown> = {}) =>
  app.inject({ method: 'POST', url: `/api/v1/sessions/${id}/cancel`, headers: owner.headers, payload });
const remove = (id: string) => app.inject({ method: 'DELETE', url: `/api/v1/sessions/${id}`, headers: owner.headers });
const list = (query: Record<string, string>) =>
  app.inject({ method: 'GET', url: '/api/v1/sessions', headers: owner.headers, query: { limit: '500', ...query } });

async function created(payload: Record<string, unknown> = sessionBody()): Promise<Session> {
  const res = await create(payload);
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

async function countCreatedBy(organizerId: string): Promise<number> {
  const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE created_by = $1', [
    organizerId,
  ]);
  return rows[0]!.n;
}

/** The same instant written with a fixed offset instead of Z. */
function withOffset(iso: string, offsetHours: number): string {
  const shifted = new Date(Date.parse(iso) + offsetHours * HOUR).toISOString().slice(0, 19);
  const sign = offsetHours < 0 ? '-' : '+';
  return `${shifted}${sign}${String(Math.abs(offsetHours)).padStart(2, '0')}:00`;
}

t.test('invalid session bodies are 400 with the field path, and nothing is stored', async (t) => {
  const somebody = await signIn(app);
  const valid = sessionBody();
  const start = String(valid.startsAt);
  const inDays = (days: number) => new Date(Date.parse(start) + days * DAY).toISOString();
  const { title: _title, ...withoutTitle } = valid;

  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['missing title', '/title', withoutTitle],
    ['title of spaces', '/title', { title: '    ' }],
    ['title of 201 characters', '/title', { title: 'x'.repeat(201) }],
    ['startsAt without offset', '/startsAt', { startsAt: start.replace(/\.000Z$/, '') }],
    ['startsAt not a date', '/startsAt', { startsAt: 'next tuesday' }],
    ['startsAt on 30 February', '/startsAt', { startsAt: '2027-02-30T10:00:00Z' }],
    ['startsAt more than 10 years ahead', '/startsAt', { startsAt: inDays(3700), endsAt: inDays(3701) }],
    ['endsAt before startsAt', '/endsAt', { endsAt: new Date(Date.parse(start) - HOUR).toISOString() }],
    ['endsAt equal to startsAt', '/endsAt', { endsAt: start }],
    ['session in the past', '/endsAt', { startsAt: '2020-01-01T10:00:00Z', endsAt: '2020-01-01T11:00:00Z' }],
    ['session of 32 days', '/endsAt', { endsAt: inDays(32) }],
    ['timezone Mars/Base', '/timezone', { timezone: 'Mars/Base' }],
    ['timezone as an offset', '/timezone', { timezone: '+02:00' }],
    ['capacity -1', '/capacity', { capacity: -1 }],
    ['capacity "100"', '/capacity', { capacity: '100' }],
    ['capacity 1.5', '/capacity', { capacity: 1.5 }],
    ['http joinUrl', '/joinUrl', { joinUrl: 'http://meet.example.org/j/123' }],
    ['joinUrl not a URL', '/joinUrl', { joinUrl: 'meet example org' }],
    ['joinUrl with credentials', '/joinUrl', { joinUrl: 'https://user:pass@meet.example.org/j/1' }],
    ['javascript joinUrl', '/joinUrl', { joinUrl: 'javascript:alert(1)' }],
    ['unknown property', '/organizerId', { organizerId: owner.organizer.id }],
    ['status is not writable', '/status', { status: 'published' }],
    ['sequence is not writable', '/sequence', { sequence: 7 }],
    ['counts are not writable', '/counts', { counts: { confirmed: 5, waitlisted: 0, cancelled: 0 } }],
    ['uppercase slug', '/slug', { slug: 'Bad-Slug' }],
    ['slug with spaces', '/slug', { slug: 'bad slug' }],
    ['slug with a trailing hyphen', '/slug', { slug: 'bad-' }],
    ['select question without options', '/questions/0/options', { questions: [{ id: 'role', label: 'Role', type: 'select' }] }],
    [
      'select question with repeated options',
      '/questions/0/options',
      { questions: [{ id: 'role', label: 'Role', type: 'select', options: ['A', 'A'] }] },
    ],
    [
      'text question with options',
      '/questions/0/options',
      { questions: [{ id: 'city', label: 'City', type: 'text', options: ['x'] }] },
    ],
    [
      'duplicate question ids',
      '/questions/1/id',
      {
        questions: [
          { id: 'city', label: 'City', type: 'text' },
          { id: 'city', label: 'Town', type: 'text' },
        ],
      },
    ],
    ['question of unknown type', '/questions/0/type', { questions: [{ id: 'city', label: 'City', type: 'radio' }] }],
    ['question id with capitals', '/questions/0/id', { questions: [{ id: 'City', label: 'City', type: 'text' }] }],
    ['question without label', '/questions/0/label', { questions: [{ id: 'city', type: 'text' }] }],
    ['duplicate reminders', '/reminders', { reminders: [60, 60] }],
    ['reminder of 0 minutes', '/reminders/0', { reminders: [0] }],
    ['six reminders', '/reminders', { reminders: [10, 20, 30, 40, 50, 60] }],
    ['audience domains without domains', '/audience/domains', { audience: { kind: 'domains' } }],
    ['audience domains with a non-domain', '/audience/domains/0', { audience: { kind: 'domains', domains: ['not a domain'] } }],
    ['audience code without code', '/audience/code', { audience: { kind: 'code' } }],
    ['audience code too short', '/audience/code', { audience: { kind: 'code', code: 'abc' } }],
    ['public audience with a code', '/audience/code', { audience: { kind: 'public', code: 'secret-code' } }],
    ['audience of unknown kind', '/audience/kind', { audience: { kind: 'friends' } }],
    [
      'registrationClosesAt before registrationOpensAt',
      '/registrationClosesAt',
      { registrationOpensAt: inDays(-3), registrationClosesAt: inDays(-4) },
    ],
    ['registrationClosesAt after the end', '/registrationClosesAt', { registrationClosesAt: inDays(1) }],
    ['registrationOpensAt after the end', '/registrationOpensAt', { registrationOpensAt: inDays(1) }],
    ['registrationOpensAt not a date-time', '/registrationOpensAt', { registrationOpensAt: '2026-12-04' }],
    ['registrationOpensAt at a leap second', '/registrationOpensAt', { registrationOpensAt: '2026-06-30T23:59:60Z' }],
    ['description of 20001 characters', '/description', { description: 'd'.repeat(20_001) }],
    ['summary of 501 characters', '/summary', { summary: 's'.repeat(501) }],
    ['waitlist limit -1', '/waitlist/limit', { waitlist: { enabled: true, limit: -1 } }],
    ['waitlist without enabled', '/waitlist/enabled', { waitlist: { limit: 5 } }],
    ['contact e-mail invalid', '/contact/email', { contact: { name: 'Team', email: 'not-an-email' } }],
    ['contact without name', '/contact/name', { contact: { email: 'team@example.org' } }],
    ['contact with extra property', '/contact/phone', { contact: { name: 'Team', email: 'team@example.org', phone: '1' } }],
  ];
  t.ok(cases.length >= 15);

  for (const [label, path, overrides] of cases) {
    const payload = label === 'missing title' ? overrides : { ...valid, ...overrides, title: overrides.title ?? `Invalid ${uniqueSuffix()}` };
    const res = await create(payload, somebody.headers);
    const body = expectProblem(t, res, 400, label);
    t.equal(body.title, 'Bad Request', `${label}: title`);
    t.ok(errorPaths(body).includes(path), `${label}: names ${path} (got ${JSON.stringify(body.errors)})`);
    for (const error of body.errors ?? []) t.type(error.message, 'string');
  }
  t.equal(await countCreatedBy(somebody.organizer.id), 0, 'no session was stored');
});

t.test('all broken fields are reported at once', async (t) => {
  const res = await create(sessionBody({ capacity: -1, slug: 'Not OK', joinUrl: 42 }));
  const body = expectProblem(t, res, 400);
  t.same(errorPaths(body).sort(), ['/capacity', '/joinUrl', '/slug']);

  const rules = await create(sessionBody({ timezone: 'Nowhere/City', reminders: [5, 5], audience: { kind: 'code' } }));
  t.same(errorPaths(expectProblem(t, rules, 400)).sort(), ['/audience/code', '/reminders', '/timezone']);
});

t.test('a body that is not an object is 400', async (t) => {
  for (const payload of ['[]', '"title"', 'null', '42']) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/sessions',
      headers: { ...owner.headers, 'content-type': 'application/json' },
      payload,
    });
    expectProblem(t, res, 400, payload);
  }
});

t.test('a valid create returns the whole draft', async (t) => {
  const suffix = uniqueSuffix();
  const body = sessionBody({ title: `Online Privacy & Security for Mayors ${suffix}` });
  const res = await create(body);
  t.equal(res.statusCode, 201);
  const session = res.json();
  t.equal(res.headers.location, `/api/v1/sessions/${session.id}`);
  t.match(session.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.equal(session.slug, `online-privacy-security-for-mayors-${suffix}`, 'slug from the title');
  t.equal(session.title, body.title);
  t.equal(session.status, 'draft');
  t.equal(session.sequence, 0);
  t.same(session.counts, { confirmed: 0, waitlisted: 0, cancelled: 0, pending: 0, offered: 0 });
  t.same(session.urls, { page: `${base}/s/${session.slug}`, ics: `${base}/feeds/sessions/${session.slug}.ics` });
  t.equal(session.startsAt, body.startsAt);
  t.equal(session.endsAt, body.endsAt);
  t.equal(session.timezone, 'America/Chicago');
  t.equal(session.capacity, 100);
  t.same(session.waitlist, { enabled: true, limit: null, mode: 'auto', offerMinutes: 1440 }, 'waitlist default');
  t.same(session.audience, { kind: 'public' }, 'audience default');
  t.same(session.questions, []);
  t.same(session.reminders, [1440, 60], 'reminders default');
  t.same(session.contact, { name: owner.organizer.name, email: owner.organizer.email }, 'contact defaults to the creator');
  t.equal(session.summary, null);
  t.equal(session.description, null);
  t.equal(session.joinUrl, null);
  t.equal(session.registrationOpensAt, null);
  t.equal(session.publishedAt, null);
  t.equal(session.cancelledAt, null);
  t.equal(session.cancelReason, null);
  t.ok(Math.abs(Date.parse(session.createdAt) - Date.now()) < 60_000, 'createdAt is now');
  t.equal(session.updatedAt, session.createdAt);

  const again = await get(session.id);
  t.equal(again.statusCode, 200);
  t.same(again.json(), session, 'GET returns what POST returned');
});

t.test('a full create is normalised', async (t) => {
  const plain = sessionBody();
  const res = await create({
    ...plain,
    title: '  Café Über Ñandú  ',
    startsAt: withOffset(String(plain.startsAt), -6),
    endsAt: withOffset(String(plain.endsAt), 5),
    summary: 'Short',
    description: 'd'.repeat(20_000),
    capacity: null,
    waitlist: { enabled: false },
    registrationOpensAt: new Date(Date.now() + HOUR).toISOString(),
    registrationClosesAt: plain.startsAt,
    audience: { kind: 'domains', domains: ['CityOfX.gov', '@cityofx.gov', 'example.org'] },
    questions: [
      { id: 'city', label: 'Your city', type: 'text', required: true },
      { id: 'role', label: 'Role', type: 'select', options: ['Mayor', 'Staff'] },
    ],
    reminders: [60, 1440, 15],
    joinUrl: 'https://meet.example.org/j/123',
    joinInstructions: 'Passcode 4321',
    contact: { name: ' Programme team ', email: 'Programs@Example.org' },
  });
  t.equal(res.statusCode, 201, res.body.slice(0, 300));
  const session = res.json();
  t.equal(session.title, 'Café Über Ñandú', 'title trimmed');
  t.match(session.slug, /^cafe-uber-nandu(-[a-z0-9]{6})?$/, 'accents folded in the slug');
  t.equal(session.startsAt, plain.startsAt, 'an offset is stored as UTC');
  t.equal(session.endsAt, plain.endsAt);
  t.equal(session.capacity, null, 'unlimited');
  t.same(session.waitlist, { enabled: false, limit: null, mode: 'auto', offerMinutes: 1440 });
  t.same(session.audience, { kind: 'domains', domains: ['cityofx.gov', 'example.org'] }, 'domains normalised and deduplicated');
  t.same(session.questions, [
    { id: 'city', label: 'Your city', type: 'text', required: true },
    { id: 'role', label: 'Role', type: 'select', options: ['Mayor', 'Staff'], required: false },
  ]);
  t.same(session.reminders, [1440, 60, 15], 'reminders sorted, earliest first');
  t.same(session.contact, { name: 'Programme team', email: 'programs@example.org' });
  t.equal(session.description.length, 20_000, '20000 characters are allowed');
  t.equal(session.registrationClosesAt, plain.startsAt);
});

t.test('slugs are unique', async (t) => {
  const slug = `explicit-${uniqueSuffix()}`;
  const first = await create(sessionBody({ slug }));
  t.equal(first.statusCode, 201);
  t.equal(first.json().slug, slug);
  const clash = await create(sessionBody({ slug }));
  const problem = expectProblem(t, clash, 409);
  t.match(problem.detail, slug);
  const { rows } = await database.pool.query('SELECT id FROM sessions WHERE slug = $1', [slug]);
  t.equal(rows.length, 1, 'the clash stored nothing');

  const title = `Same Title ${uniqueSuffix()}`;
  const a = await created(sessionBody({ title }));
  const b = await created(sessionBody({ title }));
  const generated = title.toLowerCase().replace(/ /g, '-');
  t.equal(a.slug, generated);
  t.not(b.slug, a.slug);
  t.match(b.slug, new RegExp(`^${generated}-[a-z0-9]{6}$`), 'a generated slug gets a suffix');

  const byExplicit = await created(sessionBody({ title: `Taken ${uniqueSuffix()}` }));
  const reuse = await create(sessionBody({ title: 'Anything', slug: byExplicit.slug }));
  expectProblem(t, reuse, 409, 'an explicit slug equal to a generated one');
});

t.test('publish, cancel and delete follow the states', async (t) => {
  const session = await created();

  const published = await publish(session.id);
  t.equal(published.statusCode, 200);
  t.equal(published.json().status, 'published');
  t.ok(published.json().publishedAt, 'publishedAt set');
  t.equal(published.json().sequence, 0, 'publishing does not raise the sequence');

  expectProblem(t, await publish(session.id), 409, 'publish twice');
  expectProblem(t, await remove(session.id), 409, 'delete a published session');
  t.equal((await get(session.id)).json().status, 'published', 'still there');

  const cancelled = await cancel(session.id, { reason: '  The speaker is ill  ' });
  t.equal(cancelled.statusCode, 200);
  t.match(cancelled.json(), { status: 'cancelled', sequence: 1, cancelReason: 'The speaker is ill' });
  t.ok(cancelled.json().cancelledAt);

  expectProblem(t, await publish(session.id), 409, 'publish a cancelled session');
  expectProblem(t, await patch(session.id, { title: 'Back again' }), 409, 'patch a cancelled session');
  expectProblem(t, await cancel(session.id), 409, 'cancel twice');
  expectProblem(t, await remove(session.id), 409, 'delete a cancelled session');
  const after = (await get(session.id)).json();
  t.match(after, { status: 'cancelled', sequence: 1, title: session.title }, 'nothing changed');
});

t.test(
  'cancel needs no body at all ({reason?})',
  async (t) => {
    const draft = await created();
    const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${draft.id}/cancel`, headers: owner.headers });
    t.equal(res.statusCode, 200, res.body);
  },
);

t.test('a draft can be cancelled without a reason, and deleted', async (t) => {
  const draft = await created();
  const cancelled = await cancel(draft.id);
  t.equal(cancelled.statusCode, 200);
  t.match(cancelled.json(), { status: 'cancelled', cancelReason: null, sequence: 1 });
  expectProblem(t, await cancel((await created()).id, { reason: 'x', notify: false }), 400, 'unknown cancel property');

  const other = await created();
  const deleted = await remove(other.id);
  t.equal(deleted.statusCode, 204);
  t.equal(deleted.body, '');
  expectProblem(t, await get(other.id), 404, 'gone');
  expectProblem(t, await remove(other.id), 404, 'delete twice');
});

t.test('PATCH raises the sequence only for invite changes', async (t) => {
  const session = await created(sessionBody({ joinUrl: 'https://meet.example.org/a' }));
  let expected = 0;
  const start = Date.parse(session.startsAt);
  const steps: Array<[string, Record<string, unknown>, boolean]> = [
    ['title', { title: `Renamed ${uniqueSuffix()}` }, true],
    ['startsAt and endsAt', { startsAt: new Date(start + HOUR).toISOString(), endsAt: new Date(start + 3 * HOUR).toISOString() }, true],
    ['endsAt only', { endsAt: new Date(start + 4 * HOUR).toISOString() }, true],
    ['timezone', { timezone: 'Europe/Paris' }, true],
    ['description', { description: 'Now with a description' }, true],
    ['joinInstructions', { joinInstructions: 'Passcode 1234' }, true],
    ['description removed', { description: null }, true],
    ['joinUrl alone', { joinUrl: 'https://meet.example.org/b' }, false],
    ['capacity alone', { capacity: 250 }, false],
    ['summary alone', { summary: 'A summary' }, false],
    ['reminders alone', { reminders: [30] }, false],
    ['the same title again', { title: 'SAME' }, false],
    ['the same time in another offset', { startsAt: 'SAME-OFFSET' }, false],
  ];
  let current = session;
  for (const [label, change, raises] of steps) {
    if (change.title === 'SAME') change.title = current.title;
    if (change.startsAt === 'SAME-OFFSET') change.startsAt = withOffset(current.startsAt, 2);
    const res = await patch(session.id, change);
    t.equal(res.statusCode, 200, `${label}: ${res.statusCode === 200 ? 'ok' : res.body}`);
    current = res.json();
    if (raises) expected += 1;
    t.equal(current.sequence, expected, `${label} ${raises ? 'raises' : 'keeps'} the sequence`);
  }
  t.match(current, {
    timezone: 'Europe/Paris',
    description: null,
    joinInstructions: 'Passcode 1234',
    joinUrl: 'https://meet.example.org/b',
    capacity: 250,
    summary: 'A summary',
    reminders: [30],
    startsAt: new Date(start + HOUR).toISOString(),
    endsAt: new Date(start + 4 * HOUR).toISOString(),
    slug: session.slug,
    status: 'draft',
  });
  t.ok(Date.parse(current.updatedAt) >= Date.parse(session.updatedAt));
  t.same((await get(session.id)).json(), current, 'the change is stored');

  const published = (await publish(session.id)).json();
  const renamed = await patch(session.id, { title: `Published rename ${uniqueSuffix()}` });
  t.equal(renamed.json().sequence, published.sequence + 1, 'a published session too');
  t.equal(renamed.json().status, 'published');
});

t.test('PATCH is validated like create', async (t) => {
  const session = await created();
  expectProblem(t, await patch(session.id, {}), 400, 'empty patch');
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['unknown property', '/createdBy', { createdBy: owner.organizer.id }],
    ['status', '/status', { status: 'published' }],
    ['null title', '/title', { title: null }],
    ['endsAt before startsAt', '/endsAt', { endsAt: new Date(Date.parse(session.startsAt) - HOUR).toISOString() }],
    ['startsAt after endsAt', '/endsAt', { startsAt: new Date(Date.parse(session.endsAt) + HOUR).toISOString() }],
    ['moved into the past', '/endsAt', { startsAt: '2020-01-01T10:00:00Z', endsAt: '2020-01-01T11:00:00Z' }],
    ['timezone', '/timezone', { timezone: 'Mars/Base' }],
    ['capacity string', '/capacity', { capacity: '10' }],
    ['http joinUrl', '/joinUrl', { joinUrl: 'http://meet.example.org' }],
    ['bad slug', '/slug', { slug: 'No Spaces' }],
    ['audience code without code', '/audience/code', { audience: { kind: 'code' } }],
  ];
  for (const [label, path, change] of cases) {
    const body = expectProblem(t, await patch(session.id, change), 400, label);
    t.ok(errorPaths(body).includes(path), `${label}: names ${path} (got ${JSON.stringify(body.errors)})`);
  }
  t.same((await get(session.id)).json(), session, 'the session is unchanged');

  const other = await created();
  expectProblem(t, await patch(session.id, { slug: other.slug }), 409, 'slug of another session');
  const newSlug = `renamed-${uniqueSuffix()}`;
  const renamed = await patch(session.id, { slug: newSlug });
  t.equal(renamed.statusCode, 200);
  t.equal(renamed.json().slug, newSlug);
  t.equal(renamed.json().urls.page, `${base}/s/${newSlug}`);
  t.equal(renamed.json().sequence, 0, 'a new slug is not an invite change');
});

t.test('list filters by status and time, soonest first', async (t) => {
  // A window of one day at a random place years ahead, away from other tests' sessions.
  const windowStart = new Date(Date.now() + (400 + randomInt(2500)) * DAY);
  windowStart.setUTCHours(0, randomInt(60), 0, 0);
  const at = (hours: number) => new Date(windowStart.getTime() + hours * HOUR).toISOString();
  const late = await created(sessionBody({ startsAt: at(5), endsAt: at(6) }));
  const early = await created(sessionBody({ startsAt: at(1), endsAt: at(2) }));
  const middle = await created(sessionBody({ startsAt: at(3), endsAt: at(4) }));
  const outside = await created(sessionBody({ startsAt: at(25), endsAt: at(26) }));
  await publish(middle.id);
  await cancel(late.id);
  const mine = new Set([late.id, early.id, middle.id, outside.id]);

  const ids = async (query: Record<string, string>) => {
    const res = await list(query);
    t.equal(res.statusCode, 200, `list ${JSON.stringify(query)}`);
    const items = res.json().items as Session[];
    const starts = items.map((item) => Date.parse(item.startsAt));
    t.same(starts, [...starts].sort((a, b) => a - b), 'soonest first');
    if (query.from) t.ok(starts.every((s) => s >= Date.parse(query.from!)), 'none before from');
    if (query.to) t.ok(starts.every((s) => s < Date.parse(query.to!)), 'none at or after to');
    if (query.status) t.ok(items.every((item) => item.status === query.status), `only ${query.status}`);
    return items.map((item) => item.id).filter((id) => mine.has(id));
  };

  const from = at(0);
  const to = at(24);
  t.same(await ids({ from, to }), [early.id, middle.id, late.id], 'the window, soonest first');
  t.same(await ids({ from, to: at(48) }), [early.id, middle.id, late.id, outside.id]);
  t.same(await ids({ from, to, status: 'draft' }), [early.id]);
  t.same(await ids({ from, to, status: 'published' }), [middle.id]);
  t.same(await ids({ from, to, status: 'cancelled' }), [late.id]);
  t.same(await ids({ from, to, status: 'finished' }), []);
  t.same(await ids({ from: middle.startsAt, to }), [middle.id, late.id], 'from is inclusive');
  t.same(await ids({ from, to: middle.startsAt }), [early.id], 'to is exclusive');
  t.same(await ids({ from: withOffset(from, 3), to: withOffset(to, -4) }), [early.id, middle.id, late.id], 'offsets in the query');
  t.equal((await ids({ from: at(25) }))[0], outside.id, 'from alone');

  const badQueries: Array<Record<string, string>> = [
    { status: 'archived' },
    { from: 'yesterday' },
    { from: '2026-12-04T20:00:00' },
    { limit: '0' },
    { limit: '501' },
    { sort: 'title' },
    { from: '2026-06-30T23:59:60Z' },
  ];
  for (const query of badQueries) {
    expectProblem(t, await list(query), 400, JSON.stringify(query));
  }
});

t.test('a published session whose end has passed reports finished', async (t) => {
  const clock = manualClock();
  const { app: timed } = await buildTestApp(t, { clock });
  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: Record<string, unknown>) =>
    timed.inject({ method, url, headers: owner.headers, ...(payload ? { payload } : {}) });

  const body = sessionBody({}, 1);
  const session = (await call('POST', '/api/v1/sessions', body)).json();
  const draft = (await call('POST', '/api/v1/sessions', sessionBody({ startsAt: body.startsAt, endsAt: body.endsAt }, 1))).json();
  t.equal((await call('POST', `/api/v1/sessions/${session.id}/publish`)).json().status, 'published');

  clock.advance(3 * DAY);
  const finished = await call('GET', `/api/v1/sessions/${session.id}`);
  t.equal(finished.json().status, 'finished');
  t.equal((await call('GET', `/api/v1/sessions/${draft.id}`)).json().status, 'draft', 'a draft stays a draft');

  const window = { from: String(body.startsAt), to: String(body.endsAt) };
  const listed = async (status: string) =>
    ((await timed.inject({ method: 'GET', url: '/api/v1/sessions', headers: owner.headers, query: { ...window, status } })).json()
      .items as Session[]).map((item) => item.id);
  t.ok((await listed('finished')).includes(session.id), 'listed as finished');
  t.notOk((await listed('published')).includes(session.id), 'not listed as published');

  expectProblem(t, await call('POST', `/api/v1/sessions/${session.id}/cancel`, {}), 409, 'a finished session cannot be cancelled');
  expectProblem(t, await call('POST', `/api/v1/sessions/${draft.id}/publish`), 409, 'an ended draft cannot be published');
  const retitled = await call('PATCH', `/api/v1/sessions/${session.id}`, { title: `Recording ${uniqueSuffix()}` });
  t.equal(retitled.statusCode, 200, 'a finished session may still be edited');
  t.equal(retitled.json().status, 'finished');

  // The same row, seen through the app with the real clock, is still published.
  t.equal((await get(session.id)).json().status, 'published');
});

t.test('unknown and malformed ids', async (t) => {
  const missing = '00000000-0000-4000-8000-000000000000';
  expectProblem(t, await get(missing), 404, 'GET');
  expectProblem(t, await patch(missing, { title: 'x' }), 404, 'PATCH');
  expectProblem(t, await publish(missing), 404, 'publish');
  expectProblem(t, await cancel(missing), 404, 'cancel');
  expectProblem(t, await remove(missing), 404, 'DELETE');

  for (const id of ['not-a-uuid', '123', `${missing}x`]) {
    const body = expectProblem(t, await get(id), 400, id);
    t.ok(errorPaths(body).some((path) => path.endsWith('/id')), `${id}: names the id`);
  }
  expectProblem(t, await publish('nope'), 400, 'publish with a bad id');
});
