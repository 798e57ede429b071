import t from 'tap';
import { DateTime } from 'luxon';
import { buildTestApp, manualClock, uniqueEmail } from '../helpers/app.js';
import { createSession, notificationRows, registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import { isolatedDatabaseUrl } from '../helpers/isolated-app.js';
import { consoleSignIn, form, makeOrganizer, type ConsoleBrowser, tableRows as rowsOf } from './support.js';

const clock = manualClock();
// A database of its own: the clock moves past offers' deadlines, and the audit entries and
// offers it writes "in the future" must not reach other files' views of the shared database.
const { app, database } = await buildTestApp(t, { clock, env: { DATABASE_URL: isolatedDatabaseUrl('console_approval_offers') } });
const MINUTE = 60_000;
// Half an hour off any whole-hour zone: a time shown in UTC or the server's zone would not match.
const ZONE = 'Asia/Kolkata';

const host = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Approving host'));
const hostApi = { authorization: `Bearer ${app.issueToken(host.organizer).token}` };
const stranger = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Not a host'));

// ---------------------------------------------------------------------------------------------
// Helpers

async function sessionWith(overrides: Record<string, unknown>): Promise<SessionJson> {
  return createSession(app, hostApi, { timezone: ZONE, capacity: 2, waitlist: { enabled: true }, approval: true, ...overrides });
}

/** Registers these people through the public API, a second apart; their registration ids by name. */
async function requests(session: SessionJson, names: string[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const name of names) {
    const email = uniqueEmail(name.replace(/[^a-z]/gi, '').toLowerCase());
    await registered(app, session.slug, { name, email });
    clock.advance(1000);
    ids[name] = await registrationId(database.pool, session.id, email);
  }
  return ids;
}

async function statusOf(id: string): Promise<string> {
  const { rows } = await database.pool.query<{ status: string }>('SELECT status::text FROM registrations WHERE id = $1', [id]);
  return rows[0]!.status;
}

async function statusesOf(ids: Record<string, string>): Promise<Record<string, string>> {
  const statuses: Record<string, string> = {};
  for (const [name, id] of Object.entries(ids)) statuses[name] = await statusOf(id);
  return statuses;
}

const tableRows = (html: string) => rowsOf(html, 'people-table');

const names = (html: string) => tableRows(html).map((row) => row[0]);
const statusCells = (html: string) => Object.fromEntries(tableRows(html).map((row) => [row[0], row[4]]));

/** The flash message of a page, or null. */
function flash(html: string): string | null {
  return /<div class="status \w+" role="status"><p>([^<]*)<\/p><\/div>/.exec(html)?.[1]?.replace(/&#39;/g, "'") ?? null;
}

/** The ids of the "Approve selected" boxes, in the page's order. */
function boxes(html: string): string[] {
  return [...html.matchAll(/<input type="checkbox" id="select-[^"]+" name="ids" value="([^"]+)" form="approve-selected">/g)].map((match) => match[1]!);
}

function fieldError(html: string, id: string): string | null {
  return new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html)?.[1] ?? null;
}

/** POSTs the bulk form as a browser does: `ids` once per ticked box, in this order. */
function postBulk(browser: ConsoleBrowser, url: string, ids: string[], csrf = browser.csrf) {
  const body = new URLSearchParams();
  for (const id of ids) body.append('ids', id);
  if (csrf) body.append('_csrf', csrf);
  return app.inject({ method: 'POST', url, payload: body.toString(), headers: { ...form({}).headers, ...browser.headers } });
}

/** A POST without the `_csrf` field. */
function postWithoutCsrf(browser: ConsoleBrowser, url: string, fields: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, ...form(fields), headers: { ...form({}).headers, ...browser.headers } });
}

const peopleUrl = (session: SessionJson) => `/console/sessions/${session.id}/registrations`;

// ---------------------------------------------------------------------------------------------

