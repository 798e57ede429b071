import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import t from 'tap';
import { buildTestApp, uniqueSuffix } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { createSession, registered, registrationId } from '../helpers/registrations.js';
import { consoleSignIn, makeOrganizer, tableRows } from '../console/support.js';

/**
 * Issue #21, "every registration records its organisation": matched by the address's domain when
 * the person registers (a subdomain too, whatever the case; never a look-alike), null for anyone
 * else, and kept when the organisation gives the domain up later. Shown in the API
 * (organisationId, organisationName, and the list's organisationId filter), the console's people
 * table (its Member organisation column and filter) and every export (CSV, XLSX, JSON).
 */

const { app, database } = await buildTestApp(t);
// The session's host, through the API and in the console.
const hostAccount = await makeOrganizer(app);
const owner = { organizer: hostAccount, headers: { authorization: `Bearer ${app.issueToken(hostAccount).token}` } };
const suffix = uniqueSuffix();
const DOMAIN = `cityx-${suffix}.example`;
const NEW_DOMAIN = `cityx-new-${suffix}.example`;
const cityX = await app.services.organisations.create({ name: `City of X ${suffix}`, domains: [DOMAIN] }, null);
const other = await app.services.organisations.create({ name: `Other Town ${suffix}`, domains: [`other-${suffix}.example`] }, null);

const session = await createSession(app, owner.headers, { capacity: 20 });
const people = {
  ana: `ana@${DOMAIN}`,
  // A subdomain, typed in capitals: the organisation of its parent.
  ben: `ben@Mail.${DOMAIN.toUpperCase()}`,
  // Not a member's address, and a look-alike whose parents are evil.example's.
  cy: `cy@no-member-${suffix}.example`,
  dee: `dee@${DOMAIN}.evil.example`,
};
for (const [name, email] of Object.entries(people)) await registered(app, session.slug, { name: `Person ${name}`, email });
// Added by hand by the organizer: recorded the same way.
const added = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations`, headers: owner.headers, payload: { name: 'Person eve', email: `eve@${DOMAIN}` } });

interface ApiRegistration {
  id: string;
  name: string;
  organization: string | null;
  organisationId: string | null;
  organisationName: string | null;
}

async function listed(query = ''): Promise<Record<string, Pick<ApiRegistration, 'organisationId' | 'organisationName'>>> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/registrations?limit=100${query}`, headers: owner.headers });
  if (res.statusCode !== 200) throw new Error(`list answered ${res.statusCode}: ${res.body}`);
  return Object.fromEntries(
    res.json<{ items: ApiRegistration[] }>().items.map((item) => [item.name.replace('Person ', ''), { organisationId: item.organisationId, organisationName: item.organisationName }]),
  );
}

const ofCityX = (name = cityX.name) => ({ organisationId: cityX.id, organisationName: name });
const ofNone = { organisationId: null, organisationName: null };

t.test('a member’s address records its organisation (a subdomain too), anyone else’s records none', async (t) => {
  t.equal(added.statusCode, 201);
  t.match(added.json(), { organisationId: cityX.id, organisationName: cityX.name }, 'the organizer’s addition answers with it');
  t.same(await listed(), { ana: ofCityX(), ben: ofCityX(), cy: ofNone, dee: ofNone, eve: ofCityX() });
  const { rows } = await database.pool.query<{ organisation_id: string | null }>(
    'SELECT organisation_id FROM registrations WHERE id = $1',
    [await registrationId(database.pool, session.id, people.ben)],
  );
  t.equal(rows[0]!.organisation_id, cityX.id, 'stored on the registration');
});

