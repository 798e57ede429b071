import t from 'tap';
import { buildTestApp, manualClock, sessionBody, uniqueEmail } from '../helpers/app.js';
import { registered } from '../helpers/registrations.js';
import { consoleSignIn, makeOrganizer } from './support.js';

const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock });
const HOUR = 3_600_000;

/** The section of the dashboard under a group's heading. */
function group(html: string, id: 'upcoming' | 'drafts' | 'past'): string {
  const start = html.indexOf(`<section aria-labelledby="${id}-title">`);
  if (start < 0) throw new Error(`no ${id} group`);
  return html.slice(start, html.indexOf('</section>', start));
}

t.test('the dashboard: the caller hosts these sessions, in three groups, with counts and a seats bar', async (t) => {
  const organizer = await makeOrganizer(app, 'organizer', 'Programme Officer');
  const other = await makeOrganizer(app);
  const actor = { id: organizer.id, name: organizer.name, email: organizer.email };
  const start = new Date(clock.now().getTime() + 10 * 24 * HOUR);
  start.setUTCMinutes(0, 0, 0);
  const upcoming = await app.services.sessions.create(
    {
      ...sessionBody({ title: 'December training <b>', capacity: 2, waitlist: { enabled: true } }),
      startsAt: start.toISOString(),
      endsAt: new Date(start.getTime() + 90 * 60_000).toISOString(),
    } as never,
    actor,
  );
  await app.services.sessions.publish(upcoming.id, actor);
  for (let i = 0; i < 3; i += 1) await registered(app, upcoming.slug, { name: `Person ${i}`, email: uniqueEmail('dash') });
  const draft = await app.services.sessions.create(sessionBody({ title: 'A draft for later', capacity: null }) as never, actor);
  const soon = new Date(clock.now().getTime() + HOUR);
  const past = await app.services.sessions.create(
    { ...sessionBody({ title: 'Already over' }), startsAt: soon.toISOString(), endsAt: new Date(soon.getTime() + HOUR).toISOString() } as never,
    actor,
  );
  await app.services.sessions.publish(past.id, actor);
  const cancelled = await app.services.sessions.create(sessionBody({ title: 'Called off' }) as never, actor);
  await app.services.sessions.publish(cancelled.id, actor);
  await app.services.sessions.cancel(cancelled.id, 'Weather', actor);
  // Starting soon, so that it is among the first an admin sees in a database shared with other tests.
  const foreign = await app.services.sessions.create(
    { ...sessionBody({ title: `Not yours ${other.id}` }), startsAt: new Date(soon.getTime() + 3 * HOUR).toISOString(), endsAt: new Date(soon.getTime() + 4 * HOUR).toISOString() } as never,
    { id: other.id, name: other.name, email: other.email },
  );
  clock.advance(3 * HOUR);

  const browser = await consoleSignIn(app, organizer);
  const res = await browser.get('/console');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers['x-frame-options'], 'DENY');
  const html = res.body;
  t.match(html, /<h1>Sessions<\/h1>/);
  t.match(html, /<a class="button" href="\/console\/sessions\/new">New session<\/a>/);
  t.match(html, /Signed in as <\/span>Programme Officer/, 'the organizer is named');
  t.match(html, /<form method="post" action="\/console\/logout" class="signout">\s*<input type="hidden" name="_csrf" value="[^"]+">\s*<button type="submit" class="link-button">Sign out<\/button>/, 'Sign out is a POST form');
  t.match(html, /<a href="\/console" aria-current="page">Sessions<\/a>[\s\S]*<a href="\/console\/account">Account<\/a>/, 'nav');
  t.notMatch(html, /Organizers|Audit/, 'no links to pages that do not exist yet');

  const up = group(html, 'upcoming');
  t.match(up, `href="/console/sessions/${upcoming.id}">December training &lt;b&gt;</a>`, 'title linked and escaped');
  t.match(up, /\(America\/Chicago\)/, 'the zone is named');
  t.match(up, /<time datetime="[^"]+">[A-Z][a-z]+day, [A-Z][a-z]+ \d+, \d{4}, \d+:\d\d [AP]M/, 'date and time in the session zone');
  t.match(up, />Published</);
  t.match(up, /2 \/ 2\s*<meter class="seats" min="0" max="2" value="2" aria-label="Seats taken: 2 of 2">/, 'confirmed / capacity with a bar');
  t.match(up, /<td data-label="Waitlisted">1<\/td>/, 'waitlisted');
  const drafts = group(html, 'drafts');
  t.match(drafts, `href="/console/sessions/${draft.id}">A draft for later</a>`);
  t.match(drafts, /0 \/ unlimited/);
  t.match(drafts, />Draft</);
  const before = group(html, 'past');
  t.match(before, `href="/console/sessions/${past.id}">Already over</a>`);
  t.match(before, />Finished</);
  t.match(before, `href="/console/sessions/${cancelled.id}">Called off</a>`);
  t.match(before, />Cancelled</);
  t.notMatch(up + drafts, /Already over|Called off/);
  t.ok(before.indexOf('Called off') < before.indexOf('Already over'), 'past: the latest start first');
  t.notMatch(html, foreign.id, "another organizer's session is absent");
  t.notMatch(html, 'Not yours');

  const admin = await makeOrganizer(app, 'admin');
  const adminPage = await (await consoleSignIn(app, admin)).get('/console');
  t.match(adminPage.body, foreign.id, 'an admin sees the sessions of others');
  t.match(adminPage.body, upcoming.id);
});

t.test('one query for the list, however many sessions', async (t) => {
  const organizer = await makeOrganizer(app);
  const actor = { id: organizer.id, name: organizer.name, email: organizer.email };
  const browser = await consoleSignIn(app, organizer);
  const queries = async () => {
    let count = 0;
    const original = database.pool.query.bind(database.pool);
    database.pool.query = ((...args: unknown[]) => {
      count += 1;
      return (original as (...a: unknown[]) => unknown)(...args);
    }) as typeof database.pool.query;
    try {
      t.equal((await browser.get('/console')).statusCode, 200);
    } finally {
      database.pool.query = original;
    }
    return count;
  };
  await app.services.sessions.create(sessionBody() as never, actor);
  await queries(); // the first request after sign-in may touch the session; measure from the next
  const few = await queries();
  for (let i = 0; i < 20; i += 1) await app.services.sessions.create(sessionBody({}, 10 + i) as never, actor);
  const many = await queries();
  t.equal(many, few, `${few} queries for 1 session and for 21`);
  t.ok(few <= 2, 'the session lookup and the list');
  t.equal((await browser.get('/console')).body.match(/<th scope="row">/g)?.length, 21, 'every session listed');
});