t.test('dashboard and overview: requests awaiting approval and seats offered, no columns when there are none', async (t) => {
  const approvals = await sessionWith({ title: `Needs approval ${clock.now().getTime()}`, capacity: 5 });
  await requests(approvals, ['Dash One', 'Dash Two']);
  const offers = await sessionWith({ title: `Offers a seat ${clock.now().getTime()}`, approval: false, capacity: 1, waitlist: { enabled: true, mode: 'offer', offerMinutes: 120 } });
  const seated = await requests(offers, ['Seat Holder', 'Next In Line']);
  const cancel = await app.inject({ method: 'POST', url: `/api/v1/sessions/${offers.id}/registrations/${seated['Seat Holder']}/cancel`, headers: hostApi });
  t.equal(cancel.statusCode, 200);
  t.equal(await statusOf(seated['Next In Line']!), 'offered', 'the freed seat is offered');

  const dashboard = (await host.get('/console')).body;
  const rowOf = (session: SessionJson) => {
    const start = dashboard.indexOf(`href="/console/sessions/${session.id}"`);
    t.ok(start > 0, `${session.title} is listed`);
    return dashboard.slice(start, dashboard.indexOf('</tr>', start));
  };
  t.match(dashboard, /<th scope="col">Seats offered<\/th><th scope="col">Waitlisted<\/th><th scope="col">Awaiting approval<\/th>/, 'the columns, beside the waitlist');
  t.match(rowOf(approvals), new RegExp(`<td data-label="Awaiting approval"><a href="/console/sessions/${approvals.id}/registrations\\?status=pending">2<`), 'two requests, linked to them');
  t.match(rowOf(approvals), /<td data-label="Seats offered">0<\/td>/);
  t.match(rowOf(offers), /<td data-label="Seats offered">1<\/td>/, 'one seat on offer');
  t.match(rowOf(offers), /<td data-label="Awaiting approval">0<\/td>/);
  t.match(rowOf(offers), /value="1" aria-label="Seats taken or on offer: 1 of 1"/, 'the offered seat counts as taken');

  const calm = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Plain host'));
  await createSession(app, { authorization: `Bearer ${app.issueToken(calm.organizer).token}` }, { capacity: 3 });
  const plain = (await calm.get('/console')).body;
  t.match(plain, /<th scope="col">Waitlisted<\/th><\/tr>/, 'the table ends at Waitlisted');
  t.notMatch(plain, /Awaiting approval|Seats offered/, 'no approval or offer columns without requests or offers');

  const overview = (await host.get(`/console/sessions/${approvals.id}`)).body;
  t.match(overview, /<dt>Awaiting approval<\/dt><dd>2 <a href="[^"]+\/registrations\?status=pending">Review the requests<\/a><\/dd>/);
  t.match(overview, /<dt>Approval<\/dt><dd>Required/);
  const offerOverview = (await host.get(`/console/sessions/${offers.id}`)).body;
  t.match(offerOverview, /<dt>Seats offered<\/dt><dd>1 /);
  t.match(offerOverview, /<dt>A freed seat<\/dt><dd>Offered to the first person waiting, held for 2 hours<\/dd>/);
  t.notMatch(offerOverview, /<dt>Awaiting approval<\/dt>/, 'no approval count on a session without approval and requests');
});

