import t from 'tap';
import { availabilityOf, closedError, type SessionCounts, type SessionRules } from '../../src/services/availability.js';

const now = new Date('2026-12-01T12:00:00.000Z');
const later = (ms: number) => new Date(now.getTime() + ms);

function session(overrides: Partial<SessionRules> = {}): SessionRules {
  return {
    status: 'published',
    endsAt: later(7 * 24 * 3600_000),
    registrationOpensAt: null,
    registrationClosesAt: null,
    capacity: 10,
    waitlistEnabled: true,
    waitlistLimit: null,
    ...overrides,
  };
}

const counts = (confirmedCount: number, waitlistedCount = 0): SessionCounts => ({ confirmedCount, waitlistedCount, offeredCount: 0 });

t.test('each reason registration is shut, in the order the services check them', async (t) => {
  t.equal(availabilityOf(session({ status: 'draft' }), counts(0), now).reason, 'draft');
  t.equal(availabilityOf(session({ status: 'cancelled' }), counts(0), now).reason, 'cancelled');
  t.equal(availabilityOf(session({ endsAt: now }), counts(0), now).reason, 'finished', 'finished at its end, to the millisecond');
  t.equal(availabilityOf(session({ status: 'cancelled', endsAt: later(-1) }), counts(0), now).reason, 'cancelled', 'a cancelled session stays cancelled after its end');
  t.equal(availabilityOf(session({ endsAt: later(-1), registrationOpensAt: later(1) }), counts(0), now).reason, 'finished', 'over before the window');
  for (const reason of ['draft', 'cancelled', 'finished'] as const) {
    const shut = availabilityOf(session({ status: reason === 'finished' ? 'published' : reason, endsAt: reason === 'finished' ? now : later(1e9) }), counts(0), now);
    t.same([shut.open, shut.accepting], [false, false], `${reason}: neither open nor accepting`);
  }
});

t.test('the registration window: opens exactly at opensAt, closes exactly at closesAt', async (t) => {
  const notYet = availabilityOf(session({ registrationOpensAt: later(1) }), counts(0), now);
  t.equal(notYet.reason, 'not-yet');
  t.same(notYet.opensAt, later(1), 'says when');
  t.notOk(notYet.accepting);
  t.equal(availabilityOf(session({ registrationOpensAt: now }), counts(0), now).reason, 'open', 'open at opensAt');
  t.equal(availabilityOf(session({ registrationClosesAt: later(1) }), counts(0), now).reason, 'open', 'open a millisecond before closesAt');
  t.equal(availabilityOf(session({ registrationClosesAt: now }), counts(0), now).reason, 'closed', 'closed at closesAt');
  t.equal(availabilityOf(session({ registrationOpensAt: later(1), registrationClosesAt: later(-1) }), counts(0), now).reason, 'not-yet', 'not yet comes first');
  t.equal(availabilityOf(session({ registrationClosesAt: now }), counts(10), now).reason, 'closed', 'closed comes before full');
});

t.test('seats, the waitlist and its limit', async (t) => {
  const open = availabilityOf(session(), counts(7), now);
  t.same([open.reason, open.open, open.accepting, open.seatsLeft, open.waitlistOpen], ['open', true, true, 3, true]);
  t.equal(availabilityOf(session(), counts(9), now).seatsLeft, 1, 'the last seat');

  const waitlist = availabilityOf(session(), counts(10), now);
  t.same([waitlist.reason, waitlist.open, waitlist.seatsLeft], ['waitlist', true, 0]);
  t.equal(availabilityOf(session(), counts(9, 1), now).reason, 'waitlist', 'a free seat is not free while someone waits');
  t.equal(availabilityOf(session({ capacity: 5 }), counts(7), now).seatsLeft, 0, 'forced beyond capacity: no seats, never negative');

  const limit = session({ waitlistLimit: 2 });
  t.equal(availabilityOf(limit, counts(10, 1), now).reason, 'waitlist', 'room left on the waitlist');
  const full = availabilityOf(limit, counts(10, 2), now);
  t.same([full.reason, full.open, full.accepting, full.waitlistOpen], ['full', false, true, false], 'the limit reached: full, yet accepting (the seat statement decides)');
  t.equal(availabilityOf(session({ waitlistEnabled: false }), counts(10), now).reason, 'full', 'no waitlist');
  t.notOk(availabilityOf(session({ waitlistEnabled: false }), counts(0), now).waitlistOpen, 'a disabled waitlist is never open');
});

t.test('unlimited capacity', async (t) => {
  const open = availabilityOf(session({ capacity: null }), counts(100_000), now);
  t.same([open.reason, open.seatsLeft], ['open', null]);
});

t.test("the services' refusals keep their words", async (t) => {
  t.equal(closedError({ reason: 'cancelled', opensAt: null }).detail, 'This session has been cancelled');
  t.equal(closedError({ reason: 'finished', opensAt: null }).detail, 'This session has ended');
  t.equal(closedError({ reason: 'not-yet', opensAt: later(1) }).detail, `Registration opens at ${later(1).toISOString()}`);
  t.equal(closedError({ reason: 'closed', opensAt: null }).detail, 'Registration for this session is closed');
  t.equal(closedError({ reason: 'closed', opensAt: null }).status, 409);
});
