import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { decryptSecret, secretsKey } from '../../src/services/webhooks/signing.js';
import { buildTestApp } from '../helpers/app.js';
import { consoleSignIn, form, formFields, makeOrganizer, tableRows, unescape, type ConsoleBrowser } from './support.js';

/**
 * Issue #22: the console's webhook pages. The list (an admin's: every organizer's, with an Owner
 * column), the Add form whose answer shows the signing secret once (a repeated submit adds one
 * endpoint), an endpoint's page with its Edit form, Enabled box, test event, rotation (confirmed,
 * the new secret shown once), deletion (confirmed) and its delivery log a page at a time; another
 * organizer's endpoint is a 404 page everywhere; CSRF on every POST. The test database is shared:
 * every endpoint made here is deleted in teardown, so none collects the events of other files.
 */

const { app, config, database } = await buildTestApp(t);
const PAGE = '/console/webhooks';
const HOOK_URL = 'https://crm.example.org/hooks/convene';

const signedIn: ConsoleBrowser[] = [];
t.teardown(async () => {
  const ids = signedIn.map((who) => who.organizer.id);
  await database.pool.query('DELETE FROM webhook_endpoints WHERE organizer_id = ANY($1::uuid[])', [ids]);
  await database.pool.query(
    "DELETE FROM idempotency_keys WHERE scope LIKE 'console:webhook-%' AND split_part(scope, ':', 3) = ANY($1::text[])",
    [ids],
  );
});

async function browser(name: string, role: 'admin' | 'organizer' = 'organizer'): Promise<ConsoleBrowser> {
  const who = await consoleSignIn(app, await makeOrganizer(app, role, name));
  signedIn.push(who);
  return who;
}

const listRows = (html: string) => tableRows(html, 'admin-table webhooks-table').map((row) => row.map(unescape));
const logRows = (html: string) => tableRows(html, 'admin-table webhook-deliveries-table').map((row) => row.map(unescape));
const shownSecret = (html: string) => /<input type="text" id="signing-secret" value="([^"]+)"/.exec(html)?.[1] ?? null;
const navHas = (html: string, text: string) => new RegExp(`<nav class="console-nav"[\\s\\S]*?>${text}</a>[\\s\\S]*?</nav>`).test(html);
const flashOf = (html: string) => /<div class="status \w+" role="status"><p>([^<]*)<\/p><\/div>/.exec(html)?.[1] ?? null;

function fieldError(html: string, id: string): string | null {
  const match = new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html);
  return match ? unescape(match[1]!) : null;
}

function summaryItems(html: string): string[] {
  const summary = /<div class="error-summary"[\s\S]*?<\/div>/.exec(html)?.[0] ?? '';
  return [...summary.matchAll(/<li>(?:<a href="([^"]*)">)?([^<]*)/g)].map((match) => `${match[1] ?? ''} ${unescape(match[2]!)}`.trim());
}

interface StoredEndpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: Date | null;
  secret_ciphertext: string;
  previous_secret_ciphertext: string | null;
  previous_secret_expires_at: Date | null;
}

async function endpointsOf(organizerId: string): Promise<StoredEndpoint[]> {
  const { rows } = await database.pool.query<StoredEndpoint>('SELECT * FROM webhook_endpoints WHERE organizer_id = $1 ORDER BY created_at, id', [organizerId]);
  return rows;
}

const secretOf = (ciphertext: string) => decryptSecret(ciphertext, secretsKey(config.tokenSecret));

/** The Add form as a browser sends it: its own fields (one-time id included), with these values and events checked. */
async function addForm(who: ConsoleBrowser, values: { url?: string; events?: string[]; description?: string }): Promise<Record<string, string>> {
  const page = await who.get(`${PAGE}/new`);
  const fields = formFields(page.body, PAGE);
  for (const event of values.events ?? []) fields[`event.${event}`] = 'on';
  return { ...fields, url: values.url ?? HOOK_URL, description: values.description ?? '' };
}