t.test('filters: every status, the default shows the active ones; offered and expired rows show their times in the session zone', async (t) => {
  const session = await sessionWith({ waitlist: { enabled: true, mode: 'offer', offerMinutes: 60 } });
  const ids = await requests(session, ['Ana Cancels', 'Ben Seated', 'Cleo Lapses', 'Dan Offered', 'Eve Declined', 'Fay Pending', 'Gus Waits']);
  const actor = host.organizer;
  t.same((await app.services.registrations.approve(session.id, [ids['Ana Cancels']!, ids['Ben Seated']!, ids['Cleo Lapses']!, ids['Dan Offered']!], actor)).map((r) => r.outcome), [
    'confirmed',
    'confirmed',
    'waitlisted',
    'waitlisted',
  ]);
  await app.services.registrations.decline(session.id, ids['Eve Declined']!, null, actor);
  await app.services.registrations.cancelForSession(session.id, ids['Ana Cancels']!, actor);
  t.equal(await statusOf(ids['Cleo Lapses']!), 'offered');
  clock.advance(61 * MINUTE);
  // The expiry job of this one offer (the sweep would also end other tests' offers in the shared database).
  t.equal(await app.services.registrations.expireOffer(ids['Cleo Lapses']!), 'expired');
  await app.services.registrations.approve(session.id, [ids['Gus Waits']!], actor);
  t.same(await statusesOf(ids), {
    'Ana Cancels': 'cancelled',
    'Ben Seated': 'confirmed',
    'Cleo Lapses': 'expired',
    'Dan Offered': 'offered',
    'Eve Declined': 'declined',
    'Fay Pending': 'pending',
    'Gus Waits': 'waitlisted',
  });

  const page = async (status: string) => (await host.get(`${peopleUrl(session)}${status ? `?status=${status}` : ''}`)).body;
  const active = await page('');
  t.same(names(active), ['Ben Seated', 'Dan Offered', 'Fay Pending', 'Gus Waits'], 'the default: confirmed, waitlisted, awaiting approval and offered');
  t.match(active, /Confirmed 1 of 2 seats · Seats offered 1 · Waitlisted 1 · Awaiting approval 1 · Cancelled 1/);
  t.match(active, /<option value="" selected>Current registrations<\/option>/);
  t.match(active, /<caption>Confirmed, waitlisted, awaiting approval and offered, in order of registration<\/caption>/, 'the caption says what the default lists');
  t.same(names(await page('pending')), ['Fay Pending']);
  t.same(names(await page('offered')), ['Dan Offered']);
  t.same(names(await page('declined')), ['Eve Declined']);
  t.same(names(await page('expired')), ['Cleo Lapses']);
  t.same(names(await page('cancelled')), ['Ana Cancels']);
  t.same(names(await page('waitlisted')), ['Gus Waits']);
  const everyone = await page('all');
  t.same(names(everyone), Object.keys(ids), 'everyone, in order of registration');
  for (const [value, text] of [['pending', 'Awaiting approval'], ['offered', 'Seat offered'], ['declined', 'Declined'], ['expired', 'Offer expired']]) {
    t.match(everyone, new RegExp(`<option value="${value}">${text}</option>`), `the filter offers ${text}`);
  }

  const { rows } = await database.pool.query<{ id: string; offer_expires_at: Date; declined_at: Date | null }>(
    'SELECT id, offer_expires_at, declined_at FROM registrations WHERE id = ANY($1)',
    [[ids['Dan Offered'], ids['Cleo Lapses'], ids['Eve Declined']]],
  );
  const at = (id: string, column: 'offer_expires_at' | 'declined_at') => rows.find((row) => row.id === id)![column]!;
  const local = (instant: Date) => DateTime.fromJSDate(instant, { zone: ZONE }).toFormat('yyyy-MM-dd HH:mm');
  const deadline = at(ids['Dan Offered']!, 'offer_expires_at');
  t.equal(deadline.getTime(), clock.now().getTime() + 60 * MINUTE, 'the offer is held for the session\'s offer time');
  t.not(local(deadline), DateTime.fromJSDate(deadline, { zone: 'UTC' }).toFormat('yyyy-MM-dd HH:mm'), 'the zone tells apart');
  const cells = statusCells(everyone);
  t.equal(cells['Dan Offered'], `Seat offered until ${local(deadline)}`, 'an offered row shows its deadline in the session zone');
  t.equal(cells['Cleo Lapses'], `Offer expired ran out ${local(at(ids['Cleo Lapses']!, 'offer_expires_at'))}`, 'an expired row shows when it ran out');
  t.equal(cells['Eve Declined'], `Declined on ${local(at(ids['Eve Declined']!, 'declined_at'))}`);
  t.equal(cells['Fay Pending'], 'Awaiting approval');
  t.ok(everyone.includes(`<time datetime="${deadline.toISOString()}">`), 'the deadline as a machine-readable time');

  // Only a request has Approve and Decline; ended registrations have no Cancel.
  t.same(boxes(everyone), [ids['Fay Pending']], 'one box, for the one request');
  t.ok(everyone.includes(`aria-label="Approve Fay Pending"`));
  t.ok(everyone.includes(`href="${peopleUrl(session)}/${ids['Fay Pending']}/decline?status=all"`), 'Decline keeps the filter');
  t.notOk(everyone.includes(`aria-label="Cancel Fay Pending"`), 'a request is declined, not cancelled');
  for (const name of ['Eve Declined', 'Cleo Lapses', 'Ana Cancels']) t.notOk(everyone.includes(`aria-label="Cancel ${name}"`), `no Cancel for ${name}`);
  t.ok(everyone.includes(`aria-label="Cancel Dan Offered"`), 'an offer can be withdrawn');
  const withdraw = await host.get(`${peopleUrl(session)}/${ids['Dan Offered']}/cancel`);
  t.match(withdraw.body, /the seat on offer goes to the first person on the waitlist/);
});

