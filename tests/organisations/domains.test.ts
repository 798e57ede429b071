import t from 'tap';
import { membershipsOf, type Organisation } from '../../src/services/organisations.service.js';
import { normalizeEmail } from '../../src/services/email-address.js';
import { buildTestApp, signIn } from '../helpers/app.js';
import { isolatedDatabaseUrl } from '../helpers/isolated-app.js';
import { createSession, registerJson } from '../helpers/registrations.js';

/**
 * Which organisation an address belongs to (services/organisations.service.ts membershipOf), and
 * the members-only audience that relies on it. The domains are the issue's own (cityofx.gov...),
 * so this file has a database of its own: no other file's organisation may own one of them.
 */

const { app, database } = await buildTestApp(t, { env: { DATABASE_URL: isolatedDatabaseUrl('organisation_domains') } });
// Each run starts without organisations (an earlier run of this file left its own).
await database.pool.query('DELETE FROM organisations');
const admin = await signIn(app, 'admin');
const { organisations } = app.services;

const cityOfX = await organisations.create({ name: 'City of X', domains: ['cityofx.gov'] }, null);
const munich = await organisations.create({ name: 'München', domains: ['münchen.de'] }, null);
const zurich = await organisations.create({ name: 'Zürich', domains: ['xn--zrich-kva.ch'] }, null);
const govExample = await organisations.create({ name: 'Gov Example', domains: ['gov.example'] }, null);
const cityInGov = await organisations.create({ name: 'City of X in Gov Example', domains: ['cityofx.gov.example'] }, null);
const lapsed = await organisations.create({ name: 'Lapsed Town', domains: ['lapsedtown.example'], status: 'lapsed' }, null);

/** The organisation of an address as typed (normalised first, as every registration is). */
async function organisationOf(typed: string): Promise<string | null> {
  const email = normalizeEmail(typed);
  if (!email) throw new Error(`not an address: ${typed}`);
  return (await organisations.membershipOf(email))?.name ?? null;
}

const MATCHES: Array<[string, string, Organisation]> = [
  ['case', 'Ana@CityOfX.GOV', cityOfX],
  ['case, spaces', '  ana@CITYOFX.gov ', cityOfX],
  ['IDNA: the xn-- form of a domain listed in Unicode', 'a@xn--mnchen-3ya.de', munich],
  ['IDNA: upper-case Unicode', 'a@MÜNCHEN.de', munich],
  ['IDNA: Unicode', 'a@münchen.de', munich],
  ['IDNA: Unicode address of a domain listed in its xn-- form', 'a@zürich.ch', zurich],
  ['IDNA: the xn-- form listed, the xn-- form typed', 'a@XN--ZRICH-KVA.CH', zurich],
  ['a subdomain', 'a@mail.cityofx.gov', cityOfX],
  ['a subdomain of a subdomain', 'a@it.mail.cityofx.gov', cityOfX],
  ['the longest listed domain wins', 'a@cityofx.gov.example', cityInGov],
  ['the longest listed domain wins, at a subdomain', 'a@mail.cityofx.gov.example', cityInGov],
  ['the shorter one for its other subdomains', 'a@othertown.gov.example', govExample],
  ['the shorter one itself', 'a@gov.example', govExample],
  ['a lapsed organisation is still the address’s organisation', 'a@lapsedtown.example', lapsed],
];

const LOOK_ALIKES: Array<[string, string]> = [
  ['a listed domain followed by more labels', 'a@cityofx.gov.evil.example'],
  ['a listed domain as the end of a longer label', 'a@evilcityofx.gov'],
  ['a listed domain with a longer last label', 'a@cityofx.gov-evil.example'],
  ['a listed domain as the start of a label', 'a@cityofx.govt'],
  ['a parent of a listed domain', 'a@x.gov'],
  ['a listed domain as the local part', 'cityofx.gov@evil.example'],
  ['a near spelling of an IDNA domain', 'a@munchen.de'],
];

t.test('membershipOf: case, IDNA, subdomains and the longest listed domain', async (t) => {
  for (const [label, address, organisation] of MATCHES) t.equal(await organisationOf(address), organisation.name, `${label}: ${address}`);
});