async function addEndpoint(who: ConsoleBrowser, values: { url?: string; events?: string[]; description?: string } = {}): Promise<{ res: LightMyRequestResponse; id: string }> {
  const res = await who.post(PAGE, await addForm(who, { events: ['registration.created'], ...values }));
  if (res.statusCode !== 200) throw new Error(`adding failed: ${res.statusCode}`);
  const [latest] = (await endpointsOf(who.organizer.id)).slice(-1);
  return { res, id: latest!.id };
}

/** A POST of the console session without its `_csrf`. */
function postWithoutCsrf(who: ConsoleBrowser, url: string, fields: Record<string, string>) {
  const body = form(fields);
  return app.inject({ method: 'POST', url, payload: body.payload, headers: { ...body.headers, ...who.headers } });
}

t.test('signed out: the pages lead to the login page', async (t) => {
  for (const url of [PAGE, `${PAGE}/new`, `${PAGE}/${randomUUID()}`]) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 303, url);
    t.match(res.headers.location, /^\/console\/login\?next=/);
  }
});

t.test('every organizer has the page in the nav; it starts empty, with Add endpoint', async (t) => {
  const plain = await browser('Hooks Empty');
  const res = await plain.get(PAGE);
  t.equal(res.statusCode, 200);
  t.ok(navHas(res.body, 'Webhooks'), 'nav entry');
  t.match(res.body, /<a href="\/console\/webhooks" aria-current="page">Webhooks<\/a>/, 'marked current');
  t.match(res.body, /You have no webhook endpoint\./);
  t.match(res.body, /<a class="button" href="\/console\/webhooks\/new">Add endpoint<\/a>/);
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(String(res.headers['content-security-policy']), /script-src 'self'/);
  t.notMatch(res.body, /<script>|style="/, 'no inline script or style');
});

t.test('the Add form: labelled fields, the events as checkboxes in a fieldset, a one-time id', async (t) => {
  const plain = await browser('Hooks Form');
  const res = await plain.get(`${PAGE}/new`);
  t.equal(res.statusCode, 200);
  t.match(res.body, /<form method="post" action="\/console\/webhooks" novalidate>/);
  t.match(res.body, /<label for="f-url">Endpoint URL <span class="req">\(required\)<\/span><\/label>/);
  t.match(res.body, /<input type="url" id="f-url" name="url"/);
  t.match(res.body, /<fieldset class="field" id="f-events" aria-describedby="f-events-hint">\n<legend>Events <span class="req">\(required\)<\/span><\/legend>/);
  t.match(
    res.body,
    /<input type="checkbox" id="f-event-registration-created" name="event.registration.created" value="on">\n<label for="f-event-registration-created">A registration is made <code>\(registration.created\)<\/code><\/label>/,
  );
  t.notMatch(res.body, /name="event.ping"/, 'a test event is not subscribed to');
  t.match(res.body, /<label for="f-description">Description<\/label>/);
  const formId = formFields(res.body, PAGE).formId;
  t.match(formId, /^[0-9a-f-]{36}$/, 'a one-time id');
  t.not(formFields((await plain.get(`${PAGE}/new`)).body, PAGE).formId, formId, 'a new one each time');
});

t.test('Add: the answer shows the secret once, with how to verify; no later page shows it', async (t) => {
  const owner = await browser('Hooks Maker');
  const fields = await addForm(owner, { events: ['registration.created', 'session.cancelled'], description: 'Our CRM <script>' });
  const res = await owner.post(PAGE, fields);
  t.equal(res.statusCode, 200, 'the page itself answers: no redirect to carry the secret');
  t.equal(res.headers.location, undefined);
  t.equal(res.headers['cache-control'], 'no-store');
  const secret = shownSecret(res.body);
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  t.match(res.body, /Copy it now: it is not shown again\./);
  t.match(res.body, /readonly autocomplete="off" spellcheck="false" autocapitalize="off" aria-describedby="signing-secret-hint" data-copy>/);
  t.match(res.body, /Standard Webhooks/);
  for (const header of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) t.match(res.body, `<code>${header}</code>`, header);
  t.notOk(res.body.includes('<script>'), 'the description is escaped');

  const [stored] = await endpointsOf(owner.organizer.id);
  t.match(stored, { url: HOOK_URL, events: ['registration.created', 'session.cancelled'], description: 'Our CRM <script>', enabled: true });
  t.equal(secretOf(stored!.secret_ciphertext), secret, 'the secret shown is the one that signs');
  const { rows: audit } = await database.pool.query("SELECT action FROM audit_log WHERE subject_type = 'webhook' AND subject_id = $1", [stored!.id]);
  t.same(audit.map((entry) => entry.action), ['webhook.create']);

  const list = await owner.get(PAGE);
  t.notOk(list.body.includes('whsec_'), 'the list never shows it');
  const [row, ...others] = listRows(list.body);
  t.same(others, [], 'one endpoint');
  t.same(row!.slice(0, 3), [`${HOOK_URL} Our CRM <script>`, 'A registration is made, A session is cancelled', 'Enabled']);
  t.match(row![3], /^\d{4}-\d\d-\d\d \d\d:\d\d$/, 'Created');
  t.match(list.body, /<th scope="col">URL<\/th><th scope="col">Events<\/th><th scope="col">Status<\/th><th scope="col">Created \(UTC\)<\/th>/, 'no Owner column');
  t.match(list.body, /<caption class="visually-hidden">Your webhook endpoints, oldest first<\/caption>/);
  const page = await owner.get(`${PAGE}/${stored!.id}`);
  t.equal(page.statusCode, 200);
  t.notOk(page.body.includes('whsec_'), 'nor the endpoint page');
  t.equal(shownSecret(page.body), null);
});

t.test('a repeated submit of the Add form adds one endpoint, and says where its secret went', async (t) => {
  const owner = await browser('Hooks Twice');
  const fields = await addForm(owner, { events: ['registration.cancelled'] });
  const [first, second] = await Promise.all([owner.post(PAGE, fields), owner.post(PAGE, fields)]);
  const third = await owner.post(PAGE, fields);
  t.equal((await endpointsOf(owner.organizer.id)).length, 1, 'one endpoint');
  const answers = [first, second, third];
  t.equal(answers.filter((res) => shownSecret(res.body) !== null).length, 1, 'one answer holds the secret');
  t.equal(third.statusCode, 200);
  t.equal(shownSecret(third.body), null);
  t.match(third.body, /This form was sent twice: the endpoint was added once, by the first submit/);
  t.match(third.body, /rotate the secret below to get a new one/);

  const changed = await owner.post(PAGE, { ...fields, url: 'https://other.example.org/hook' });
  t.equal(changed.statusCode, 409, 'the same form id with other values');
  t.match(summaryItems(changed.body).join('\n'), /This form has already added an endpoint/);
  t.equal(unescape(/id="f-url" name="url" value="([^"]*)"/.exec(changed.body)![1]!), 'https://other.example.org/hook', 'the values are kept');
  t.not(formFields(changed.body, PAGE).formId, fields.formId, 'with a new id, to add another');
  t.equal((await endpointsOf(owner.organizer.id)).length, 1);

  const incomplete = await owner.post(PAGE, { ...fields, formId: '' });
  t.equal(incomplete.statusCode, 400);
  t.match(summaryItems(incomplete.body).join('\n'), /The form was incomplete/);
});

t.test('field errors: an http URL, no event, a long description; nothing is added', async (t) => {
  const owner = await browser('Hooks Errors');
  const http = await owner.post(PAGE, await addForm(owner, { url: 'http://crm.example.org/hook', events: [] }));
  t.equal(http.statusCode, 400);
  t.match(http.body, /<title>Error: Add a webhook endpoint/);
  t.equal(fieldError(http.body, 'f-url'), 'The endpoint URL must start with https://');
  t.equal(fieldError(http.body, 'f-events'), 'Choose at least one event');
  t.same(summaryItems(http.body), ['#f-url The endpoint URL must start with https://', '#f-event-registration-created Choose at least one event']);
  t.match(http.body, /<fieldset class="field invalid" id="f-events" aria-describedby="f-events-hint f-events-error">/);
  t.match(http.body, /id="f-url" name="url" value="http:\/\/crm.example.org\/hook" autocomplete="off" maxlength="2000" required aria-required="true" aria-invalid="true" aria-describedby="f-url-hint f-url-error" autofocus>/);
  t.equal(shownSecret(http.body), null);

  const noEvent = await owner.post(PAGE, await addForm(owner, { events: [] }));
  t.equal(noEvent.statusCode, 400);
  t.same(summaryItems(noEvent.body), ['#f-event-registration-created Choose at least one event']);
  t.equal(fieldError(noEvent.body, 'f-url'), null);

  const loopback = await owner.post(PAGE, await addForm(owner, { url: 'https://127.0.0.1/hook', events: ['session.updated'] }));
  t.equal(fieldError(loopback.body, 'f-url'), 'The endpoint URL must point to a public address');
  t.match(loopback.body, /<input type="checkbox" id="f-event-session-updated" name="event.session.updated" value="on" checked>/, 'the events chosen stay checked');

  const blank = await owner.post(PAGE, await addForm(owner, { url: '', events: ['session.updated'] }));
  t.equal(fieldError(blank.body, 'f-url'), 'Enter the endpoint URL, such as https://crm.example.com/hooks/convene');

  const long = await owner.post(PAGE, await addForm(owner, { events: ['session.updated'], description: 'd'.repeat(501) }));
  t.equal(long.statusCode, 400);
  t.equal(fieldError(long.body, 'f-description'), 'Description must be at most 500 characters');
  t.same(await endpointsOf(owner.organizer.id), [], 'nothing added');
});

t.test('Edit: URL, events and description saved; an unchanged form changes nothing', async (t) => {
  const owner = await browser('Hooks Editor');
  const { id } = await addEndpoint(owner, { description: 'Before' });
  const page = await owner.get(`${PAGE}/${id}`);
  t.match(page.body, new RegExp(`<form method="post" action="/console/webhooks/${id}" novalidate>`));
  const fields = formFields(page.body, `${PAGE}/${id}`);
  t.match(fields, { url: HOOK_URL, 'event.registration.created': 'on', description: 'Before', enabled: 'on' }, 'the form holds the endpoint');

  const unchanged = await owner.post(`${PAGE}/${id}`, fields);
  t.equal(unchanged.statusCode, 303);
  t.equal(unchanged.headers.location, `${PAGE}/${id}?done=unchanged`);

  const edited: Record<string, string> = { ...fields, url: 'https://crm.example.org/v2', description: '' };
  delete edited['event.registration.created'];
  edited['event.registration.confirmed'] = 'on';
  edited['event.session.published'] = 'on';
  const res = await owner.post(`${PAGE}/${id}`, edited);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `${PAGE}/${id}?done=saved`);
  const [stored] = await endpointsOf(owner.organizer.id);
  t.match(stored, { url: 'https://crm.example.org/v2', events: ['registration.confirmed', 'session.published'], description: null, enabled: true });
  const { rows: audit } = await database.pool.query("SELECT details FROM audit_log WHERE action = 'webhook.update' AND subject_id = $1", [id]);
  t.same(audit.map((entry) => entry.details.fields), [['url', 'events', 'description']], 'what changed, audited');
  const after = await owner.get(res.headers.location as string);
  t.equal(flashOf(after.body), 'The endpoint is saved.');
  t.match(after.body, /<dt>Events<\/dt><dd>A registration is confirmed, A session is published<\/dd>/);

  const refused = await owner.post(`${PAGE}/${id}`, { ...formFields(after.body, `${PAGE}/${id}`), url: 'http://crm.example.org/v3', 'event.registration.confirmed': '', 'event.session.published': '' });
  t.equal(refused.statusCode, 400);
  t.same(summaryItems(refused.body), ['#f-url The endpoint URL must start with https://', '#f-event-registration-created Choose at least one event']);
  t.match(refused.body, /value="http:\/\/crm.example.org\/v3"/, 'what was typed is kept');
  t.equal((await endpointsOf(owner.organizer.id))[0]!.url, 'https://crm.example.org/v2', 'nothing saved');
});

