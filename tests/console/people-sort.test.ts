import t from 'tap';
import { buildTestApp, manualClock, uniqueEmail } from '../helpers/app.js';
import { createSession } from '../helpers/registrations.js';
import { consoleSignIn, makeOrganizer } from './support.js';

/**
 * Issue #17, item 3: the console's people table sorted by name. The "Sort by" select of the
 * filter form, the caption, the sortable column headers (links: no JS), the pager and the back
 * links of check-in and cancel all keep the order; an unknown order reads as the default.
 */

const clock = manualClock();
const { app } = await buildTestApp(t, { clock });
const host = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Sorting host'));
const hostApi = { authorization: `Bearer ${app.issueToken(host.organizer).token}` };

const session = await createSession(app, hostApi, { capacity: 3, waitlist: { enabled: true } });
const base = `/console/sessions/${session.id}/registrations`;
// Registered in this order (three seats, then the waitlist); by name: ada ×2, Bob, Émile ×2 (where "é" goes is the collation's), zed.
const NAMES = ['zed Last', 'Bob Middle', 'ada First', 'Émile Accent', 'ADA FIRST', 'émile accent'];
const ids: Record<string, string> = {};
for (const name of NAMES) {
  const added = await app.services.registrations.addByOrganizer(session.id, { name, email: uniqueEmail('sort') }, host.organizer.id, host.organizer);
  ids[name] = added.id;
  clock.advance(1000);
}

/** The people table's first column, in order. */
function names(html: string): string[] {
  const start = html.indexOf('<table class="people-table');
  if (start < 0) return [];
  const body = html.slice(html.indexOf('<tbody>', start), html.indexOf('</tbody>', start));
  return [...body.matchAll(/<th scope="row">([^<]*)<\/th>/g)].map((match) => match[1]!);
}

const caption = (html: string) => /<caption>([^<]*)<\/caption>/.exec(html)?.[1];
const unescape = (href: string) => href.replace(/&amp;/g, '&');
const href = (html: string, pattern: RegExp) => {
  const found = pattern.exec(html)?.[1];
  return found === undefined ? undefined : unescape(found);
};

t.test('the default: in order of registration, the Registered column marked sorted, Sort by on "Registration time"', async (t) => {
  const res = await host.get(`${base}?status=all`);
  t.equal(res.statusCode, 200);
  t.same(names(res.body), NAMES);
  t.equal(caption(res.body), 'Everyone, whatever the status, in order of registration');
  t.match(res.body, /<select id="f-sort" name="sort"[^>]*>\s*<option value="" selected>Registration time<\/option>\s*<option value="name">Name<\/option>/, 'the Sort by select, on its default');
  t.match(res.body, /<label[^>]*for="f-sort"[^>]*>\s*Sort by/, 'labelled');
  t.match(res.body, /<th scope="col" aria-sort="ascending"><a href="[^"]+" title="Sort by registration time">Registered/, 'the sorted column says so');
  t.equal(href(res.body, /<th scope="col"><a href="([^"]+)" title="Sort by name">Name<\/a><\/th>/), `${base}?status=all&sort=name`, 'the Name header sorts by name, filters kept');
});

t.test('sort=name: by name ignoring case and accents’ case, ties by id, caption and headers say so', async (t) => {
  const res = await host.get(`${base}?status=all&sort=name`);
  t.equal(res.statusCode, 200);
  const shown = names(res.body);
  t.same(shown.slice(0, 2).map((name) => name.toLowerCase()), ['ada first', 'ada first'], 'both Adas first, whatever their case');
  const adaIds = shown.slice(0, 2).map((name) => ids[name]!);
  t.same(adaIds, [...adaIds].sort(), 'equal names by id');
  t.equal(shown[2], 'Bob Middle');
  const emile = shown.indexOf('Émile Accent');
  t.ok(emile >= 0 && (shown[emile + 1] === 'émile accent' || shown[emile - 1] === 'émile accent'), 'É and é together');
  t.equal(shown.length, NAMES.length);
  t.equal(caption(res.body), 'Everyone, whatever the status, by name');
  t.match(res.body, /<option value="name" selected>Name<\/option>/, 'the select shows the order');
  t.match(res.body, /<th scope="col" aria-sort="ascending"><a href="[^"]+" title="Sort by name">Name<\/a><\/th>/, 'the Name column is the sorted one');
  t.equal(href(res.body, /<th scope="col"><a href="([^"]+)" title="Sort by registration time">/), `${base}?status=all`, 'the Registered header goes back to the default order');
  t.ok(res.body.includes(`<a href="${base}?sort=name">Clear filters</a>`), 'clearing the filters keeps the order');

  const waiting = await host.get(`${base}?status=waitlisted&sort=name`);
  t.equal(caption(waiting.body), 'Waitlisted, by name', 'no "in waitlist order" for a table by name');
  t.same(names(waiting.body).map((name) => name.toLowerCase()), ['ada first', 'émile accent', 'émile accent'], 'the waitlisted by name');
  t.equal(caption((await host.get(`${base}?status=waitlisted`)).body), 'Waitlisted (in waitlist order), in order of registration');
});

