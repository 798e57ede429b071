import t, { type Test } from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail } from '../helpers/app.js';
import { createSession, registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import { emptySessions, expectPage, ownDatabaseUrl, postForm } from './support.js';

/**
 * The attendee's side of approval and waitlist offers (#19): the manage page of a request
 * (pending), a held seat (offered, with its deadline in the session's zone), a declined request
 * and a lapsed offer; accepting and declining a held seat from the page (POSTs: a GET of the page
 * or of the accept address changes nothing); and the public pages of a session with approval.
 */

const MINUTE = 60_000;
const ZONE = 'America/Chicago';
const clock = manualClock();
// A database of its own: the clock moves past offer deadlines, and nothing written then may lead other files' lists.
const { app, database } = await buildTestApp(t, { clock, env: { DATABASE_URL: ownDatabaseUrl('offers_manage') } });
const { pool } = database;
await emptySessions(pool);
const owner = await signIn(app);

const page = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });
const post = (url: string) => app.inject({ method: 'POST', url });

/** The page's text without tags, spaces collapsed: what a reader sees before the script runs. */
const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');

interface Person {
  email: string;
  id: string;
  manage: string;
}

async function person(session: SessionJson, name: string): Promise<Person> {
  const email = uniqueEmail(name.toLowerCase());
  await registered(app, session.slug, { name, email });
  const id = await registrationId(pool, session.id, email);
  return { email, id, manage: app.services.tokens.derive('manage', id, 0) };
}

/** One seat, offers held an hour, three days ahead: Ana has the seat, Ben and Cy wait. */
async function offerSession(): Promise<{ session: SessionJson; ana: Person; ben: Person; cy: Person }> {
  const session = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: true, mode: 'offer', offerMinutes: 60 } }, { daysAhead: 3 });
  const ana = await person(session, 'Ana');
  const ben = await person(session, 'Ben');
  const cy = await person(session, 'Cy');
  return { session, ana, ben, cy };
}

async function rowOf(id: string): Promise<{ status: string; offer_expires_at: Date | null; updated_at: Date }> {
  const { rows } = await pool.query('SELECT status::text, offer_expires_at, updated_at FROM registrations WHERE id = $1', [id]);
  return rows[0];
}

/** What a post may change: the session's registrations and counters, and its outbox. */
async function stateOf(sessionId: string): Promise<unknown> {
  const registrations = await pool.query(
    'SELECT id, status::text, updated_at, offer_expires_at, confirmed_at FROM registrations WHERE session_id = $1 ORDER BY id',
    [sessionId],
  );
  const counters = await pool.query('SELECT confirmed_count, waitlisted_count, pending_count, offered_count, cancelled_count FROM sessions WHERE id = $1', [
    sessionId,
  ]);
  const notifications = await pool.query('SELECT count(*)::int AS n FROM notifications WHERE session_id = $1', [sessionId]);
  return { registrations: registrations.rows, counters: counters.rows[0], notifications: notifications.rows[0].n };
}

/** "1:45 PM", as Intl writes a time in the session's zone (not luxon, which the page uses). */
function clockTime(at: Date): string {
  return new Intl.DateTimeFormat('en-US', { timeZone: ZONE, hour: 'numeric', minute: '2-digit' }).format(at).replace(/\u202f/g, ' ');
}

/** Nothing of a seat: no join link, no invite, no calendar buttons, no feed. */
function expectNoSeat(t: Test, body: string, label: string): void {
  t.notMatch(body, /\/j\//, `${label}: no join link`);
  t.notMatch(body, /invite\.ics/, `${label}: no invite`);
  t.notMatch(body, /calendar-buttons|webcal:|\/feeds\/attendees\//, `${label}: no calendar buttons or feed`);
  t.notMatch(body, /How to join/, `${label}: no join block`);
}

t.beforeEach(() => clock.set(new Date()));

t.test('pending: waiting for approval, and the request withdrawn through the cancel step', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 5, approval: true }, { daysAhead: 3 });
  const pia = await person(session, 'Pia');
  t.equal((await rowOf(pia.id)).status, 'pending');

  const body = expectPage(t, await page(`/m/${pia.manage}`), 200, 'manage, pending', { token: true });
  const text = textOf(body);
  t.match(text, "Your request is waiting for the organizers' approval");
  t.match(body, `<a class="button secondary" href="/m/${pia.manage}/cancel">Withdraw my request</a>`, 'withdraw: a link to the cancel step');
  t.notMatch(body, /<form method="post"/, 'nothing acts from the page itself');
  t.match(text, 'anyone with it can withdraw your request');
  expectNoSeat(t, body, 'pending');

  const ask = expectPage(t, await page(`/m/${pia.manage}/cancel`), 200, 'withdraw step', { token: true });
  t.match(ask, '<h1>Withdraw your request?</h1>');
  t.match(ask, `<form method="post" action="/m/${pia.manage}/cancel">`);
  t.match(ask, '<button type="submit" class="danger">Yes, withdraw my request</button>');
  t.equal((await rowOf(pia.id)).status, 'pending', 'the GET of the step changes nothing');

  const withdrawn = await post(`/m/${pia.manage}/cancel`);
  t.equal(withdrawn.statusCode, 303);
  t.equal(withdrawn.headers.location, `/m/${pia.manage}`);
  t.equal((await rowOf(pia.id)).status, 'cancelled');
  const { rows } = await pool.query('SELECT pending_count FROM sessions WHERE id = $1', [session.id]);
  t.equal(rows[0].pending_count, 0, 'the request no longer counts');
  t.match(expectPage(t, await page(`/m/${pia.manage}`), 200, 'after withdrawing', { token: true }), '<h2>Your registration is cancelled</h2>');
});