t.test('approve one: a seat, else the waitlist, else a calm "full" on the same page', async (t) => {
  const session = await sessionWith({ capacity: 1 });
  const ids = await requests(session, ['Ana Reyes', 'Bo Lind']);
  const url = (name: string) => `${peopleUrl(session)}/${ids[name]}/approve?status=pending&sort=name`;

  const first = await host.post(url('Ana Reyes'), {});
  t.equal(first.statusCode, 303);
  t.equal(first.headers.location, `${peopleUrl(session)}?status=pending&sort=name&done=approved-confirmed&who=${ids['Ana Reyes']}`, 'back to the same filtered, sorted page');
  t.equal(await statusOf(ids['Ana Reyes']!), 'confirmed');
  const after = await host.get(first.headers.location as string);
  t.equal(flash(after.body), 'Ana Reyes is confirmed and is being e-mailed the confirmation with the calendar invite.');
  t.same(names(after.body), ['Bo Lind'], 'the filter still shows the requests left');
  t.equal((await notificationRows(database.pool, session.id, 'confirmation')).filter((row) => row.registration_id === ids['Ana Reyes']).length, 1, 'the confirmation e-mail is on its way');
  const { rows: audit } = await database.pool.query("SELECT actor_id, details FROM audit_log WHERE subject_id = $1 AND action = 'registration.approve'", [ids['Ana Reyes']]);
  t.same(audit.map((row) => [row.actor_id, row.details]), [[host.organizer.id, { sessionId: session.id, status: 'confirmed' }]], 'the organizer is the actor');

  const second = await host.post(url('Bo Lind'), {});
  t.equal(second.statusCode, 303);
  t.equal(await statusOf(ids['Bo Lind']!), 'waitlisted');
  t.equal(flash((await host.get(second.headers.location as string)).body), 'Bo Lind joins the waitlist (place 1) and is being e-mailed: the session has no free seat, or others were waiting first.');

  const again = await host.post(url('Ana Reyes'), {});
  t.equal(again.statusCode, 409, 'no longer pending');
  t.match(again.body, /<h1>People<\/h1>/, 'said on the people page, not an error page');
  t.equal(flash(again.body), 'Nothing changed for Ana Reyes: this registration is not waiting for approval.');
  t.equal(await statusOf(ids['Ana Reyes']!), 'confirmed');

  const closed = await sessionWith({ capacity: 1, waitlist: { enabled: false } });
  const full = await requests(closed, ['Cy Seat', 'Di Later']);
  t.equal((await host.post(`${peopleUrl(closed)}/${full['Cy Seat']}/approve`, {})).statusCode, 303);
  const refused = await host.post(`${peopleUrl(closed)}/${full['Di Later']}/approve?status=pending`, {});
  t.equal(refused.statusCode, 409);
  t.equal(flash(refused.body), 'Nothing changed for Di Later: the session is full and its waitlist is closed; raise the capacity first.');
  t.same(names(refused.body), ['Di Later'], 'the same filtered table, the request still there');
  t.equal(await statusOf(full['Di Later']!), 'pending');
});