t.test('Enabled: disabling and enabling; a reason of Convene shows, and goes only when enabled again', async (t) => {
  const owner = await browser('Hooks Switch');
  const { id } = await addEndpoint(owner);
  const fields = formFields((await owner.get(`${PAGE}/${id}`)).body, `${PAGE}/${id}`);
  const { enabled: _on, ...off } = fields;
  const disabled = await owner.post(`${PAGE}/${id}`, off);
  t.equal(disabled.headers.location, `${PAGE}/${id}?done=disabled`);
  t.equal((await endpointsOf(owner.organizer.id))[0]!.enabled, false);
  const page = await owner.get(disabled.headers.location as string);
  t.equal(flashOf(page.body), 'The endpoint is disabled: no event is sent to it until you enable it again.');
  t.match(page.body, /<dt>Status<\/dt><dd><span class="badge muted">Disabled<\/span><\/dd>/);
  t.match(page.body, /<input type="checkbox" id="f-enabled" name="enabled" value="on" aria-describedby="f-enabled-hint">/, 'unchecked');
  t.equal(listRows((await owner.get(PAGE)).body)[0]![2], 'Disabled');

  // As the delivery worker disables an endpoint whose receiver answered 410.
  await database.pool.query("UPDATE webhook_endpoints SET disabled_reason = 'The receiver answered 410 Gone' WHERE id = $1", [id]);
  t.equal(listRows((await owner.get(PAGE)).body)[0]![2], 'Disabled by Convene: the receiver answered 410 Gone');
  const gone = await owner.get(`${PAGE}/${id}`);
  t.match(gone.body, /Convene disabled it: The receiver answered 410 Gone\./, 'the Enabled hint says why');
  const renamed = await owner.post(`${PAGE}/${id}`, { ...formFields(gone.body, `${PAGE}/${id}`), description: 'Renamed' });
  t.equal(renamed.headers.location, `${PAGE}/${id}?done=saved`);
  t.match((await endpointsOf(owner.organizer.id))[0], { enabled: false, disabled_reason: 'The receiver answered 410 Gone' }, 'saving other fields keeps the reason');

  await database.pool.query('UPDATE webhook_endpoints SET failing_since = now() WHERE id = $1', [id]);
  const enabled = await owner.post(`${PAGE}/${id}`, { ...formFields((await owner.get(`${PAGE}/${id}`)).body, `${PAGE}/${id}`), enabled: 'on' });
  t.equal(enabled.headers.location, `${PAGE}/${id}?done=enabled`);
  t.match((await endpointsOf(owner.organizer.id))[0], { enabled: true, disabled_reason: null, failing_since: null }, 're-enabling clears the reason and the failing streak');
  t.match(flashOf((await owner.get(enabled.headers.location as string)).body), /^The endpoint is enabled/);

  await database.pool.query("UPDATE webhook_endpoints SET failing_since = now() - interval '2 hours' WHERE id = $1", [id]);
  t.match(listRows((await owner.get(PAGE)).body)[0]![2], /^Failing since \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
});

t.test('Send a test event: a ping row, shown in the delivery log with its outcome; the log pages', async (t) => {
  const owner = await browser('Hooks Tester');
  const { id } = await addEndpoint(owner);
  const empty = await owner.get(`${PAGE}/${id}`);
  t.match(empty.body, /Nothing sent yet/);
  t.match(empty.body, new RegExp(`<form method="post" action="/console/webhooks/${id}/test">`));

  const res = await owner.post(`${PAGE}/${id}/test`, {});
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `${PAGE}/${id}?done=tested`);
  const { rows: pings } = await database.pool.query('SELECT id, event_type, status FROM webhook_deliveries WHERE endpoint_id = $1', [id]);
  t.equal(pings.length, 1);
  t.equal(pings[0].event_type, 'ping');
  const page = await owner.get(res.headers.location as string);
  t.equal(flashOf(page.body), 'A test event is on its way: see the delivery log.');
  t.match(page.body, /<caption>Deliveries to this endpoint, newest first<\/caption>/);
  t.match(page.body, /<th scope="col">Time \(UTC\)<\/th><th scope="col">Event<\/th><th scope="col">Status<\/th><th scope="col">Attempts<\/th><th scope="col">Last answer<\/th>/);
  const [row] = logRows(page.body);
  t.match(row![0], /^\d{4}-\d\d-\d\d \d\d:\d\d$/);
  t.same(row!.slice(1), ['Test event (ping)', 'Waiting to be sent', '0', 'No answer yet']);

  // The outcomes the delivery worker records.
  const outcomes: Array<[string, string[]]> = [
    ["status = 'succeeded', attempts = 1, last_status_code = 204, delivered_at = now()", ['Delivered', '1', 'HTTP 204']],
    ["status = 'pending', attempts = 2, last_status_code = 500, last_error = 'HTTP 500', next_attempt_at = now() + interval '5 minutes'", ['Retrying at', '2', 'HTTP 500']],
    ["status = 'failed', attempts = 8, last_status_code = NULL, last_error = 'timed out after 10 s'", ['Failed', '8', 'timed out after 10 s']],
    ["status = 'sending', attempts = 1, last_status_code = NULL, last_error = NULL", ['Sending', '1', 'No answer yet']],
  ];
  for (const [set, [status = '', attempts, answer]] of outcomes) {
    await database.pool.query(`UPDATE webhook_deliveries SET ${set} WHERE id = $1`, [pings[0].id]);
    const [shown] = logRows((await owner.get(`${PAGE}/${id}`)).body);
    t.ok(shown![2]!.startsWith(status), `${status}: ${shown![2]}`);
    t.same(shown!.slice(3), [attempts, answer], status);
  }
  t.match(logRows((await owner.get(`${PAGE}/${id}`)).body)[0]![2], /^Sending$/);
  await database.pool.query("UPDATE webhook_deliveries SET status = 'pending', attempts = 2, next_attempt_at = now() + interval '5 minutes' WHERE id = $1", [pings[0].id]);
  t.match(logRows((await owner.get(`${PAGE}/${id}`)).body)[0]![2], /^Retrying at \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);

  // 29 more: the log shows 25 a page, newest first, with Older and Newest.
  for (let i = 0; i < 29; i += 1) await app.services.webhooks.ping(owner.organizer, id);
  const first = await owner.get(`${PAGE}/${id}`);
  t.equal(logRows(first.body).length, 25);
  const older = /<a href="([^"]+)" rel="next">Older<\/a>/.exec(first.body)?.[1];
  t.ok(older, 'an Older link');
  t.notMatch(first.body, />Newest<\/a>/);
  const second = await owner.get(unescape(older!));
  t.equal(second.statusCode, 200);
  const rest = logRows(second.body);
  t.equal(rest.length, 5);
  t.match(rest[4]![2], /^Retrying at/, 'the oldest last');
  t.match(second.body, new RegExp(`<a href="/console/webhooks/${id}">Newest</a>`));
  t.notMatch(second.body, />Older<\/a>/);
  t.equal((await owner.get(`${PAGE}/${id}?cursor=not-a-cursor`)).statusCode, 200, 'a hand-edited cursor is read as none');
});