t.test('the list filters by the organisation recorded, or by none', async (t) => {
  t.same(Object.keys(await listed(`&organisationId=${cityX.id}`)), ['ana', 'ben', 'eve']);
  t.same(Object.keys(await listed(`&organisationId=${cityX.id.toUpperCase()}`)), ['ana', 'ben', 'eve'], 'an id in capitals is the same id');
  t.same(Object.keys(await listed('&organisationId=none')), ['cy', 'dee']);
  t.same(Object.keys(await listed(`&organisationId=${other.id}`)), [], 'an organisation with nobody here');
  const bad = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/registrations?organisationId=city-of-x`, headers: owner.headers });
  expectProblem(t, bad, 400, 'not an id');
  t.match(bad.json().errors, [{ path: '/querystring/organisationId' }]);
});

t.test('the organisation changing its domains keeps the recorded one; new registrations follow the new domains', async (t) => {
  const renamed = `City of X (renamed) ${suffix}`;
  await app.services.organisations.update(cityX.id, { name: renamed, domains: [NEW_DOMAIN] }, null);
  // The domain given up now belongs to another organisation.
  await app.services.organisations.update(other.id, { domains: [`other-${suffix}.example`, DOMAIN] }, null);
  await registered(app, session.slug, { name: 'Person fay', email: `fay@${DOMAIN}` });
  await registered(app, session.slug, { name: 'Person gus', email: `gus@${NEW_DOMAIN}` });
  const after = await listed();
  t.same(after.ana, ofCityX(renamed), 'ana keeps City of X, under its current name');
  t.same(after.ben, ofCityX(renamed));
  t.same(after.eve, ofCityX(renamed));
  t.same(after.fay, { organisationId: other.id, organisationName: other.name }, 'the old domain’s new owner');
  t.same(after.gus, ofCityX(renamed), 'the new domain');
  t.same(after.cy, ofNone);

  // Every export shows what the API shows.
  const csv = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv`, headers: owner.headers });
  t.equal(csv.statusCode, 200);
  const rows = parse(csv.body, { record_delimiter: '\r\n' }) as string[][];
  const column = rows[0]!.indexOf('Member organisation');
  t.equal(column, rows[0]!.indexOf('Organisation') + 1, 'the Member organisation column follows the typed Organisation');
  const byName = (cells: string[][]) => Object.fromEntries(cells.slice(1).map((row) => [row[1]!.replace('Person ', ''), row[column]]));
  t.same(byName(rows), { ana: renamed, ben: renamed, cy: '', dee: '', eve: renamed, fay: other.name, gus: renamed }, 'CSV');

  const json = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.json`, headers: owner.headers });
  t.equal(json.statusCode, 200);
  const items = json.json<{ items: Array<{ name: string; organisationId: string | null; organisationName: string | null }> }>().items;
  t.same(
    Object.fromEntries(items.map((item) => [item.name.replace('Person ', ''), { organisationId: item.organisationId, organisationName: item.organisationName }])),
    after,
    'JSON: the id and the name, as the API',
  );

  const xlsx = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.xlsx`, headers: owner.headers });
  t.equal(xlsx.statusCode, 200);
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
  const sheetRows: string[][] = [];
  workbook.worksheets[0]!.eachRow((row) => {
    const values = (row.values as unknown[]).slice(1);
    // Empty cells are holes in exceljs's array.
    sheetRows.push(Array.from({ length: rows[0]!.length }, (_, i) => (values[i] === null || values[i] === undefined ? '' : String(values[i]))));
  });
  t.equal(sheetRows[0]![column], 'Member organisation');
  t.same(byName(sheetRows), byName(rows), 'XLSX: the same cells');
});

