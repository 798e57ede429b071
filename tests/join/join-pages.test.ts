import t from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail } from '../helpers/app.js';
import { createSession, registered, registeredAs, registrationId, type SessionJson } from '../helpers/registrations.js';

/**
 * The pages of a join link that does not open the meeting now (issue #18, "join-link pages are
 * dead ends"): the session's time (local-first markup), a countdown to the window with a plain
 * "Join" link, how to join, links to the manage page, the calendar and the organizer. The
 * unknown-link page reveals nothing. Statuses and headers are those of tests/join/join-links.
 */

const MINUTE = 60_000;
const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock });
const { pool } = database;
const owner = await signIn(app);
const JOIN_URL = 'https://us02web.zoom.us/j/8123456789?pwd=s3cret';
const CONTACT = { name: 'Programme team', email: 'programs@example.org' };

async function tokensOf(session: SessionJson, email: string): Promise<{ manage: string; join: string }> {
  const id = await registrationId(pool, session.id, email);
  return { manage: app.services.tokens.derive('manage', id, 0), join: app.services.tokens.derive('join', id, 0) };
}

const click = (token: string) => app.inject({ method: 'GET', url: `/j/${token}` });
const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');

t.test('not open yet: the time, a countdown, a plain Join link, how to join and where to go', async (t) => {
  clock.set(new Date());
  const session = await createSession(app, owner.headers, { joinUrl: JOIN_URL, joinInstructions: 'Passcode 4321', contact: CONTACT }, { daysAhead: 2 });
  const email = uniqueEmail('ana');
  await registered(app, session.slug, { name: 'Ana', email });
  const tokens = await tokensOf(session, email);

  const res = await click(tokens.join);
  t.equal(res.statusCode, 403);
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.match(String(res.headers['cache-control']), /no-store/);
  const body = res.body;
  const text = textOf(body);
  t.match(body, '<h1>The meeting is not open yet</h1>');
  t.match(text, `Your join link: ${session.title}`, 'the session named');
  t.match(body, `<p class="when" data-starts="${session.startsAt}" data-ends="${session.endsAt}" data-zone="America/Chicago">`, 'its time, local-first markup');

  const opensAt = Date.parse(session.startsAt) - 15 * MINUTE;
  t.match(body, `The link opens at <time class="local-instant" datetime="${new Date(opensAt).toISOString()}" data-zone="America/Chicago">`, 'the opening time');
  const countdown = /<p class="countdown" data-countdown data-seconds="(\d+)" data-href="([^"]+)" role="timer">Opens in <span class="countdown-left">([^<]+)<\/span>/.exec(body);
  t.ok(countdown, 'the countdown markup');
  t.equal(Number(countdown?.[1]), Math.ceil((opensAt - clock.now().getTime()) / 1000), 'seconds left, by the server clock');
  t.equal(countdown?.[2], `/j/${tokens.join}`, 'opens this same link at zero');
  t.match(countdown?.[3], /^1 day, \d+ hours?$|^\d+ days?(, \d+ hours?)?$/, 'the time left in words');
  t.match(body, `<a class="button" href="/j/${tokens.join}">Join</a>`, 'a plain Join link without the script');

  t.match(text, 'How to join');
  t.match(text, 'Online on Zoom');
  t.match(text, 'Passcode: 4321', 'the passcode, labelled');
  t.match(text, "This link is yours: please don't forward it.");
  t.match(body, `<a href="/m/${tokens.manage}">Manage your registration</a>`, 'the manage page');
  t.match(body, `href="/api/v1/registrations/${tokens.manage}/invite.ics" download="invite.ics"`, 'the calendar');
  t.match(body, `<a href="mailto:${CONTACT.email}">${CONTACT.email}</a>`, 'the organizer');
  t.notMatch(body, /zoom\.us|s3cret/, 'never the meeting URL');

  // The manage link from the join page is the same person's page.
  const manage = await app.inject({ method: 'GET', url: `/m/${tokens.manage}` });
  t.equal(manage.statusCode, 200);
  t.match(manage.body, '<h2>You are registered</h2>');

  // Inside the window the same link leads to the meeting.
  clock.set(new Date(opensAt));
  const open = await click(tokens.join);
  t.equal(open.statusCode, 302);
  t.equal(open.headers.location, JOIN_URL);
  clock.set(new Date());
});

t.test('the unknown link reveals nothing; other refusals say why and link to the manage page', async (t) => {
  clock.set(new Date());
  const unknown = await click(app.services.tokens.derive('join', crypto.randomUUID(), 0));
  t.equal(unknown.statusCode, 404);
  t.match(unknown.body, '<h1>Link not found</h1>');
  t.notMatch(unknown.body, /\/m\/|mailto:|class="when"|data-countdown|How to join/, 'no session, no links, no contact');

  const session = await createSession(app, owner.headers, { joinUrl: JOIN_URL, joinInstructions: 'Passcode 4321', capacity: 1, waitlist: { enabled: true, limit: null }, contact: CONTACT });
  const seated = uniqueEmail('seated');
  const waiting = uniqueEmail('waiting');
  await registered(app, session.slug, { name: 'Seated', email: seated });
  t.equal(await registeredAs(app, pool, session, { name: 'Waiting', email: waiting }), 'waitlisted');
  const waitTokens = await tokensOf(session, waiting);
  const wait = await click(waitTokens.join);
  t.equal(wait.statusCode, 403);
  t.match(wait.body, '<h1>You are on the waitlist</h1>');
  t.match(wait.body, `href="/m/${waitTokens.manage}"`, 'the manage page');
  t.notMatch(wait.body, /Passcode|invite\.ics|data-countdown/, 'no passcode, invite or countdown while waiting');

  const seatedTokens = await tokensOf(session, seated);
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: owner.headers, payload: { reason: 'The speaker is ill' } });
  t.equal(cancelled.statusCode, 200, cancelled.body);
  const gone = await click(seatedTokens.join);
  t.equal(gone.statusCode, 410);
  t.match(gone.body, '<h1>This session has been cancelled</h1>');
  t.match(textOf(gone.body), 'Their reason: The speaker is ill');
  t.match(gone.body, `href="/m/${seatedTokens.manage}"`);
  t.match(gone.body, `mailto:${CONTACT.email}`);
  t.notMatch(gone.body, /Passcode|data-countdown|zoom\.us/);
});
