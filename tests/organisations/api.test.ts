import { randomUUID } from 'node:crypto';
import { domainToASCII } from 'node:url';
import t from 'tap';
import { buildTestApp, signIn, uniqueSuffix } from '../helpers/app.js';

/**
 * The organisations API (api.md "Member organisations and series"): admins add and change,
 * organizers read; a domain belongs to one organisation (409 naming it); each change audited.
 * On the shared test database: every name and domain here carries this run's suffix.
 */

const { app, database } = await buildTestApp(t);
const admin = await signIn(app, 'admin');
const organizer = await signIn(app, 'organizer');

const run = uniqueSuffix();
/** A domain of this run: `label-<run>.example`. */
const domain = (label: string) => `${label}-${run}.example`;
const named = (name: string) => `${name} ${run}`;

function post(payload: unknown, headers: Record<string, string> = admin.headers) {
  return app.inject({ method: 'POST', url: '/api/v1/organisations', headers, payload: payload as Record<string, unknown> });
}

function patch(id: string, payload: unknown, headers: Record<string, string> = admin.headers) {
  return app.inject({ method: 'PATCH', url: `/api/v1/organisations/${id}`, headers, payload: payload as Record<string, unknown> });
}

interface AuditEntry {
  action: string;
  actor_id: string | null;
  details: Record<string, unknown>;
}

async function auditOf(id: string): Promise<AuditEntry[]> {
  const { rows } = await database.pool.query<AuditEntry>(
    "SELECT action, actor_id, details FROM audit_log WHERE subject_type = 'organisation' AND subject_id = $1 ORDER BY at, id",
    [id],
  );
  return rows;
}

async function countNamed(name: string): Promise<number> {
  const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM organisations WHERE lower(name) = lower($1)', [name]);
  return rows[0]!.n;
}

t.test('an admin adds an organisation: 201, domains in their stored form, audited', async (t) => {
  const name = named('City of Adding');
  const res = await post({ name: `  ${name.replace(/ /g, '  ')} `, domains: [`CityOfAdd-${run}.EXAMPLE`, `@mail.${domain('cityofadd')}`, `${domain('münchen')}`, domain('cityofadd')] });
  t.equal(res.statusCode, 201, res.body);
  const body = res.json();
  t.same(Object.keys(body).sort(), ['createdAt', 'domains', 'id', 'name', 'status', 'updatedAt']);
  t.equal(body.name, name, 'spaces collapsed');
  t.equal(body.status, 'active', 'active unless said');
  t.same(body.domains, [domain('cityofadd'), `mail.${domain('cityofadd')}`, domainToASCII(domain('münchen'))].sort(), 'lower-case, IDNA, no @, once each, sorted');
  t.match(body.createdAt, /Z$/);

  const audit = await auditOf(body.id);
  t.equal(audit.length, 1);
  t.equal(audit[0]!.action, 'organisation.create');
  t.equal(audit[0]!.actor_id, admin.organizer.id);
  t.same(audit[0]!.details, { name, domains: body.domains, status: 'active' });

  const lapsed = await post({ name: named('Lapsed Borough'), domains: [domain('lapsedborough')], status: 'lapsed' });
  t.equal(lapsed.statusCode, 201);
  t.equal(lapsed.json().status, 'lapsed');
});

t.test('organizers read the list and one organisation; they may not add or change', async (t) => {
  const created = (await post({ name: named('Readable Town'), domains: [domain('readable')] })).json();

  const list = await app.inject({ method: 'GET', url: '/api/v1/organisations', headers: organizer.headers });
  t.equal(list.statusCode, 200);
  const item = list.json().items.find((entry: { id: string }) => entry.id === created.id);
  t.same(item, created, 'the same fields as the create answered');

  const one = await app.inject({ method: 'GET', url: `/api/v1/organisations/${created.id}`, headers: organizer.headers });
  t.equal(one.statusCode, 200);
  t.same(one.json(), created);

  const refused = await post({ name: named('Organizer Made'), domains: [domain('organizermade')] }, organizer.headers);
  t.equal(refused.statusCode, 403);
  t.match(refused.headers['content-type'], /application\/problem\+json/);
  t.equal(await countNamed(named('Organizer Made')), 0, 'nothing added');

  const change = await patch(created.id, { status: 'lapsed' }, organizer.headers);
  t.equal(change.statusCode, 403);
  t.equal((await app.inject({ method: 'GET', url: `/api/v1/organisations/${created.id}`, headers: organizer.headers })).json().status, 'active', 'unchanged');

  t.equal((await app.inject({ method: 'GET', url: '/api/v1/organisations' })).statusCode, 401, 'without a token');
  t.equal((await post({ name: named('Anonymous'), domains: [] }, {})).statusCode, 401);
});

t.test('an admin changes an organisation: 200, audited with the fields changed; a change to nothing writes nothing', async (t) => {
  const created = (await post({ name: named('Changing City'), domains: [domain('changing'), domain('oldchanging')] })).json();
  const res = await patch(created.id, { name: named('Changed City'), domains: [domain('changing'), domain('newchanging')], status: 'lapsed' });
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.equal(body.name, named('Changed City'));
  t.same(body.domains, [domain('changing'), domain('newchanging')].sort());
  t.equal(body.status, 'lapsed');
  t.equal(body.createdAt, created.createdAt);

  const audit = await auditOf(created.id);
  t.same(
    audit.map((entry) => entry.action),
    ['organisation.create', 'organisation.update'],
  );
  t.same(audit[1]!.details, { fields: ['name', 'domains', 'status'], name: named('Changed City'), domains: body.domains, status: 'lapsed' });
  t.equal(audit[1]!.actor_id, admin.organizer.id);

  // The domain given up is free for another organisation.
  t.equal((await post({ name: named('Taker'), domains: [domain('oldchanging')] })).statusCode, 201);

  const same = await patch(created.id, { status: 'lapsed', domains: [domain('newchanging'), domain('changing').toUpperCase()] });
  t.equal(same.statusCode, 200);
  t.same(same.json(), body, 'the same organisation');
  t.equal((await auditOf(created.id)).length, 2, 'no audit entry for a change to nothing');

  const reactivated = await patch(created.id, { status: 'active' });
  t.equal(reactivated.json().status, 'active');
  t.same(reactivated.json().domains, body.domains, 'the domains stay when not given');
  t.same((await auditOf(created.id))[2]!.details, { fields: ['status'], status: 'active' });
});