t.test('decline: a confirmation page with an optional reason, then the e-mail with it', async (t) => {
  const session = await sessionWith({});
  const ids = await requests(session, ['Ana Reyes', 'Bo Quiet']);
  const declineUrl = `${peopleUrl(session)}/${ids['Ana Reyes']}/decline`;

  const confirm = await host.get(`${declineUrl}?status=pending`);
  t.equal(confirm.statusCode, 200);
  t.match(confirm.body, /<h1>Decline the request of Ana Reyes\?<\/h1>/);
  t.match(confirm.body, /<textarea id="f-reason" name="reason" rows="4" maxlength="2000"/);
  t.match(confirm.body, new RegExp(`<form method="post" action="${declineUrl}\\?status=pending" novalidate>`), 'the filter rides along');
  t.match(confirm.body, new RegExp(`href="${peopleUrl(session)}\\?status=pending">Keep it waiting</a>`));
  t.equal(await statusOf(ids['Ana Reyes']!), 'pending', 'the GET changed nothing');

  const tooLong = await host.post(declineUrl, { reason: 'x'.repeat(2001) });
  t.equal(tooLong.statusCode, 400);
  t.equal(fieldError(tooLong.body, 'f-reason'), 'Reason must be at most 2000 characters (it has 2001)');
  t.equal(await statusOf(ids['Ana Reyes']!), 'pending');

  const reason = 'This session is for city staff only;\r\nthe next public one is in March.';
  const declined = await host.post(`${declineUrl}?status=pending`, { reason });
  t.equal(declined.statusCode, 303);
  t.equal(declined.headers.location, `${peopleUrl(session)}?status=pending&done=declined&who=${ids['Ana Reyes']}`);
  t.equal(await statusOf(ids['Ana Reyes']!), 'declined');
  const after = await host.get(declined.headers.location as string);
  t.equal(flash(after.body), 'Ana Reyes is declined; they are e-mailed.');
  t.same(names(after.body), ['Bo Quiet']);
  const mails = (await notificationRows(database.pool, session.id, 'request_declined')).filter((row) => row.registration_id === ids['Ana Reyes']);
  t.equal(mails.length, 1, 'a request_declined e-mail in the outbox');
  t.equal(mails[0]!.payload.reason, 'This session is for city staff only;\nthe next public one is in March.', 'with the reason, line breaks as typed');
  const { rows: audit } = await database.pool.query("SELECT actor_id, details FROM audit_log WHERE subject_id = $1 AND action = 'registration.decline'", [ids['Ana Reyes']]);
  t.same(audit.map((row) => [row.actor_id, row.details]), [[host.organizer.id, { sessionId: session.id, reasonGiven: true }]]);

  const noReason = await host.post(`${peopleUrl(session)}/${ids['Bo Quiet']}/decline`, { reason: '   ' });
  t.equal(noReason.statusCode, 303);
  const quiet = (await notificationRows(database.pool, session.id, 'request_declined')).find((row) => row.registration_id === ids['Bo Quiet']);
  t.equal(quiet?.payload.reason ?? null, null, 'a blank reason is no reason');

  t.equal((await host.get(declineUrl)).statusCode, 409, 'declined already: nothing to confirm');
  const twice = await host.post(`${declineUrl}?status=all`, {});
  t.equal(twice.statusCode, 409);
  t.equal(flash(twice.body), 'Nothing changed for Ana Reyes: this registration is not waiting for approval.');
  t.equal((await notificationRows(database.pool, session.id, 'request_declined')).length, 2, 'no second e-mail');
});

