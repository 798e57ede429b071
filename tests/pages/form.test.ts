import t, { type Test } from 'tap';
import { buildTestApp, signIn, uniqueEmail } from '../helpers/app.js';
import { errorPaths, expectProblem } from '../helpers/http.js';
import { CITY_QUESTIONS, createSession, registered, registerJson, type SessionJson } from '../helpers/registrations.js';
import { expectPage, inputTag, postForm, storedFor } from './support.js';

const { app, database } = await buildTestApp(t);
const { pool } = database;
const owner = await signIn(app);

const session = await createSession(app, owner.headers, { questions: CITY_QUESTIONS, capacity: 50 });
const url = (s: SessionJson = session) => `/s/${s.slug}/register`;

/** The same registration through the web form and through the JSON API: both refused, nothing stored. */
async function bothRefuse(
  t: Test,
  label: string,
  form: Record<string, string>,
  json: Record<string, unknown>,
  expected: { paths: string[]; status?: number; target?: SessionJson },
): Promise<string> {
  const target = expected.target ?? session;
  const status = expected.status ?? 400;
  const res = await postForm(app, url(target), form);
  const body = expectPage(t, res, status, `${label} (form)`, {});
  const api = await registerJson(app, target.slug, json);
  const problem = expectProblem(t, api, status, `${label} (API)`);
  if (status === 400) {
    for (const path of expected.paths) t.ok(errorPaths(problem).includes(path) || path === '*', `${label}: the API names ${path}`);
  }
  for (const email of [form.email, json.email as string]) {
    if (email) t.same(await storedFor(pool, email), { attendees: 0, registrations: 0, notifications: 0 }, `${label}: nothing stored for ${email}`);
  }
  return body;
}

