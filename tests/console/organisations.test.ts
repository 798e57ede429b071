import { randomUUID } from 'node:crypto';
import { domainToASCII } from 'node:url';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { buildTestApp, uniqueSuffix } from '../helpers/app.js';
import { multipartBody } from '../settings/support.js';
import { consoleSignIn, form, formFields, makeOrganizer, tableRows, unescape } from './support.js';

/**
 * The console's Organisations pages: the list (organizers read it), Add and Edit (admins), and the
 * CSV import with its preview and Apply. On the shared test database: every name and domain here
 * carries this run's suffix, and what a test checks is about its own organisations only.
 */

const { app, database } = await buildTestApp(t);
const admin = await consoleSignIn(app, await makeOrganizer(app, 'admin', 'Organisations Admin'));
const plain = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Organisations Reader'));
const { organisations } = app.services;

const run = uniqueSuffix();
const domain = (label: string) => `${label}-${run}.example`;
const named = (name: string) => `${name} ${run}`;

const listRows = (html: string) => tableRows(html, 'admin-table organisations-table').map((row) => row.map(unescape));
const previewRows = (html: string) => tableRows(html, 'admin-table import-table', ' ').map((row) => row.map(unescape));
const rowNamed = (html: string, name: string) => listRows(html).find((row) => row[0] === name);
const navHas = (html: string, text: string) => new RegExp(`<nav class="console-nav"[\\s\\S]*?>${text}</a>[\\s\\S]*?</nav>`).test(html);

function fieldError(html: string, id: string): string | null {
  const match = new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html);
  return match ? unescape(match[1]!) : null;
}

function summaryLinks(html: string): string[] {
  const summary = /<div class="error-summary"[\s\S]*?<\/div>/.exec(html)?.[0] ?? '';
  return [...summary.matchAll(/<li>(?:<a href="([^"]*)">)?([^<]*)/g)].map((match) => `${match[1] ?? ''} ${unescape(match[2]!)}`.trim());
}

async function byName(name: string) {
  return organisations.byName(name);
}

async function auditOf(id: string): Promise<Array<{ action: string; actor_id: string | null; details: Record<string, unknown> }>> {
  const { rows } = await database.pool.query(
    "SELECT action, actor_id, details FROM audit_log WHERE subject_type = 'organisation' AND subject_id = $1 ORDER BY at, id",
    [id],
  );
  return rows;
}

function upload(browser: typeof admin, csv: Buffer | string, fields: Record<string, string> = {}, withCsrf = true): Promise<LightMyRequestResponse> {
  const bytes = typeof csv === 'string' ? Buffer.from(csv, 'utf8') : csv;
  const body = multipartBody({ ...(withCsrf ? { _csrf: browser.csrf } : {}), ...fields }, [{ name: 'file', filename: 'members.csv', type: 'text/csv', bytes }]);
  return app.inject({ method: 'POST', url: '/console/organisations/import', payload: body.payload, headers: { ...browser.headers, ...body.headers } });
}

t.test('signed out: the pages lead to the login page', async (t) => {
  for (const url of ['/console/organisations', '/console/organisations/new', '/console/organisations/import']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 303, url);
    t.match(res.headers.location, /^\/console\/login\?next=/);
  }
});