t.test('Rotate: a confirmation, then the new secret once; the previous one signs for 24 hours; a repeated submit rotates once', async (t) => {
  const owner = await browser('Hooks Rotator');
  const { res: added, id } = await addEndpoint(owner);
  const original = shownSecret(added.body)!;
  const page = await owner.get(`${PAGE}/${id}`);
  t.match(page.body, new RegExp(`<a class="button secondary" href="/console/webhooks/${id}/rotate">Rotate the secret</a>`));

  const confirm = await owner.get(`${PAGE}/${id}/rotate`);
  t.equal(confirm.statusCode, 200);
  t.match(confirm.body, /<h1>Rotate the signing secret\?<\/h1>/);
  t.notMatch(confirm.body, /Rotating again stops it at once/);
  t.equal(secretOf((await endpointsOf(owner.organizer.id))[0]!.secret_ciphertext), original, 'the confirmation rotates nothing');

  const fields = formFields(confirm.body, `${PAGE}/${id}/rotate`);
  const before = Date.now();
  const res = await owner.post(`${PAGE}/${id}/rotate`, fields);
  t.equal(res.statusCode, 200, 'the answer shows the secret: no redirect');
  const secret = shownSecret(res.body);
  t.match(secret, /^whsec_/);
  t.not(secret, original);
  t.match(res.body, /Copy it now: it is not shown again\./);
  t.match(res.body, /The previous secret also signs every delivery until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  const [stored] = await endpointsOf(owner.organizer.id);
  t.equal(secretOf(stored!.secret_ciphertext), secret);
  t.equal(secretOf(stored!.previous_secret_ciphertext!), original);
  const day = stored!.previous_secret_expires_at!.getTime() - before;
  t.ok(day >= 24 * 3600 * 1000 - 1000 && day <= 24 * 3600 * 1000 + 60_000, 'for 24 hours');

  const again = await owner.post(`${PAGE}/${id}/rotate`, fields);
  t.equal(again.statusCode, 200);
  t.equal(shownSecret(again.body), null);
  t.match(again.body, /This confirmation was sent twice: the secret was rotated once/);
  t.equal((await endpointsOf(owner.organizer.id))[0]!.secret_ciphertext, stored!.secret_ciphertext, 'rotated once');

  const later = await owner.get(`${PAGE}/${id}`);
  t.notOk(later.body.includes(secret!), 'not shown again');
  t.match(later.body, /<dt>Previous secret<\/dt><dd>Also signs until <time datetime=/);
  t.match((await owner.get(`${PAGE}/${id}/rotate`)).body, /Rotating again stops it at once/, 'the next confirmation warns');
  const { rows: audit } = await database.pool.query("SELECT action FROM audit_log WHERE action = 'webhook.rotate_secret' AND subject_id = $1", [id]);
  t.equal(audit.length, 1);
});

t.test('Delete: a confirmation first, then the endpoint and its log are gone', async (t) => {
  const owner = await browser('Hooks Deleter');
  const { id } = await addEndpoint(owner, { description: 'Old sync' });
  await app.services.webhooks.ping(owner.organizer, id);
  const confirm = await owner.get(`${PAGE}/${id}/delete`);
  t.equal(confirm.statusCode, 200);
  t.match(confirm.body, /<h1>Delete this webhook endpoint\?<\/h1>/);
  t.match(confirm.body, /<dt>Description<\/dt><dd>Old sync<\/dd>/);
  t.match(confirm.body, new RegExp(`<form method="post" action="/console/webhooks/${id}/delete">`));
  t.equal((await endpointsOf(owner.organizer.id)).length, 1, 'the confirmation deletes nothing');

  const res = await owner.post(`${PAGE}/${id}/delete`, {});
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `${PAGE}?done=deleted`);
  const after = await owner.get(res.headers.location as string);
  t.equal(flashOf(after.body), 'The endpoint is deleted: no event is sent to it any more.');
  t.same(listRows(after.body), []);
  t.same(await endpointsOf(owner.organizer.id), []);
  const { rows: log } = await database.pool.query('SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1', [id]);
  t.same(log, [], 'its log went with it');
  t.equal((await owner.get(`${PAGE}/${id}`)).statusCode, 404, 'gone');
  t.equal((await owner.post(`${PAGE}/${id}/delete`, {})).statusCode, 404, 'deleted already');
});