t.test('an unknown order reads as the default', async (t) => {
  for (const sort of ['nonsense', 'registeredAt', 'NAME']) {
    const res = await host.get(`${base}?status=all&sort=${sort}`);
    t.equal(res.statusCode, 200, `sort=${sort}`);
    t.same(names(res.body), NAMES, `sort=${sort}: registration order`);
  }
});

t.test('the pager keeps the order; a cursor of the other order is a 400 page', async (t) => {
  const big = await createSession(app, hostApi, { capacity: null });
  // 101 people, registered in reverse name order: the orders differ on every page.
  for (let i = 100; i >= 0; i -= 1) {
    await app.services.registrations.addByOrganizer(big.id, { name: `Person ${String(i).padStart(3, '0')}`, email: uniqueEmail(`p${i}`) }, host.organizer.id, host.organizer);
    clock.advance(10);
  }
  const bigBase = `/console/sessions/${big.id}/registrations`;
  const first = await host.get(`${bigBase}?sort=name`);
  t.equal(first.statusCode, 200);
  t.equal(names(first.body)[0], 'Person 000');
  t.equal(names(first.body).length, 100);
  const next = href(first.body, /<a href="([^"]+)" rel="next">Next page<\/a>/);
  t.match(next, /[?&]sort=name&cursor=/, 'the Next link keeps the order');
  const second = await host.get(next!);
  t.same(names(second.body), ['Person 100'], 'the last one by name');
  t.equal(href(second.body, /<a href="([^"]+)">First page<\/a>/), `${bigBase}?sort=name`, 'First page keeps the order');
  // The back links of the rows on a later page carry the order and the cursor.
  t.match(second.body, new RegExp(`action="${bigBase}/[0-9a-f-]+/check-in\\?sort=name&amp;cursor=`), 'check-in comes back to this page');

  const byTime = href((await host.get(bigBase)).body, /<a href="([^"]+)" rel="next">Next page<\/a>/)!;
  t.same(names((await host.get(byTime)).body), ['Person 000'], 'the default order has its own last page');
  const mixed = await host.get(byTime.replace('?cursor=', '?sort=name&cursor='));
  t.equal(mixed.statusCode, 400, 'a time cursor with sort=name is a page saying so');
  t.ok(mixed.body.includes('cursor'), 'it names the cursor');
  const reverse = await host.get(next!.replace('sort=name&', ''));
  t.equal(reverse.statusCode, 400, 'a name cursor without sort=name too');
});

t.test('check-in and cancel come back to the table in its order', async (t) => {
  const bob = ids['Bob Middle']!;
  const checkIn = await host.post(`${base}/${bob}/check-in?status=confirmed&sort=name`, {});
  t.equal(checkIn.statusCode, 303);
  t.equal(checkIn.headers.location, `${base}?status=confirmed&sort=name&done=checked-in`);

  const page = await host.get(`${base}?sort=name`);
  const cancelHref = href(page.body, new RegExp(`<a href="([^"]+)" aria-label="Cancel zed Last">`));
  t.equal(cancelHref, `${base}/${ids['zed Last']}/cancel?sort=name`, 'the row’s cancel link carries the order');
  const confirm = await host.get(cancelHref!);
  t.equal(confirm.statusCode, 200);
  t.ok(confirm.body.includes(`action="${base}/${ids['zed Last']}/cancel?sort=name"`), 'the confirmation posts with the order');
  t.ok(confirm.body.includes(`href="${base}?sort=name">Keep it</a>`), 'Keep it goes back to the order');
  const cancel = await host.post(`${base}/${ids['zed Last']}/cancel?sort=name`, {});
  t.equal(cancel.statusCode, 303);
  t.equal(cancel.headers.location, `${base}?sort=name&done=cancelled`);
});