t.test('approve selected: in the order of the boxes as posted; the flash counts the outcomes', async (t) => {
  const session = await sessionWith({ capacity: 2 });
  // Registered Cy first; the table sorted by name puts Al and Bo before Cy.
  const ids = await requests(session, ['Cy First', 'Al Second', 'Bo Third']);
  const byName = await host.get(`${peopleUrl(session)}?status=pending&sort=name`);
  t.same(names(byName.body), ['Al Second', 'Bo Third', 'Cy First']);
  const ticked = boxes(byName.body);
  t.same(ticked, [ids['Al Second'], ids['Bo Third'], ids['Cy First']], 'a box per request, in the table\'s order');
  t.match(byName.body, new RegExp(`<form id="approve-selected" method="post" action="${peopleUrl(session)}/approve\\?status=pending&amp;sort=name">`));
  t.match(byName.body, /<button type="submit">Approve selected<\/button>/);

  const res = await postBulk(host, `${peopleUrl(session)}/approve?status=pending&sort=name`, ticked);
  t.equal(res.statusCode, 303, res.body.slice(0, 300));
  t.equal(res.headers.location, `${peopleUrl(session)}?status=pending&sort=name&done=approved-selected&confirmed=2&waitlisted=1&full=0&skipped=0`);
  t.same(await statusesOf(ids), { 'Cy First': 'waitlisted', 'Al Second': 'confirmed', 'Bo Third': 'confirmed' }, 'the first two ticked take the seats');
  t.equal(flash((await host.get(res.headers.location as string)).body), 'Approved in the order of the table: 2 confirmed, 1 waitlisted; each is being e-mailed.');

  // The posted order, not the registration order, decides.
  const reversed = await sessionWith({ capacity: 1, waitlist: { enabled: false } });
  const others = await requests(reversed, ['Early Bird', 'Late Comer']);
  const outcome = await postBulk(host, `${peopleUrl(reversed)}/approve`, [others['Late Comer']!, others['Early Bird']!, ids['Cy First']!]);
  t.equal(outcome.statusCode, 303);
  t.same(await statusesOf(others), { 'Early Bird': 'pending', 'Late Comer': 'confirmed' });
  t.equal(await statusOf(ids['Cy First']!), 'waitlisted', 'a registration of another session is left alone');
  t.equal(
    flash((await host.get(outcome.headers.location as string)).body),
    'Approved in the order of the table: 1 confirmed; each is being e-mailed. 1 left awaiting approval because the session is full and its waitlist is closed. 1 no longer awaiting approval, so left as they were.',
  );

  // Refusals, each said on the page; nothing changes.
  const none = await postBulk(host, `${peopleUrl(reversed)}/approve?status=pending`, []);
  t.equal(none.statusCode, 400);
  t.equal(flash(none.body), 'Nobody was approved: tick the people to approve first.');
  t.same(names(none.body), ['Early Bird'], 'the same filtered table');
  const garbled = await postBulk(host, `${peopleUrl(reversed)}/approve`, ['not-an-id']);
  t.equal(garbled.statusCode, 400);
  t.equal(flash(garbled.body), 'The selection was not understood: reload the page and tick the people again.');
  const fresh = () => crypto.randomUUID();
  const tooMany = await postBulk(host, `${peopleUrl(reversed)}/approve`, [others['Early Bird']!, ...Array.from({ length: 500 }, fresh)]);
  t.equal(tooMany.statusCode, 400);
  t.equal(flash(tooMany.body), 'At most 500 people can be approved at once; 501 were ticked.');
  const wayTooMany = await postBulk(host, `${peopleUrl(reversed)}/approve`, [others['Early Bird']!, ...Array.from({ length: 600 }, fresh)]);
  t.equal(wayTooMany.statusCode, 400);
  t.equal(flash(wayTooMany.body), 'At most 500 people can be approved at once; 601 were ticked.');
  const overTheFormLimit = await postBulk(host, `${peopleUrl(reversed)}/approve`, Array.from({ length: 1200 }, fresh));
  t.equal(overTheFormLimit.statusCode, 400, 'a form over the field limit is refused whole, not cut short');
  t.match(overTheFormLimit.body, /The form has more than 1000 fields/);
  t.equal(await statusOf(others['Early Bird']!), 'pending', 'nothing approved by a refused form');

  // A full page of ticks (more than the app's usual 100 form fields) is taken whole.
  const big = await sessionWith({ capacity: null });
  // 120 requests through the HTTP API would meet its per-address limit; the service takes the same path behind it.
  for (let i = 0; i < 120; i += 1) await app.services.registrations.register(big.slug, { name: `Person ${i}`, email: uniqueEmail(`bulk${i}`), consent: true });
  const { rows: pending } = await database.pool.query<{ id: string }>("SELECT id FROM registrations WHERE session_id = $1 AND status = 'pending' ORDER BY registered_at, id", [big.id]);
  const many = pending.map((row) => row.id);
  t.equal(many.length, 120);
  const all = await postBulk(host, `${peopleUrl(big)}/approve`, many);
  t.equal(all.statusCode, 303);
  t.match(String(all.headers.location), /confirmed=120&waitlisted=0&full=0&skipped=0$/, 'every one of 120 approved');
});