t.test("another organizer's endpoint is the 404 page, to see and to change", async (t) => {
  const owner = await browser('Hooks Victim');
  const stranger = await browser('Hooks Stranger');
  const { id } = await addEndpoint(owner);
  const before = (await endpointsOf(owner.organizer.id))[0]!;
  t.same(listRows((await stranger.get(PAGE)).body), [], 'not in their list');
  for (const url of [`${PAGE}/${id}`, `${PAGE}/${id}/rotate`, `${PAGE}/${id}/delete`, `${PAGE}/${id}?cursor=1`]) {
    const res = await stranger.get(url);
    t.equal(res.statusCode, 404, `GET ${url}`);
    t.match(res.body, /<h1>Page not found<\/h1>/);
  }
  const posts: Array<[string, Record<string, string>]> = [
    [`${PAGE}/${id}`, { url: 'https://evil.example.org/hook', 'event.registration.created': 'on', description: '', enabled: 'on' }],
    [`${PAGE}/${id}/test`, {}],
    [`${PAGE}/${id}/rotate`, { formId: randomUUID() }],
    [`${PAGE}/${id}/delete`, {}],
  ];
  for (const [url, fields] of posts) t.equal((await stranger.post(url, fields)).statusCode, 404, `POST ${url}`);
  t.same((await endpointsOf(owner.organizer.id))[0], before, 'nothing changed');
  const { rows: log } = await database.pool.query('SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1', [id]);
  t.same(log, [], 'no test event');
  t.equal((await stranger.get(`${PAGE}/${randomUUID()}`)).statusCode, 404, 'as an unknown id');
  t.equal((await stranger.get(`${PAGE}/not-a-uuid`)).statusCode, 400, 'a malformed id');
});