t.test('offered: the seat held until the deadline in the session zone; Accept (a POST) confirms, with the invite', async (t) => {
  const { session, ana, ben } = await offerSession();
  t.equal((await post(`/m/${ana.manage}/cancel`)).statusCode, 303, 'Ana cancels');
  const offer = await rowOf(ben.id);
  t.equal(offer.status, 'offered', 'Ben is offered her seat');
  t.equal(offer.offer_expires_at!.getTime(), clock.now().getTime() + 60 * MINUTE, 'for an hour');
  const deadline = offer.offer_expires_at!;

  const body = expectPage(t, await page(`/m/${ben.manage}`), 200, 'manage, offered', { token: true });
  const text = textOf(body);
  t.match(
    body,
    `<h2>A seat is held for you until <time class="local-instant" datetime="${deadline.toISOString()}" data-zone="${ZONE}">`,
    'the deadline as a local instant (the script adds the reader\'s own time)',
  );
  t.match(text, new RegExp(`A seat is held for you until \\w+day, \\w+ \\d+, \\d{4}, ${clockTime(deadline)} C[SD]T in Chicago`), 'in the session zone, named');
  t.match(body, `<form method="post" action="/m/${ben.manage}/accept">`, 'Accept is a form that posts');
  t.match(body, '<button type="submit">Accept the seat</button>');
  t.match(body, `<a class="button secondary" href="/m/${ben.manage}/cancel">Decline the seat</a>`, 'Decline leads to the cancel step');
  t.match(text, 'anyone with it can accept or decline the seat held for you');
  expectNoSeat(t, body, 'offered');

  const before = await stateOf(session.id);
  const reloaded = await page(`/m/${ben.manage}/accept`);
  t.equal(reloaded.statusCode, 303, 'a GET of the accept address leads to the page');
  t.equal(reloaded.headers.location, `/m/${ben.manage}`);
  t.same(await stateOf(session.id), before, 'and accepts nothing');

  const accepted = await post(`/m/${ben.manage}/accept`);
  t.equal(accepted.statusCode, 303);
  t.equal(accepted.headers.location, `/m/${ben.manage}`);
  t.equal(accepted.headers['cache-control'], 'no-store');
  t.equal((await rowOf(ben.id)).status, 'confirmed');
  const { rows: counters } = await pool.query('SELECT confirmed_count, offered_count FROM sessions WHERE id = $1', [session.id]);
  t.same(counters[0], { confirmed_count: 1, offered_count: 0 });
  const { rows: mails } = await pool.query(`SELECT count(*)::int AS n FROM notifications WHERE registration_id = $1 AND kind = 'confirmation'`, [ben.id]);
  t.equal(mails[0].n, 1, 'the confirmation (with the invite) is on its way');

  const confirmed = expectPage(t, await page(`/m/${ben.manage}`), 200, 'manage, after accepting', { token: true });
  t.match(confirmed, '<h2>You are registered</h2>');
  t.match(confirmed, 'class="calendar-buttons"', 'add to calendar');
  t.match(confirmed, `href="/api/v1/registrations/${ben.manage}/invite.ics"`, 'the personal invite');
  t.notMatch(confirmed, /Accept the seat|\/accept"/, 'nothing more to accept');
  t.match(confirmed, '>Cancel my registration</a>');

  const twice = await post(`/m/${ben.manage}/accept`);
  t.equal(twice.statusCode, 303, 'a second click finds the seat taken by the first: back to the page');
  t.equal((await rowOf(ben.id)).status, 'confirmed');
});

t.test('accept after the deadline: the calm expired message, and nothing changes', async (t) => {
  const { session, ana, ben } = await offerSession();
  t.equal((await post(`/m/${ana.manage}/cancel`)).statusCode, 303);
  const deadline = (await rowOf(ben.id)).offer_expires_at!;
  clock.set(new Date(deadline.getTime() + MINUTE));
  const before = await stateOf(session.id);

  const page409 = expectPage(t, await post(`/m/${ben.manage}/accept`), 409, 'accept too late', { token: true });
  const text = textOf(page409);
  t.match(text, 'The time to accept the seat had already passed, so we could not give it to you.', 'the calm message');
  t.match(page409, '<h2>The seat held for you was not accepted in time</h2>');
  t.notMatch(page409, /Accept the seat|Decline the seat|\/cancel"/, 'no actions');
  expectNoSeat(t, page409, 'too late');
  t.same(await stateOf(session.id), before, 'the refused accept changed nothing');

  // Before the expiry job has run, the page already goes by the deadline.
  const shown = expectPage(t, await page(`/m/${ben.manage}`), 200, 'manage, past the deadline', { token: true });
  t.match(shown, '<h2>The seat held for you was not accepted in time</h2>');
  const step = await page(`/m/${ben.manage}/cancel`);
  t.equal(step.statusCode, 303, 'nothing to decline any more: the cancel step leads back');
  t.same(await stateOf(session.id), before, 'and the GETs changed nothing either');
});

t.test('expired and declined: what happened, without actions, join links or invites', async (t) => {
  const { session, ana, ben, cy } = await offerSession();
  t.equal((await post(`/m/${ana.manage}/cancel`)).statusCode, 303);
  clock.set(new Date((await rowOf(ben.id)).offer_expires_at!.getTime() + MINUTE));
  t.equal(await app.services.registrations.expireOffer(ben.id), 'expired', "the expiry job ends Ben's offer");
  t.equal((await rowOf(ben.id)).status, 'expired');
  t.equal((await rowOf(cy.id)).status, 'offered', 'the seat goes on to Cy');

  const expired = expectPage(t, await page(`/m/${ben.manage}`), 200, 'manage, expired', { token: true });
  t.match(expired, '<h2>The seat held for you was not accepted in time</h2>');
  t.notMatch(expired, /<form|\/cancel"|\/accept"|Register again/, 'no actions');
  t.notMatch(textOf(expired), /anyone with it can/, 'no warning: nothing to do with the link');
  expectNoSeat(t, expired, 'expired');
  t.match(expired, `<a href="/s/${session.slug}">See the session page</a>`);

  const approval = await createSession(app, owner.headers, { capacity: 5, approval: true }, { daysAhead: 3 });
  const dan = await person(approval, 'Dan');
  const declined = await app.inject({
    method: 'POST',
    url: `/api/v1/sessions/${approval.id}/registrations/${dan.id}/decline`,
    headers: owner.headers,
    payload: { reason: 'Only for council members' },
  });
  t.equal(declined.statusCode, 200, declined.body);
  const body = expectPage(t, await page(`/m/${dan.manage}`), 200, 'manage, declined', { token: true });
  t.match(body, '<h2>The organizers could not approve your request</h2>');
  t.notMatch(body, /<form|\/cancel"|\/accept"|Register again/, 'no actions');
  t.notMatch(body, 'Only for council members', 'the reason went by e-mail only');
  expectNoSeat(t, body, 'declined');
  t.equal((await page(`/m/${dan.manage}/cancel`)).statusCode, 303, 'no cancel step');
});

t.test('declining the held seat (the cancel step) offers it to the next person', async (t) => {
  const { session, ana, ben, cy } = await offerSession();
  t.equal((await post(`/m/${ana.manage}/cancel`)).statusCode, 303);
  t.equal((await rowOf(ben.id)).status, 'offered');

  const ask = expectPage(t, await page(`/m/${ben.manage}/cancel`), 200, 'decline step', { token: true });
  t.match(ask, '<h1>Decline the seat?</h1>');
  t.match(textOf(ask), 'The seat held for you will go to the next person on the waitlist', 'the confirmation says where the seat goes');
  t.match(ask, `<form method="post" action="/m/${ben.manage}/cancel">`);
  t.match(ask, '<button type="submit" class="danger">Yes, decline the seat</button>');
  t.match(ask, `<a class="button secondary" href="/m/${ben.manage}">No, go back</a>`);
  t.equal((await rowOf(ben.id)).status, 'offered', 'the GET of the step changes nothing');

  clock.advance(5 * MINUTE);
  const declined = await post(`/m/${ben.manage}/cancel`);
  t.equal(declined.statusCode, 303);
  t.equal((await rowOf(ben.id)).status, 'cancelled', 'Ben declined');
  const cyOffer = await rowOf(cy.id);
  t.equal(cyOffer.status, 'offered', 'Cy is offered the seat');
  t.equal(cyOffer.offer_expires_at!.getTime(), clock.now().getTime() + 60 * MINUTE, 'held an hour from the decline');
  const { rows } = await pool.query('SELECT confirmed_count, waitlisted_count, offered_count FROM sessions WHERE id = $1', [session.id]);
  t.same(rows[0], { confirmed_count: 0, waitlisted_count: 0, offered_count: 1 }, 'one seat, held for Cy');
  t.match(expectPage(t, await page(`/m/${cy.manage}`), 200, "Cy's page", { token: true }), '<h2>A seat is held for you until <time');
});

t.test('the waitlist in offer mode says that a freed seat is held, not given', async (t) => {
  const { session, cy } = await offerSession();
  const waiting = textOf(expectPage(t, await page(`/m/${cy.manage}`), 200, 'manage, waitlisted (offer mode)', { token: true }));
  t.match(waiting, 'You are number 2. If a seat opens up, we hold it for you for 1 hour and e-mail you: accept it on this page to take it.');
  const sessionPage = textOf(expectPage(t, await page(`/s/${session.slug}`), 200, 'session page, full'));
  t.match(sessionPage, 'All seats are taken. You can join the waitlist: if a seat opens up, we e-mail you and hold it for you for 1 hour.');
});

t.test('public pages with approval: "Request a place", the same confirmation for every address, no counts of requests or offers', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 3, approval: true, waitlist: { enabled: true } }, { daysAhead: 3 });
  await person(session, 'Quinn');
  await person(session, 'Ray');

  for (const mode of ['s', 'embed'] as const) {
    const frameAncestors = mode === 'embed' ? "'none'" : undefined;
    const body = expectPage(t, await page(`/${mode}/${session.slug}`), 200, `/${mode} page`, { frameAncestors });
    t.match(body, '<button type="submit">Request a place</button>', `/${mode}: the button asks`);
    t.notMatch(body, /<button type="submit">(Register|Join the waitlist)<\/button>/);
    t.match(textOf(body), 'Registration is open: 3 seats left. The organizers approve each request.', `/${mode}: requests hold no seat`);
    t.notMatch(textOf(body), /pending|\b2 (request|people|person)|requests? waiting/i, `/${mode}: no count of the requests`);
  }
  t.match(textOf(expectPage(t, await page(`/s/${session.slug}`), 200, 'session page')), 'Request a place The organizers approve each request.');

  const email = uniqueEmail('Sal');
  const answers: string[] = [];
  for (const attempt of ['new address', 'known address']) {
    const res = await postForm(app, `/s/${session.slug}/register`, { name: 'Sal', email, consent: 'on' });
    t.equal(res.statusCode, 303, attempt);
    t.equal(res.headers.location, `/s/${session.slug}/registered`);
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    const done = expectPage(t, await page(String(res.headers.location), { cookie }), 200, `confirmation, ${attempt}`);
    t.match(done, '<h1>Your request is sent: check your inbox</h1>');
    t.match(done, '<title>Your request is sent: check your inbox');
    t.match(textOf(done), 'We have received your request for');
    answers.push(done);
  }
  t.equal(answers[1], answers[0], 'the page cannot tell a new address from a known one');
  t.equal((await rowOf(await registrationId(pool, session.id, email))).status, 'pending');

  // Every seat held: one confirmed, two offered (a session without approval, offer mode, capacity 3).
  const held = await createSession(app, owner.headers, { capacity: 3, waitlist: { enabled: true, mode: 'offer', offerMinutes: 60 } }, { daysAhead: 3 });
  const seated = [await person(held, 'S1'), await person(held, 'S2'), await person(held, 'S3')];
  await person(held, 'W1');
  await person(held, 'W2');
  for (const gone of seated.slice(0, 2)) t.equal((await post(`/m/${gone.manage}/cancel`)).statusCode, 303);
  const { rows } = await pool.query('SELECT confirmed_count, offered_count FROM sessions WHERE id = $1', [held.id]);
  t.same(rows[0], { confirmed_count: 1, offered_count: 2 });
  const full = textOf(expectPage(t, await page(`/s/${held.slug}`), 200, 'session page, seats held by offers'));
  t.match(full, 'All seats are taken.', 'a held seat is taken');
  t.notMatch(full, /offer(ed)?\b|held for|\b2 seats/i, 'nothing about the offers');
});