t.test('the console’s people table: a Member organisation column and filter, beside the organisation typed', async (t) => {
  const host = await consoleSignIn(app, hostAccount);
  const url = `/console/sessions/${session.id}/registrations`;
  const page = await host.get(url);
  t.equal(page.statusCode, 200);
  t.match(page.body, /<th scope="col">Organisation<\/th><th scope="col">Member organisation<\/th>/, 'the column, named apart from the typed one');
  const cells = (html: string) => Object.fromEntries(tableRows(html, 'people-table').map((row) => [row[0]!.replace('Person ', ''), row[3]]));
  const renamed = `City of X (renamed) ${suffix}`;
  t.same(cells(page.body), { ana: renamed, ben: renamed, cy: '', dee: '', eve: renamed, fay: other.name, gus: renamed });
  t.match(page.body, /<td data-label="Member organisation">/, 'named on a phone’s card');

  // The filter offers the organisations recorded here, by name, with Any and None.
  const select = /<select id="f-organisation" name="organisationId"[^>]*>([\s\S]*?)<\/select>/.exec(page.body)?.[1] ?? '';
  const options = [...select.matchAll(/<option value="([^"]*)"[^>]*>([^<]*)<\/option>/g)].map((match) => [match[1], match[2]]);
  t.same(options, [
    ['', 'Any'],
    ['none', 'None (not a member’s address)'],
    [cityX.id, renamed],
    [other.id, other.name],
  ]);
  t.match(page.body, /<label[^>]*for="f-organisation"[^>]*>\s*Member organisation/, 'labelled');

  const ofX = await host.get(`${url}?organisationId=${cityX.id}`);
  t.same(Object.keys(cells(ofX.body)), ['ana', 'ben', 'eve', 'gus'], 'the same rows as the API’s filter');
  t.same(Object.keys(cells(ofX.body)), Object.keys(await listed(`&organisationId=${cityX.id}`)));
  t.match(ofX.body, new RegExp(`<option value="${cityX.id}" selected>`), 'the choice stays selected');
  t.match(ofX.body, /<caption>[^<]*, of City of X \(renamed\)/, 'the caption says so');
  t.match(ofX.body, /Clear filters/);
  t.same(Object.keys(cells((await host.get(`${url}?organisationId=none`)).body)), ['cy', 'dee']);
  const unknown = await host.get(`${url}?organisationId=${crypto.randomUUID()}`);
  t.equal(unknown.statusCode, 200, 'an organisation nobody here recorded is no filter');
  t.equal(tableRows(unknown.body, 'people-table').length, 7);
  t.equal((await host.get(`${url}?organisationId=nonsense`)).statusCode, 200, 'nor is a word');
});

t.test('an erased person: the organisation still counts in the participation report, and no view of the person shows it', async (t) => {
  const range = { from: new Date(Date.now() - 86_400_000), to: new Date(Date.now() + 400 * 86_400_000) };
  const registrationsOfX = async () => (await app.services.participation.report(range)).rows.find((row) => row.organisationId === cityX.id)?.registrations;
  const before = await registrationsOfX();
  const erasedId = await registrationId(database.pool, session.id, people.ana);
  await app.services.erasure.erase(people.ana, null);
  t.equal(await registrationsOfX(), before, 'the report counts the erased registration for its organisation');

  const after = await listed();
  t.same(after['Erased attendee'], ofNone, 'the API shows no organisation for the erased row');
  t.notOk('ana' in after);
  t.notOk(Object.keys(await listed(`&organisationId=${cityX.id}`)).includes('Erased attendee'), 'nor does the filter find it there');
  t.ok(Object.keys(await listed('&organisationId=none')).includes('Erased attendee'), 'it is among those with none');
  const one = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/registrations/${erasedId}`, headers: owner.headers });
  t.match(one.json(), ofNone, 'nor the registration read alone');

  const csv = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv`, headers: owner.headers });
  const rows = parse(csv.body, { record_delimiter: '\r\n' }) as string[][];
  const column = rows[0]!.indexOf('Member organisation');
  const erasedRows = rows.filter((row) => row[1] === 'Erased attendee');
  t.equal(erasedRows.length, 1);
  t.equal(erasedRows[0]![column], '', 'nor the export');
  const json = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.json`, headers: owner.headers });
  t.match(json.json<{ items: unknown[] }>().items.find((item) => (item as { name: string }).name === 'Erased attendee'), ofNone);
});
