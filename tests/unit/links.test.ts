import t from 'tap';
import { createLinks, feedLinks, joinWindowOf, joinWindowPhase, personalPaths, registrationLinks } from '../../src/services/links.js';
import { createTokens } from '../../src/services/tokens.js';

const startsAt = new Date('2026-12-04T20:00:00.000Z');
const endsAt = new Date('2026-12-04T21:30:00.000Z');
const at = (iso: string) => new Date(iso);

t.test('the join window: from the minutes before the start until the end', async (t) => {
  const window = joinWindowOf({ startsAt, endsAt }, 15);
  t.same(window, { opensAt: at('2026-12-04T19:45:00.000Z'), closesAt: endsAt, minutesBefore: 15 });
  t.equal(joinWindowPhase(window, at('2026-12-04T19:44:59.999Z')), 'before');
  t.equal(joinWindowPhase(window, at('2026-12-04T19:45:00.000Z')), 'open', 'open exactly at opensAt');
  t.equal(joinWindowPhase(window, at('2026-12-04T21:29:59.999Z')), 'open');
  t.equal(joinWindowPhase(window, endsAt), 'after', 'closed exactly at the end');
  t.equal(joinWindowPhase(joinWindowOf({ startsAt, endsAt }, 0), startsAt), 'open', 'no minutes before: opens at the start');
});

t.test('links: derived from the registration, the same wherever they are built', async (t) => {
  const tokens = createTokens('a-test-secret-of-enough-length-for-hmac');
  const base = 'https://convene.example';
  const registration = { id: '4b2c1d0e-0000-4000-8000-000000000001', tokenVersion: 2 };
  const manageToken = tokens.derive('manage', registration.id, 2);
  const joinToken = tokens.derive('join', registration.id, 2);
  t.same(registrationLinks(registration, tokens, base), { manageLink: `${base}/m/${manageToken}`, joinLink: `${base}/j/${joinToken}` });
  const links = createLinks({ tokens, publicBaseUrl: base, joinWindowMinutes: 15 });
  t.equal(links.joinPath(registration), `/j/${joinToken}`);
  t.equal(links.joinUrl(registration), `${base}/j/${joinToken}`);
  t.equal(links.manageUrl(manageToken), `${base}/m/${manageToken}`);
  t.equal(links.inviteUrl(manageToken), `${base}/api/v1/registrations/${manageToken}/invite.ics`);
  t.equal(personalPaths.manage('a/b'), '/m/a%2Fb', 'a path never carries a raw slash from a token');
  t.same(links.joinWindow({ startsAt, endsAt }).opensAt, at('2026-12-04T19:45:00.000Z'));
  t.same(feedLinks('feed-token', base), {
    url: `${base}/feeds/attendees/feed-token.ics`,
    webcal: 'webcal://convene.example/feeds/attendees/feed-token.ics',
    google: `https://calendar.google.com/calendar/render?cid=${encodeURIComponent('webcal://convene.example/feeds/attendees/feed-token.ics')}`,
  });
});