t.test('the list: organizers read it (name, domains, status), admins also find Add, Edit and Import', async (t) => {
  const city = await organisations.create({ name: named('Listed City'), domains: [domain('listed'), domain('münchen')] }, null);
  await organisations.create({ name: named('Listed Lapsed'), domains: [domain('listedlapsed')], status: 'lapsed' }, null);

  const read = await plain.get('/console/organisations');
  t.equal(read.statusCode, 200);
  t.ok(navHas(read.body, 'Organisations'), 'a nav entry for organizers too');
  t.match(read.body, /<a href="\/console\/organisations" aria-current="page">Organisations<\/a>/);
  t.same(rowNamed(read.body, named('Listed City'))?.slice(0, 3), [
    named('Listed City'),
    `${domain('listed')}, ${domain('münchen')} (${domainToASCII(domain('münchen'))})`,
    'Active',
  ]);
  t.same(rowNamed(read.body, named('Listed Lapsed'))?.slice(1, 3), [domain('listedlapsed'), 'Lapsed']);
  t.notMatch(read.body, /Add organisation|Import from CSV|\/edit"/, 'nothing to change for an organizer');

  const full = await admin.get('/console/organisations');
  t.match(full.body, /<a class="button" href="\/console\/organisations\/new">Add organisation<\/a>/);
  t.match(full.body, /href="\/console\/organisations\/import">Import from CSV<\/a>/);
  t.match(full.body, new RegExp(`href="/console/organisations/${city.id}/edit" aria-label="Edit ${named('Listed City')}"`));
});

t.test('a non-admin may not add, edit or import: 403 pages, nothing written', async (t) => {
  const target = await organisations.create({ name: named('Guarded'), domains: [domain('guarded')] }, null);
  for (const url of ['/console/organisations/new', `/console/organisations/${target.id}/edit`, '/console/organisations/import', '/console/organisations/not-an-id/edit']) {
    const res = await plain.get(url);
    t.equal(res.statusCode, 403, `GET ${url}`);
    t.match(res.body, /<h1>Not allowed<\/h1>/);
    t.match(res.body, /Only an admin may add or change organisations/);
  }
  const csv = `name,domains\n${named('Plain Import')},${domain('plainimport')}\n`;
  const posts = [
    await plain.post('/console/organisations', { name: named('Plain Added'), domains: domain('plainadded'), status: 'active' }),
    await plain.post(`/console/organisations/${target.id}`, { name: named('Guarded'), domains: domain('stolen'), status: 'lapsed' }),
    await plain.post('/console/organisations/import', { csv }),
    await upload(plain, csv),
    await plain.post('/console/organisations/import/apply', { csv: Buffer.from(csv).toString('base64url'), digest: 'x' }),
  ];
  for (const res of posts) t.equal(res.statusCode, 403);
  t.equal(await byName(named('Plain Added')), null);
  t.equal(await byName(named('Plain Import')), null);
  t.same((await organisations.get(target.id)).domains, [domain('guarded')]);
  t.equal((await organisations.get(target.id)).status, 'active');
});

t.test('add: the form, errors at the fields and summarised, a domain of another organisation (409) on the form', async (t) => {
  const page = await admin.get('/console/organisations/new');
  t.equal(page.statusCode, 200);
  const fields = formFields(page.body, '/console/organisations');
  t.same(Object.keys(fields).sort(), ['_csrf', 'domains', 'name', 'status']);
  t.equal(fields.status, 'active');
  t.match(page.body, /<label for="f-domains">E-mail domains<\/label>/);

  const invalid = await admin.post('/console/organisations', { name: '  ', domains: `${domain('fine')}\nnot a domain!`, status: 'active' });
  t.equal(invalid.statusCode, 400);
  t.match(invalid.body, /<title>Error: Add organisation/);
  t.equal(fieldError(invalid.body, 'f-name'), 'Name is required');
  t.match(fieldError(invalid.body, 'f-domains'), /"not" is not a domain name; "a" is not a domain name; "domain!" is not a domain name/);
  t.same(summaryLinks(invalid.body)[0], '#f-name Name is required');
  t.match(summaryLinks(invalid.body)[1], /^#f-domains "not" is not a domain name/);
  t.match(invalid.body, new RegExp(`>${domain('fine')}\nnot a domain!</textarea>`), 'what was typed is kept');

  const owner = await organisations.create({ name: named('Owner'), domains: [domain('owned')] }, null);
  const conflict = await admin.post('/console/organisations', { name: named('Claimant'), domains: `${domain('claimant')}, ${domain('owned').toUpperCase()}`, status: 'active' });
  t.equal(conflict.statusCode, 409);
  t.equal(fieldError(conflict.body, 'f-domains'), `${domain('owned')} belongs to another organisation already`);
  t.same(summaryLinks(conflict.body), [`#f-domains ${domain('owned')} belongs to another organisation already`]);
  t.equal(await byName(named('Claimant')), null, 'nothing added');
  t.same((await organisations.get(owner.id)).domains, [domain('owned')]);

  const taken = await admin.post('/console/organisations', { name: named('owner').toUpperCase(), domains: domain('othername'), status: 'active' });
  t.equal(taken.statusCode, 409);
  t.equal(fieldError(taken.body, 'f-name'), 'Name is taken by another organisation already');

  const tampered = await admin.post('/console/organisations', { name: named('Tampered'), domains: domain('tampered'), status: 'gone' });
  t.equal(tampered.statusCode, 400);
  t.equal(fieldError(tampered.body, 'f-status'), 'Status must be Active or Lapsed');

  const added = await admin.post('/console/organisations', { name: named('Added Town'), domains: `${domain('added')}\r\n@mail.${domain('added')}; ${domain('münchenadded')}`, status: 'lapsed' });
  t.equal(added.statusCode, 303);
  t.equal(added.headers.location, '/console/organisations?done=added');
  const created = await byName(named('Added Town'));
  t.same(created?.domains, [domain('added'), domainToASCII(domain('münchenadded')), `mail.${domain('added')}`].sort());
  t.equal(created?.status, 'lapsed');
  const audit = await auditOf(created!.id);
  t.same(
    audit.map((entry) => [entry.action, entry.actor_id]),
    [['organisation.create', admin.organizer.id]],
    'audited as the API does, the admin as actor',
  );
  const list = await admin.get(added.headers.location as string);
  t.match(list.body, /The organisation is added/);
  t.ok(rowNamed(list.body, named('Added Town')));
});

t.test('edit: the form filled in, saved, and a conflict shown on the form', async (t) => {
  const city = await organisations.create({ name: named('Edited City'), domains: [domain('edited'), domain('zürich')] }, null);
  await organisations.create({ name: named('Other Owner'), domains: [domain('otherowned')] }, null);

  const page = await admin.get(`/console/organisations/${city.id}/edit`);
  t.equal(page.statusCode, 200);
  t.match(page.body, new RegExp(`<h1>Edit ${named('Edited City')}</h1>`));
  const fields = formFields(page.body, `/console/organisations/${city.id}`);
  t.equal(fields.name, named('Edited City'));
  t.equal(fields.domains, `${domain('edited')}\n${domain('zürich')}`, 'one per line, as people read them');
  t.equal(fields.status, 'active');

  // Saved as shown: nothing changes, nothing is audited.
  t.equal((await admin.post(`/console/organisations/${city.id}`, fields)).statusCode, 303);
  t.equal((await auditOf(city.id)).length, 1);

  const conflict = await admin.post(`/console/organisations/${city.id}`, { ...fields, domains: `${fields.domains}\n${domain('otherowned')}` });
  t.equal(conflict.statusCode, 409);
  t.equal(fieldError(conflict.body, 'f-domains'), `${domain('otherowned')} belongs to another organisation already`);
  t.same((await organisations.get(city.id)).domains, city.domains, 'unchanged');

  const saved = await admin.post(`/console/organisations/${city.id}`, { name: named('Renamed City'), domains: `${domain('edited')}, ${domain('newer')}`, status: 'lapsed' });
  t.equal(saved.statusCode, 303);
  t.equal(saved.headers.location, '/console/organisations?done=saved');
  const after = await organisations.get(city.id);
  t.equal(after.name, named('Renamed City'));
  t.same(after.domains, [domain('edited'), domain('newer')].sort());
  t.equal(after.status, 'lapsed');
  const audit = await auditOf(city.id);
  t.same(audit.at(-1), {
    action: 'organisation.update',
    actor_id: admin.organizer.id,
    details: { fields: ['name', 'domains', 'status'], name: after.name, domains: after.domains, status: 'lapsed' },
  });

  t.equal((await admin.get(`/console/organisations/${randomUUID()}/edit`)).statusCode, 404);
  t.equal((await admin.post(`/console/organisations/${randomUUID()}`, fields)).statusCode, 404);
});

t.test('CSRF and Origin: refused with 403, nothing written', async (t) => {
  const values = { name: named('Forged'), domains: domain('forged'), status: 'active' };
  const missing = await app.inject({ method: 'POST', url: '/console/organisations', ...form(values), headers: { ...form(values).headers, ...admin.headers } });
  t.equal(missing.statusCode, 403, 'no _csrf');
  const wrong = await app.inject({ method: 'POST', url: '/console/organisations', ...form({ ...values, _csrf: 'not-the-token' }), headers: { ...form(values).headers, ...admin.headers } });
  t.equal(wrong.statusCode, 403, 'a wrong _csrf');
  t.equal((await admin.post('/console/organisations', values, { origin: 'https://evil.example' })).statusCode, 403, 'a foreign Origin');
  const csv = `name,domains\n${named('Forged Import')},${domain('forgedimport')}\n`;
  t.equal((await upload(admin, csv, {}, false)).statusCode, 403, 'an upload without _csrf');
  const preview = await admin.post('/console/organisations/import', { csv });
  const apply = formFields(preview.body, '/console/organisations/import/apply');
  const { _csrf, ...withoutCsrf } = apply;
  t.ok(_csrf);
  const applied = await app.inject({ method: 'POST', url: '/console/organisations/import/apply', ...form(withoutCsrf), headers: { ...form(withoutCsrf).headers, ...admin.headers } });
  t.equal(applied.statusCode, 403, 'an Apply without _csrf');
  t.equal(await byName(named('Forged')), null);
  t.equal(await byName(named('Forged Import')), null);
});

t.test('import: a preview of every line, nothing written; Apply writes it all, audited', async (t) => {
  const existing = await organisations.create({ name: named('Import Existing'), domains: [domain('keep'), domain('drop')] }, null);
  const steady = await organisations.create({ name: named('Import Steady'), domains: [domain('steady')] }, null);
  const owner = await organisations.create({ name: named('Import Owner'), domains: [domain('importowned')] }, null);
  const csv = [
    'Name,Domains,Notes',
    `${named('import existing')},${domain('keep')} ${domain('add')},matched whatever the case`,
    `${named('Import New')},"${domain('new1')}; ${domain('müncheni')}",`,
    `${named('Import Steady')},${domain('steady')},`,
    `${named('Import Thief')},${domain('thief')} ${domain('importowned')},`,
    `${named('Import Invalid')},not_a_domain!,`,
    `${named('IMPORT NEW')},${domain('new3')},`,
    `${named('Import Empty')},,`,
    `${named('Import Twice')},${domain('new1')},`,
  ].join('\r\n');

  const preview = await upload(admin, csv);
  t.equal(preview.statusCode, 200, preview.body.slice(0, 500));
  t.match(preview.body, /<h1>Import preview<\/h1>/);
  t.match(preview.body, /8 lines: 1 new organisation, 1 changed, 1 unchanged, 5 refused\. Nothing is changed yet\./);
  t.same(previewRows(preview.body), [
    ['2', `${named('import existing')} (here as ${named('Import Existing')})`, 'Domains change', `Added: ${domain('add')} Removed: ${domain('drop')} Kept: ${domain('keep')}`],
    ['3', named('Import New'), 'New organisation', `${domain('new1')}, ${domain('müncheni')} (${domainToASCII(domain('müncheni'))})`],
    ['4', named('Import Steady'), 'Unchanged', domain('steady')],
    ['5', named('Import Thief'), 'Refused', `${domain('importowned')} belongs to ${named('Import Owner')} already`],
    ['6', named('Import Invalid'), 'Refused', '"not_a_domain!" is not a domain name'],
    ['7', named('IMPORT NEW'), 'Refused', 'repeats the organisation on line 3'],
    ['8', named('Import Empty'), 'Refused', 'lists no domain'],
    ['9', named('Import Twice'), 'Refused', `${domain('new1')} is also listed on line 3`],
  ]);
  t.match(preview.body, /The refused lines are left out/);
  t.match(preview.body, /<button type="submit">Apply 2 changes<\/button>/);

  // The preview wrote nothing.
  t.equal(await byName(named('Import New')), null);
  t.same((await organisations.get(existing.id)).domains, existing.domains);
  t.equal((await auditOf(existing.id)).length, 1);

  // The pasted text plans the same.
  const pasted = await admin.post('/console/organisations/import', { csv });
  t.same(previewRows(pasted.body), previewRows(preview.body));

  const apply = formFields(preview.body, '/console/organisations/import/apply');
  t.same(Object.keys(apply).sort(), ['_csrf', 'csv', 'digest']);
  const applied = await admin.post('/console/organisations/import/apply', apply);
  t.equal(applied.statusCode, 303, applied.body.slice(0, 500));
  t.equal(applied.headers.location, '/console/organisations?done=imported&added=1&changed=1');
  t.match((await admin.get(applied.headers.location as string)).body, /The import is applied: 1 organisation added, 1 changed\./);

  const after = await organisations.get(existing.id);
  t.same(after.domains, [domain('add'), domain('keep')].sort());
  t.equal(after.name, named('Import Existing'), 'the name is kept');
  const created = await byName(named('Import New'));
  t.same(created?.domains, [domain('new1'), domainToASCII(domain('müncheni'))].sort());
  t.equal(created?.status, 'active');
  t.same((await organisations.get(steady.id)).updatedAt, steady.updatedAt, 'the unchanged organisation is untouched');
  t.same((await organisations.get(owner.id)).domains, [domain('importowned')], 'the owned domain stays with its owner');
  for (const name of ['Import Thief', 'Import Invalid', 'Import Empty', 'Import Twice']) t.equal(await byName(named(name)), null, `${name}: refused, not added`);
  t.same(
    (await auditOf(existing.id)).map((entry) => [entry.action, entry.actor_id, entry.details.fields ?? null]),
    [
      ['organisation.create', null, null],
      ['organisation.update', admin.organizer.id, ['domains']],
    ],
  );
  t.same(
    (await auditOf(created!.id)).map((entry) => [entry.action, entry.actor_id]),
    [['organisation.create', admin.organizer.id]],
  );

  // The same file again: nothing left to do.
  const again = await upload(admin, csv);
  t.same(
    previewRows(again.body).map((row) => row[2]),
    ['Unchanged', 'Unchanged', 'Unchanged', 'Refused', 'Refused', 'Refused', 'Refused', 'Refused'],
  );
  t.match(again.body, /There is nothing to apply/);
  t.notMatch(again.body, /action="\/console\/organisations\/import\/apply"/);
});

t.test('import: Apply of a plan that changed meanwhile shows the new preview and writes nothing', async (t) => {
  const csv = `name,domains\n${named('Race New')},${domain('racenew')}\n${named('Race Second')},${domain('racesecond')}\n`;
  const preview = await admin.post('/console/organisations/import', { csv });
  t.equal(preview.statusCode, 200);
  const apply = formFields(preview.body, '/console/organisations/import/apply');

  // Meanwhile, another admin gives one of the domains to an organisation.
  await organisations.create({ name: named('Race Winner'), domains: [domain('racesecond')] }, null);

  const applied = await admin.post('/console/organisations/import/apply', apply);
  t.equal(applied.statusCode, 409);
  t.match(applied.body, /The organisations changed since the preview, so nothing was imported/);
  t.same(
    previewRows(applied.body).map((row) => [row[1], row[2]]),
    [
      [named('Race New'), 'New organisation'],
      [named('Race Second'), 'Refused'],
    ],
  );
  t.equal(await byName(named('Race New')), null, 'nothing written');

  // A digest that is not the plan's is the same: nothing written.
  const forged = await admin.post('/console/organisations/import/apply', { ...apply, digest: 'forged' });
  t.equal(forged.statusCode, 409);
  t.equal(await byName(named('Race New')), null);

  // Applying the new preview works.
  const again = await admin.post('/console/organisations/import/apply', formFields(applied.body, '/console/organisations/import/apply'));
  t.equal(again.statusCode, 303);
  t.ok(await byName(named('Race New')));
  t.equal(await byName(named('Race Second')), null);
});

t.test('import: a text that cannot be read is said at its field', async (t) => {
  const noHeader = await admin.post('/console/organisations/import', { csv: `${named('No Header')},${domain('noheader')}` });
  t.equal(noHeader.statusCode, 400);
  t.equal(fieldError(noHeader.body, 'f-csv'), 'The CSV cannot be read: the first line must name the columns: name,domains');
  t.match(noHeader.body, new RegExp(`>${named('No Header')},${domain('noheader')}</textarea>`), 'the text is kept');
  t.same(summaryLinks(noHeader.body), ['#f-csv The CSV cannot be read: the first line must name the columns: name,domains']);

  const nothing = await admin.post('/console/organisations/import', { csv: ' ' });
  t.equal(nothing.statusCode, 400);
  t.equal(fieldError(nothing.body, 'f-file'), 'Choose a CSV file, or paste its text below');

  const both = await upload(admin, 'name,domains\nA,a.example\n', { csv: 'name,domains\nB,b.example\n' });
  t.equal(both.statusCode, 400);
  t.equal(fieldError(both.body, 'f-file'), 'Choose a file or paste the text, not both');

  const latin1 = await upload(admin, Buffer.from(`name,domains\nM\xfcnchen ${run},${domain('latin')}\n`, 'latin1'));
  t.equal(latin1.statusCode, 400);
  t.match(fieldError(latin1.body, 'f-file'), /not UTF-8 text/);

  const quote = await upload(admin, `name,domains\n"${named('Unclosed')},${domain('unclosed')}\n`);
  t.equal(quote.statusCode, 400);
  t.equal(fieldError(quote.body, 'f-file'), 'The CSV cannot be read: line 2: a quote is not closed');

  const large = `name,domains\n${`${named('Large')},${domain('large')}\n`.repeat(3000)}`;
  const tooLarge = await upload(admin, large);
  t.equal(tooLarge.statusCode, 413);
  t.match(fieldError(tooLarge.body, 'f-file'), /must be at most 64 KB/);
  const tooLargeText = await upload(admin, Buffer.alloc(0), { csv: large });
  t.equal(tooLargeText.statusCode, 413);
  t.match(fieldError(tooLargeText.body, 'f-csv'), /must be at most 64 KB/);
  t.equal(await byName(named('Large')), null);
});