t.test('a valid form registers like the API: 303 to the confirmation, consent version stored', async (t) => {
  const email = uniqueEmail('Form.Person');
  const res = await postForm(app, url(), {
    name: '  Ana   Pérez ',
    email: ` ${email.toUpperCase()} `,
    organization: 'City of X',
    jobTitle: '',
    'answers[city]': 'Springfield',
    'answers[role]': 'Mayor',
    'answers[agree]': 'on',
    consent: 'on',
    website: '',
  });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/s/${session.slug}/registered`, 'one URL for everyone, with no outcome in it');
  t.equal(res.headers['cache-control'], 'no-store');
  const { rows } = await pool.query(
    `SELECT r.name, r.organization, r.job_title, r.answers, r.consent_version, r.status::text, r.source::text
     FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE a.email = $1`,
    [email.toLowerCase()],
  );
  t.same(rows, [
    {
      name: 'Ana Pérez',
      organization: 'City of X',
      job_title: null,
      answers: { city: 'Springfield', role: 'Mayor', agree: true },
      consent_version: '2026-11-26',
      status: 'confirmed',
      source: 'public',
    },
  ]);

  const page = expectPage(t, await app.inject({ url: String(res.headers.location) }), 200, 'confirmation');
  t.match(page, '<h1>Check your inbox</h1>');
  t.match(page, 'We are sending an e-mail to the address you gave.', 'without the cookie, no address');
  t.notMatch(page, /You are registered|waitlist place is|number \d/, 'the page does not say what the post did');

  // The same person again: the same answer, and the page cannot tell the two apart.
  const again = await postForm(app, url(), { name: 'Ana Pérez', email, 'answers[city]': 'Springfield', consent: 'on' });
  t.equal(again.statusCode, 303);
  t.equal(again.headers.location, res.headers.location, 'a repeat registration looks exactly like a new one');
  t.equal(again.body, res.body);
  t.equal((await storedFor(pool, email)).registrations, 1, 'still one registration');
});

t.test('missing consent: the form again, with the error at the consent box; the API refuses too', async (t) => {
  const email = uniqueEmail('noconsent');
  const body = await bothRefuse(
    t,
    'missing consent',
    { name: 'No Consent', email, 'answers[city]': 'Springfield' },
    { name: 'No Consent', email, answers: { city: 'Springfield' }, consent: false },
    { paths: ['/consent'] },
  );
  t.match(body, '<title>Error: ', 'the title says there is an error');
  t.match(body, '<div class="error-summary" id="error-summary" tabindex="-1" aria-labelledby="error-summary-title">');
  t.match(body, '<li><a href="#f-consent">Tick the box to agree, so that we can register you</a></li>', 'the summary links to the field');
  t.match(body, '<p class="field-error" id="f-consent-error"><span class="visually-hidden">Error: </span>Tick the box to agree, so that we can register you</p>');
  const consent = inputTag(body, 'f-consent') ?? '';
  t.match(consent, 'aria-invalid="true"');
  t.match(consent, 'aria-describedby="f-consent-error"', 'the error describes the box (the consent version is no longer shown)');
  t.match(consent, 'autofocus', 'focus goes to the first error');
  t.notMatch(consent, / checked/, 'not ticked');
  t.match(inputTag(body, 'f-name') ?? '', 'value="No Consent"', 'what was typed is kept');
  t.match(inputTag(body, 'f-email') ?? '', `value="${email}"`);
  t.match(inputTag(body, 'f-q-city') ?? '', 'value="Springfield"');
  t.notMatch(inputTag(body, 'f-name') ?? '', /aria-invalid/, 'valid fields are not marked');
});

t.test('a bad e-mail address and a missing required answer: every error listed, in form order', async (t) => {
  const body = await bothRefuse(
    t,
    'bad e-mail',
    { name: 'Bad Mail', email: 'not-an-address', 'answers[role]': 'Staff', 'answers[agree]': 'on', consent: 'on' },
    { name: 'Bad Mail', email: 'not-an-address', answers: { role: 'Staff' }, consent: true },
    { paths: ['/email', '/answers/city'] },
  );
  const summary = /<ul>\n([\s\S]*?)<\/ul>/.exec(body.slice(body.indexOf('error-summary')))?.[1] ?? '';
  t.same(
    [...summary.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]),
    ['f-email', 'f-q-city'],
    'the summary links to each field in form order',
  );
  t.match(body, 'Enter an e-mail address, like name@example.org');
  t.match(body, 'Answer “Your city”');
  t.match(inputTag(body, 'f-email') ?? '', 'autofocus', 'the first error has the focus');
  t.notMatch(inputTag(body, 'f-q-city') ?? '', 'autofocus', 'only the first');
  t.match(body, '<option value="Staff" selected>Staff</option>', 'the chosen option is kept');
  t.match(inputTag(body, 'f-q-agree') ?? '', ' checked', 'the ticked box stays ticked');
  t.match(inputTag(body, 'f-consent') ?? '', ' checked');

  // Empty name and e-mail: the schema's own errors (the API stops there) plus the rest.
  const empty = await postForm(app, url(), {});
  const emptyBody = expectPage(t, empty, 400, 'empty form');
  for (const id of ['f-name', 'f-email', 'f-q-city', 'f-consent']) t.match(emptyBody, `href="#${id}"`, `empty form: ${id} is listed`);
  t.match(inputTag(emptyBody, 'f-name') ?? '', 'autofocus');
});

t.test('the schema refuses what the API refuses: too long, unknown fields, a wrong option', async (t) => {
  const long = await bothRefuse(
    t,
    'name too long',
    { name: 'x'.repeat(201), email: uniqueEmail('long'), 'answers[city]': 'X', consent: 'on' },
    { name: 'x'.repeat(201), email: uniqueEmail('long'), answers: { city: 'X' }, consent: true },
    { paths: ['/name'] },
  );
  t.match(long, 'Full name must be at most 200 characters');

  const unknown = await bothRefuse(
    t,
    'unknown field',
    { name: 'Mass Assign', email: uniqueEmail('mass'), 'answers[city]': 'X', consent: 'on', status: 'confirmed' },
    { name: 'Mass Assign', email: uniqueEmail('mass'), answers: { city: 'X' }, consent: true, status: 'confirmed' },
    { paths: ['/status'] },
  );
  t.match(unknown, '<li>status is not an allowed field</li>', 'named in the summary');

  const option = await bothRefuse(
    t,
    'wrong option',
    { name: 'Wrong Option', email: uniqueEmail('option'), 'answers[city]': 'X', 'answers[role]': 'Emperor', consent: 'on' },
    { name: 'Wrong Option', email: uniqueEmail('option'), answers: { city: 'X', role: 'Emperor' }, consent: true },
    { paths: ['/answers/role'] },
  );
  t.match(option, 'Role: must be one of: Mayor, Staff');
  t.match(inputTag(option, 'f-q-role') ?? '', 'aria-invalid="true"');
});

t.test('audiences: the access code field, and refusals at their fields with 403', async (t) => {
  const coded = await createSession(app, owner.headers, { audience: { kind: 'code', code: 'MAYORS-2026' } });
  const page = expectPage(t, await app.inject({ url: `/s/${coded.slug}` }), 200, 'code session');
  t.match(page, /<label for="f-accessCode">Access code <span class="req">\(required\)<\/span><\/label>/);
  t.notMatch(page, /MAYORS-2026/, 'the code itself is never on the page');
  const email = uniqueEmail('coded');
  const wrong = await bothRefuse(
    t,
    'wrong code',
    { name: 'Coded', email, accessCode: 'nope', consent: 'on' },
    { name: 'Coded', email, accessCode: 'nope', consent: true },
    { paths: [], status: 403, target: coded },
  );
  t.match(wrong, '<a href="#f-accessCode">The access code is not correct</a>');
  t.match(inputTag(wrong, 'f-accessCode') ?? '', 'autofocus');
  const right = await postForm(app, url(coded), { name: 'Coded', email, accessCode: 'MAYORS-2026', consent: 'on' });
  t.equal(right.statusCode, 303);

  const domains = await createSession(app, owner.headers, { audience: { kind: 'domains', domains: ['cityofx.gov'] } });
  const domainPage = (await app.inject({ url: `/s/${domains.slug}` })).body;
  t.match(domainPage, 'Open to addresses at cityofx.gov.', 'the hint names the domains');
  const outsider = uniqueEmail('outsider');
  const refused = await bothRefuse(
    t,
    'wrong domain',
    { name: 'Outsider', email: outsider, consent: 'on' },
    { name: 'Outsider', email: outsider, consent: true },
    { paths: [], status: 403, target: domains },
  );
  t.match(refused, '<a href="#f-email">This session is open only to addresses of the invited organisations</a>');
});

t.test('the honeypot: a filled one answers like a success and stores nothing', async (t) => {
  const email = uniqueEmail('bot');
  const res = await postForm(app, url(), { name: 'Bot', email, 'answers[city]': 'X', consent: 'on', website: 'https://spam.example' });
  t.equal(res.statusCode, 303, 'a redirect, as for a person');
  t.equal(res.headers.location, `/s/${session.slug}/registered`);
  t.same(await storedFor(pool, email), { attendees: 0, registrations: 0, notifications: 0 }, 'nothing stored, nothing sent');

  const invalid = await postForm(app, url(), { name: '', email: 'junk', website: 'x' });
  t.equal(invalid.statusCode, 303, 'even with invalid fields: a bot learns nothing');

  // Where the next person would wait, the bot is told the same as the person.
  const full = await createSession(app, owner.headers, { capacity: 1 });
  await registered(app, full.slug, { name: 'Seat', email: uniqueEmail('seat') });
  const waiting = await postForm(app, url(full), { name: 'Bot', email, consent: 'on', website: 'x' });
  const person = await postForm(app, url(full), { name: 'Person', email: uniqueEmail('person'), consent: 'on' });
  t.equal(waiting.headers.location, `/s/${full.slug}/registered`);
  t.equal(waiting.headers.location, person.headers.location);
  t.same(await storedFor(pool, email), { attendees: 0, registrations: 0, notifications: 0 });
});

t.test('odd posts: a JSON body, a text body, a huge body, arrays instead of text', async (t) => {
  const json = await app.inject({ method: 'POST', url: url(), payload: { name: 'Json Person', email: uniqueEmail('json'), consent: true, answers: { city: 'X' } } });
  t.equal(json.statusCode, 303, 'a JSON body is read the same way');
  const text = await app.inject({ method: 'POST', url: url(), headers: { 'content-type': 'text/plain' }, payload: 'hello' });
  expectPage(t, text, 415, 'text/plain');
  const huge = await postForm(app, url(), { name: 'x'.repeat(300_000), email: uniqueEmail('huge') });
  expectPage(t, huge, 413, 'too large');
  const arrays = await postForm(app, url(), [
    ['name', 'A'],
    ['name', 'B'],
    ['email', uniqueEmail('arrays')],
    ['consent', 'on'],
    ['answers[city]', 'X'],
  ]);
  const body = expectPage(t, arrays, 400, 'a field sent twice');
  t.match(body, 'Full name must be a single value');
  // More fields than any form has: refused whole (qs would keep the first ones and drop the rest).
  const crowded = await postForm(app, url(), [
    ['name', 'Crowded Form'],
    ['email', uniqueEmail('crowded')],
    ['consent', 'on'],
    ...Array.from({ length: 1000 }, (_, i): [string, string] => [`extra${i}`, 'x']),
  ]);
  t.match(expectPage(t, crowded, 400, 'over the field limit'), 'The form has more than 1000 fields');
  const missing = await postForm(app, '/s/no-such-session/register', { name: 'A', email: uniqueEmail('missing'), consent: 'on' });
  expectPage(t, missing, 404, 'unknown session');
});

t.test('the confirmation page is one page, whatever the query says', async (t) => {
  const plain = expectPage(t, await app.inject({ url: `/s/${session.slug}/registered` }), 200, 'confirmation');
  t.notMatch(plain, /@example\.org|\/m\//, 'no address, no manage link');
  // Links of the first contract still work, and cannot be used to make the page say an outcome.
  for (const query of ['status=confirmed', 'status=waitlisted&position=3', 'status=admin']) {
    const res = await app.inject({ url: `/s/${session.slug}/registered?${query}` });
    t.equal(res.statusCode, 200, query);
    t.equal(res.body, plain, `the same page (${query})`);
  }
});