t.test('session form: Require approval, the waitlist mode and the offer time, inline errors, the edit confirmation', async (t) => {
  const unescape = (text: string) => text.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  /** The fields a browser sends from the form posting to `action`. */
  const fieldsOf = (html: string, action: string): Record<string, string> => {
    const start = html.indexOf(`action="${action}"`);
    const body = html.slice(start, html.indexOf('</form>', start));
    const fields: Record<string, string> = {};
    for (const [tag] of body.matchAll(/<input\b[^>]*>/g)) {
      const name = /\sname="([^"]*)"/.exec(tag)?.[1];
      if (!name || (/type="(checkbox|radio)"/.test(tag) && !/\schecked\b/.test(tag))) continue;
      fields[name] = unescape(/\svalue="([^"]*)"/.exec(tag)?.[1] ?? 'on');
    }
    for (const match of body.matchAll(/<textarea\b[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/textarea>/g)) fields[match[1]!] = unescape(match[2]!);
    for (const match of body.matchAll(/<select\b[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
      fields[match[1]!] = unescape((/<option value="([^"]*)" selected>/.exec(match[2]!) ?? /<option value="([^"]*)"/.exec(match[2]!))?.[1] ?? '');
    }
    return fields;
  };
  const local = (days: number, hour: number) =>
    DateTime.fromJSDate(new Date(clock.now().getTime() + days * 86_400_000), { zone: 'America/Chicago' }).set({ hour, minute: 0 }).toFormat("yyyy-MM-dd'T'HH:mm");
  const session = async (id: string) => (await database.pool.query('SELECT approval, waitlist_mode, offer_minutes FROM sessions WHERE id = $1', [id])).rows[0];

  const blank = await host.get('/console/sessions/new');
  t.match(blank.body, /<label for="f-approval">Require approval<\/label>/);
  t.match(blank.body, /<option value="auto" selected>Give a freed seat to the next person<\/option>\s*<option value="offer">Offer a freed seat for a limited time<\/option>/);
  t.match(blank.body, /<label for="f-offerFor">Hold an offered seat for<\/label>/);
  const filled = {
    ...fieldsOf(blank.body, '/console/sessions/new'),
    title: 'Approval from the console',
    startsAt: local(20, 14),
    endsAt: local(20, 15),
    timezone: 'America/Chicago',
    capacity: '10',
    approval: 'on',
    waitlistMode: 'offer',
    offerFor: '2',
    offerUnit: 'hours',
  };

  const wrong = await host.post('/console/sessions/new', { ...filled, offerFor: '169' });
  t.equal(wrong.statusCode, 400);
  t.equal(fieldError(wrong.body, 'f-offerFor'), 'Hold an offered seat for 1 minute to 168 hours (7 days)');
  t.match(wrong.body, /<a href="#f-offerFor">Hold an offered seat for 1 minute/, 'in the summary, linked to the field');
  t.match(wrong.body, /<option value="offer" selected>/, 'what was chosen is kept');
  const notNumber = await host.post('/console/sessions/new', { ...filled, offerFor: '1.5' });
  t.equal(fieldError(notNumber.body, 'f-offerFor'), 'Hold an offered seat for a whole number of hours');

  const created = await host.post('/console/sessions/new', filled);
  t.equal(created.statusCode, 303, created.body.slice(0, 500));
  const id = /\/console\/sessions\/([0-9a-f-]{36})\?done=created/.exec(String(created.headers.location))![1]!;
  t.same(await session(id), { approval: true, waitlist_mode: 'offer', offer_minutes: 120 });
  const api = await app.inject({ method: 'GET', url: `/api/v1/sessions/${id}`, headers: hostApi });
  t.match(api.json(), { approval: true, waitlist: { mode: 'offer', offerMinutes: 120 } }, 'the API sees the same session');

  const editUrl = `/console/sessions/${id}/edit`;
  const edit = await host.get(editUrl);
  t.match(edit.body, /<input type="checkbox" id="f-approval" name="approval" value="on" checked/);
  t.match(edit.body, /<option value="offer" selected>/);
  t.match(edit.body, /id="f-offerFor" name="offerFor" value="2"/);
  const current = fieldsOf(edit.body, editUrl);
  const same = await host.post(editUrl, current);
  t.equal(same.headers.location, `/console/sessions/${id}?done=unchanged`, 'the form reads back what it shows');

  const { approval: _approval, ...withoutApproval } = current;
  const preview = await host.post(editUrl, { ...withoutApproval, offerFor: '90', offerUnit: 'minutes' });
  t.equal(preview.statusCode, 200);
  t.match(preview.body, /<li>Approval: required → not required<\/li>/);
  t.match(preview.body, /<li>A freed seat: offered for 2 hours → offered for 90 minutes<\/li>/);
  t.same(await session(id), { approval: true, waitlist_mode: 'offer', offer_minutes: 120 }, 'nothing applied before the confirmation');
  const applied = await host.post(editUrl, { ...fieldsOf(preview.body, editUrl), confirm: '1' });
  t.equal(applied.statusCode, 303);
  t.equal(applied.headers.location, `/console/sessions/${id}?done=updated`);
  t.same(await session(id), { approval: false, waitlist_mode: 'offer', offer_minutes: 90 });
  t.match((await host.get(editUrl)).body, /id="f-offerFor" name="offerFor" value="90"/, 'minutes that are no whole hours are shown in minutes');

  const back = await host.post(editUrl, { ...current, waitlistMode: 'auto' });
  t.match(back.body, /<li>A freed seat: offered for 90 minutes → given to the next person<\/li>/);
});