t.test('404 for an organisation that does not exist', async (t) => {
  const missing = randomUUID();
  t.equal((await app.inject({ method: 'GET', url: `/api/v1/organisations/${missing}`, headers: organizer.headers })).statusCode, 404);
  const res = await patch(missing, { status: 'lapsed' });
  t.equal(res.statusCode, 404);
  t.match(res.headers['content-type'], /application\/problem\+json/);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/organisations/not-an-id', headers: organizer.headers })).statusCode, 400, 'an id that is no uuid');
});

t.test('409: a domain of another organisation (named in the answer), a taken name; nothing written', async (t) => {
  const owner = (await post({ name: named('Domain Owner'), domains: [domain('owned'), domain('ownedtoo')] })).json();

  const res = await post({ name: named('Domain Thief'), domains: [domain('thief'), domain('owned').toUpperCase()] });
  t.equal(res.statusCode, 409);
  t.match(res.headers['content-type'], /application\/problem\+json/);
  const problem = res.json();
  t.match(problem.detail, domain('owned'), 'the answer names the domain');
  t.notMatch(problem.detail, domain('thief'), 'and only that one');
  t.same(problem.errors, [{ path: '/domains', message: `${domain('owned')} belongs to another organisation already` }]);
  t.equal(await countNamed(named('Domain Thief')), 0, 'nothing added');

  const other = (await post({ name: named('Neighbour'), domains: [domain('neighbour')] })).json();
  const both = await patch(other.id, { domains: [domain('neighbour'), domain('owned'), domain('ownedtoo')] });
  t.equal(both.statusCode, 409);
  t.match(both.json().detail, `${domain('owned')}, ${domain('ownedtoo')} belong to another organisation already`);
  const after = (await app.inject({ method: 'GET', url: `/api/v1/organisations/${other.id}`, headers: admin.headers })).json();
  t.same(after, other, 'the neighbour is unchanged');
  t.equal((await auditOf(other.id)).length, 1, 'no audit entry for a refused change');
  t.same((await app.inject({ method: 'GET', url: `/api/v1/organisations/${owner.id}`, headers: admin.headers })).json().domains, owner.domains);

  // A subdomain of another organisation's domain is a domain of its own: its people are the subdomain's.
  t.equal((await post({ name: named('Sub Owner'), domains: [`dept.${domain('owned')}`] })).statusCode, 201);

  const sameName = await post({ name: named('domain owner').toUpperCase(), domains: [domain('samename')] });
  t.equal(sameName.statusCode, 409, 'names are unique whatever the case');
  t.same(sameName.json().errors, [{ path: '/name', message: 'is taken by another organisation already' }]);
  const rename = await patch(other.id, { name: named('Domain Owner') });
  t.equal(rename.statusCode, 409);
});

t.test('400: what the schema and the service refuse, with the field named', async (t) => {
  const cases: Array<[string, unknown, string]> = [
    ['an unknown property', { name: named('X'), domains: [], website: 'https://x.example' }, '/website'],
    ['no name', { domains: [domain('noname')] }, '/name'],
    ['an empty name', { name: '', domains: [] }, '/name'],
    ['a name of spaces', { name: '   ', domains: [] }, '/name'],
    ['a name too long', { name: 'n'.repeat(201), domains: [] }, '/name'],
    ['no domains', { name: named('No Domains') }, '/domains'],
    ['too many domains', { name: named('Many'), domains: Array.from({ length: 51 }, (_, i) => domain(`many${i}`)) }, '/domains'],
    ['a domain too long', { name: named('Long'), domains: [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}.example`] }, '/domains/0'],
    ['not a domain', { name: named('Bad'), domains: [domain('good'), 'not a domain'] }, '/domains/1'],
    ['a single label', { name: named('Bad'), domains: ['localhost'] }, '/domains/0'],
    ['an unknown status', { name: named('Bad'), domains: [], status: 'gone' }, '/status'],
  ];
  for (const [label, payload, path] of cases) {
    const res = await post(payload);
    t.equal(res.statusCode, 400, label);
    t.match(res.headers['content-type'], /application\/problem\+json/, label);
    t.ok(
      res.json().errors?.some((error: { path: string }) => error.path === path),
      `${label}: an error at ${path} (${JSON.stringify(res.json().errors)})`,
    );
  }
  const created = (await post({ name: named('Patchable'), domains: [domain('patchable')] })).json();
  t.equal((await patch(created.id, {})).statusCode, 400, 'a PATCH changing nothing is refused');
  t.equal((await patch(created.id, { domains: ['nope'] })).statusCode, 400);
  t.equal((await patch(created.id, { id: randomUUID() })).statusCode, 400);
  t.equal((await auditOf(created.id)).length, 1, 'nothing written by the refused changes');
});