t.test('membershipOf: look-alike domains belong to nobody', async (t) => {
  for (const [label, address] of LOOK_ALIKES) t.equal(await organisationOf(address), null, `${label}: ${address}`);
});

t.test('membershipsOf: every address of a crowd at once, the same answers as one by one', async (t) => {
  const addresses = [...MATCHES.map(([, address]) => address), ...LOOK_ALIKES.map(([, address]) => address)].map((typed) => normalizeEmail(typed)!);
  const found = await membershipsOf(database.db, [...addresses, addresses[0]!]);
  t.equal(found.size, new Set(addresses).size, 'one answer per address');
  for (const [label, address, organisation] of MATCHES) t.equal(found.get(normalizeEmail(address)!)?.name, organisation.name, `${label}: ${address}`);
  for (const [label, address] of LOOK_ALIKES) t.equal(found.get(normalizeEmail(address)!), null, `${label}: ${address}`);
  t.same(await membershipsOf(database.db, []), new Map(), 'no address, no query');
});

t.test('a members-only session: the same matching admits, and each registration records its organisation', async (t) => {
  const session = await createSession(app, admin.headers, { audience: { kind: 'members' }, capacity: 100 });
  for (const [label, address, organisation] of MATCHES.filter(([, , organisation]) => organisation.status === 'active')) {
    const res = await registerJson(app, session.slug, { name: 'Member Person', email: address, consent: true });
    t.equal(res.statusCode, 202, `${label}: ${address} is admitted`);
    const { rows } = await database.pool.query<{ organisation_id: string | null }>(
      `SELECT r.organisation_id FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2`,
      [session.id, normalizeEmail(address)],
    );
    t.same(rows, [{ organisation_id: organisation.id }], `${label}: recorded as ${organisation.name}`);
  }
});

t.test('a members-only session: look-alikes, lapsed members and non-members get one 403 that names no organisation', async (t) => {
  const session = await createSession(app, admin.headers, { audience: { kind: 'members' } });
  const answer = async (email: string) => {
    const res = await registerJson(app, session.slug, { name: 'Probe Person', email, consent: true });
    const headers = { ...res.headers };
    delete headers.date;
    return { status: res.statusCode, headers, body: res.body };
  };
  const nonMember = await answer('someone@nowhere.example');
  t.equal(nonMember.status, 403);
  t.match(nonMember.headers['content-type'], /application\/problem\+json/);
  t.match(JSON.parse(nonMember.body).detail, /member organisations/);
  for (const organisation of [cityOfX, munich, zurich, govExample, cityInGov, lapsed]) {
    t.notOk(nonMember.body.toLowerCase().includes(organisation.name.toLowerCase()), `names no organisation (${organisation.name})`);
    for (const domain of organisation.domains) t.notOk(nonMember.body.includes(domain), `names no domain (${domain})`);
  }
  t.same(await answer('member@lapsedtown.example'), nonMember, 'a lapsed member: byte for byte the same answer');
  t.same(await answer('member@mail.lapsedtown.example'), nonMember, 'a lapsed member at a subdomain: the same');
  for (const [label, address] of LOOK_ALIKES) t.same(await answer(address), nonMember, `${label}: the same`);

  const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM registrations WHERE session_id = $1', [session.id]);
  t.equal(rows[0]!.n, 0, 'nobody registered');
});

t.test('a public session records the organisation too, and none for anyone else', async (t) => {
  const session = await createSession(app, admin.headers);
  for (const [email, organisationId] of [
    ['a@mail.cityofx.gov', cityOfX.id],
    ['a@lapsedtown.example', lapsed.id],
    ['a@cityofx.gov.evil.example', null],
  ] as const) {
    t.equal((await registerJson(app, session.slug, { name: 'Anyone', email, consent: true })).statusCode, 202);
    const { rows } = await database.pool.query(
      `SELECT r.organisation_id FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2`,
      [session.id, email],
    );
    t.same(rows, [{ organisation_id: organisationId }], email);
  }
});