t.test('CSRF missing: refused, nothing changes; another organizer\'s session: 404 everywhere', async (t) => {
  const session = await sessionWith({});
  const ids = await requests(session, ['Kept Pending']);
  const id = ids['Kept Pending']!;
  const base = peopleUrl(session);

  t.equal((await postWithoutCsrf(host, `${base}/${id}/approve`)).statusCode, 403, 'approve');
  t.equal((await postWithoutCsrf(host, `${base}/${id}/decline`, { reason: 'x' })).statusCode, 403, 'decline');
  t.equal((await postBulk(host, `${base}/approve`, [id], '')).statusCode, 403, 'approve selected');
  t.equal((await postBulk(host, `${base}/approve`, [id], 'wrong-token')).statusCode, 403, 'a wrong token');
  t.equal((await host.post(`${base}/${id}/approve`, {}, { origin: 'https://evil.example' })).statusCode, 403, 'a foreign Origin');

  for (const url of [base, `${base}/${id}/decline`]) {
    const res = await stranger.get(url);
    t.equal(res.statusCode, 404, `GET ${url}`);
    t.notOk(res.body.includes('Kept Pending'), 'nothing of the person');
  }
  t.equal((await stranger.post(`${base}/${id}/approve`, {})).statusCode, 404, 'approve');
  t.equal((await stranger.post(`${base}/${id}/decline`, { reason: 'no' })).statusCode, 404, 'decline');
  t.equal((await postBulk(stranger, `${base}/approve`, [id])).statusCode, 404, 'approve selected');
  t.equal(await statusOf(id), 'pending', 'nothing changed');
  t.equal((await notificationRows(database.pool, session.id)).filter((row) => row.kind !== 'request_received').length, 0, 'nobody was e-mailed');

  // A registration of another session through this session's address: not found either.
  const other = await sessionWith({});
  const foreign = await requests(other, ['Elsewhere']);
  t.equal((await host.post(`${base}/${foreign['Elsewhere']}/approve`, {})).statusCode, 404);
  t.equal((await host.get(`${base}/${foreign['Elsewhere']}/decline`)).statusCode, 404);
  t.equal(await statusOf(foreign['Elsewhere']!), 'pending');
});