t.test('an admin sees every organizer’s endpoints, with their owner, and may open them', async (t) => {
  const owner = await browser('Hooks Owned');
  const admin = await browser('Hooks Admin', 'admin');
  const url = `https://owned-${randomUUID()}.example.org/hook`;
  const { id } = await addEndpoint(owner, { url });
  const list = await admin.get(PAGE);
  t.match(list.body, /<th scope="col">URL<\/th><th scope="col">Owner<\/th><th scope="col">Events<\/th>/);
  t.match(list.body, /Every organizer’s endpoints/);
  const row = listRows(list.body).find((cells) => cells[0] === url);
  t.same(row?.slice(1, 3), [`Hooks Owned ${owner.organizer.email}`, 'A registration is made']);
  const page = await admin.get(`${PAGE}/${id}`);
  t.equal(page.statusCode, 200);
  t.match(page.body, new RegExp(`<dt>Owner</dt><dd>Hooks Owned <span class="muted">\\(${owner.organizer.email.replace(/[.]/g, '\\.')}\\)</span></dd>`));
  t.equal((await owner.get(PAGE)).body.includes('<th scope="col">Owner</th>'), false, 'an organizer has no Owner column');
});

t.test('CSRF: a POST without the session token, or from a foreign origin, changes nothing', async (t) => {
  const owner = await browser('Hooks Csrf');
  const fields = await addForm(owner, { events: ['registration.created'] });
  const { _csrf: _token, ...withoutToken } = fields;
  const made = await postWithoutCsrf(owner, PAGE, withoutToken);
  t.equal(made.statusCode, 403);
  t.equal(shownSecret(made.body), null);
  const foreign = await owner.post(PAGE, fields, { origin: 'https://evil.example' });
  t.equal(foreign.statusCode, 403, 'a foreign Origin');
  t.same(await endpointsOf(owner.organizer.id), [], 'nothing added');

  const { id } = await addEndpoint(owner);
  const before = (await endpointsOf(owner.organizer.id))[0]!;
  for (const [url, body] of [
    [`${PAGE}/${id}`, { url: 'https://evil.example.org/hook', 'event.registration.created': 'on' }],
    [`${PAGE}/${id}/test`, {}],
    [`${PAGE}/${id}/rotate`, { formId: randomUUID() }],
    [`${PAGE}/${id}/delete`, {}],
  ] as const) {
    t.equal((await postWithoutCsrf(owner, url, body)).statusCode, 403, `POST ${url}`);
  }
  t.same((await endpointsOf(owner.organizer.id))[0], before, 'nothing changed');
});
