import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import t from 'tap';
import { notificationKind, type NotificationKind } from '../../db/schema/index.js';
import { currentInvite } from '../../src/services/invites.js';
import { kindOf, kinds, noticeOf, type SendState, type StoredPayload } from '../../src/services/notifications/kinds.js';
import type { EmailContext } from '../../src/services/notifications/templates.js';
import { DEFAULT_BRANDING } from '../../src/services/settings.service.js';

const dialect = new PgDialect();
const allKinds = notificationKind.enumValues;

const startsAt = new Date('2026-12-04T20:00:00.000Z');

const context: EmailContext = {
  branding: DEFAULT_BRANDING,
  recipientName: 'Ana Reyes',
  sessionTitle: 'Online privacy for mayors',
  time: { primary: 'Friday, December 4, 2026, 2:00 PM – 3:30 PM CST', secondary: null },
  startsAt,
  endsAt: new Date(startsAt.getTime() + 90 * 60_000),
  sessionZone: 'America/Chicago',
  readerZone: null,
  registrationStatus: 'confirmed',
  offerDeadline: null,
  offerMinutes: null,
  sessionCancelled: false,
  manageLink: 'https://convene.example/m/manage-token',
  join: {
    link: 'https://convene.example/j/join-token',
    platform: null,
    passcode: null,
    instructions: null,
    opensAt: new Date(startsAt.getTime() - 15 * 60_000),
    minutesBefore: 15,
    open: false,
  },
  waitlistPosition: 3,
  cancelReason: null,
  contactName: 'Clerk',
  contactEmail: 'clerk@example.gov',
  followUp: { message: 'Thanks for coming.', recordingUrl: null },
};

/** The state at send time: a confirmed seat in a published session at SEQUENCE 2, unless told otherwise. */
function state(overrides: { registrationStatus?: SendState['registrationStatus']; status?: 'draft' | 'published' | 'cancelled'; sequence?: number; startsAt?: Date } = {}): SendState {
  return {
    registrationStatus: overrides.registrationStatus ?? 'confirmed',
    session: { status: overrides.status ?? 'published', sequence: overrides.sequence ?? 2, startsAt: overrides.startsAt ?? startsAt },
  };
}

/** A payload as the writers store it, per kind. */
const stored: Record<NotificationKind, StoredPayload> = {
  confirmation: {},
  waitlisted: {},
  promoted: {},
  manage_link: {},
  registration_cancelled: { previousStatus: 'confirmed' },
  session_updated: { sequence: 2 },
  session_cancelled: { sequence: 3 },
  session_cancelled_waitlisted: { sequence: 3 },
  reminder: { offset: 60, startsAt: startsAt.toISOString(), lead: 'in 1 hour' },
  follow_up_attended: {},
  follow_up_no_show: {},
  request_received: {},
  request_declined: { reason: 'Members only, sorry.' },
  offered: {},
  offer_expired: {},
  message: {},
  series_summary: { seriesId: '00000000-0000-4000-8000-000000000005' },
};

t.test('every kind of the enum has an entry with a template, a dedupe key and a stale rule', async (t) => {
  t.same(Object.keys(kinds).sort(), [...allKinds].sort(), 'the table and the notification_kind enum list the same kinds');
  for (const name of allKinds) {
    const definition = kindOf(name);
    t.equal(definition.name, name, `${name}: the entry is filed under its own name`);
    t.type(definition.stale, 'function', `${name}: a stale rule`);
    t.ok(definition.dedupe.prefix, `${name}: a dedupe key`);
    const { sql: keySql, params } = dialect.sqlToQuery(kindOf(name).row(sql`r.id`, {} as never).dedupeKey);
    t.match(keySql, /^\$1::text \|\| ':' \|\| r\.id/, `${name}: the key starts with the prefix and the registration`);
    t.equal(params[0], definition.dedupe.prefix);
    const content = noticeOf(name, stored[name]).content(context);
    t.match(content.subject, context.sessionTitle, `${name}: a template naming the session`);
    const links = [content.button, ...content.after.map((block) => (block.type === 'link' ? block.link : null))];
    t.ok(
      links.some((link) => link?.href === context.manageLink),
      `${name}: the template carries the manage link`,
    );
  }
});

t.test('kinds share a dedupe prefix only when a registration gets one of them', async (t) => {
  const byPrefix = new Map<string, string[]>();
  for (const name of allKinds) byPrefix.set(kindOf(name).dedupe.prefix, [...(byPrefix.get(kindOf(name).dedupe.prefix) ?? []), name]);
  const shared = [...byPrefix.values()].filter((names) => names.length > 1).map((names) => names.sort());
  t.same(shared, [
    ['session_cancelled', 'session_cancelled_waitlisted'],
    ['follow_up_attended', 'follow_up_no_show'],
  ]);
});

t.test('the dedupe key and payload of a kind with facts come from those facts', async (t) => {
  const row = kinds.reminder.row(sql`batch.id`, {
    offset: sql`${60}::int`,
    startsAt: sql`${startsAt.toISOString()}::text`,
    lead: sql`${'in 1 hour'}::text`,
    startsAtEpoch: sql`${1796414400}::bigint`,
  });
  const key = dialect.sqlToQuery(row.dedupeKey);
  t.equal(key.sql, `$1::text || ':' || batch.id || ':' || $2::int || ':' || $3::bigint`);
  t.same(key.params, ['reminder', 60, 1796414400]);
  const payload = dialect.sqlToQuery(row.payload);
  t.equal(payload.sql, 'jsonb_build_object($1::text, $2::int, $3::text, $4::text, $5::text, $6::text)');
  t.same(payload.params, ['offset', 60, 'startsAt', startsAt.toISOString(), 'lead', 'in 1 hour']);
  t.equal(dialect.sqlToQuery(kinds.confirmation.row(sql`r.id`, {}).payload).sql, `'{}'::jsonb`);
});

t.test('bulk or single', async (t) => {
  const bulk = allKinds.filter((name) => kindOf(name).delivery === 'bulk').sort();
  t.same(bulk, ['follow_up_attended', 'follow_up_no_show', 'message', 'reminder']);
});

t.test('the invite each kind carries', async (t) => {
  const invites = Object.fromEntries(allKinds.map((name) => [name, noticeOf(name, stored[name]).invite]));
  t.same(invites, {
    confirmation: { method: 'REQUEST', registrationCancelled: false },
    waitlisted: null,
    promoted: { method: 'REQUEST', registrationCancelled: false },
    manage_link: null,
    registration_cancelled: { method: 'CANCEL', registrationCancelled: true },
    session_updated: { method: 'REQUEST', registrationCancelled: false },
    session_cancelled: { method: 'CANCEL', registrationCancelled: false },
    session_cancelled_waitlisted: null,
    reminder: null,
    follow_up_attended: null,
    follow_up_no_show: null,
    request_received: null,
    request_declined: null,
    offered: null,
    offer_expired: null,
    message: null,
    series_summary: null,
  });
  t.equal(noticeOf('registration_cancelled', { previousStatus: 'waitlisted' }).invite, null, 'leaving the waitlist cancels no invite');
  t.equal(noticeOf('registration_cancelled', { previousStatus: 'offered' }).invite, null, 'declining an offered seat cancels no invite');
  t.equal(noticeOf('registration_cancelled', { previousStatus: 'pending' }).invite, null, 'withdrawing a request cancels no invite');
});

t.test('stale rules, judged on the state at send time', async (t) => {
  const stale = (name: NotificationKind, at: SendState | null, payload = stored[name]) => noticeOf(name, payload).staleReason(at);

  for (const name of allKinds) t.equal(stale(name, null), 'the registration no longer exists', `${name} without its registration`);

  for (const name of ['confirmation', 'promoted'] as const) {
    t.equal(stale(name, state()), null, `${name}: a held seat`);
    t.equal(stale(name, state({ registrationStatus: 'cancelled' })), 'the registration is cancelled', `${name}: cancelled since`);
    t.equal(stale(name, state({ status: 'cancelled' })), 'the session was cancelled', `${name}: session cancelled since`);
  }
  t.equal(stale('waitlisted', state({ registrationStatus: 'waitlisted' })), null);
  t.equal(stale('waitlisted', state()), 'the registration is confirmed', 'promoted before the waitlist notice went');
  t.equal(stale('manage_link', state({ registrationStatus: 'waitlisted' })), null);
  t.equal(stale('manage_link', state({ registrationStatus: 'cancelled' })), 'the registration was cancelled');

  t.equal(stale('session_updated', state()), null, 'the latest update');
  t.equal(stale('session_updated', state({ sequence: 3 })), 'a later update supersedes it');
  t.equal(stale('session_updated', state({ status: 'cancelled' })), 'the session was cancelled');
  t.equal(stale('session_updated', state({ registrationStatus: 'waitlisted' })), 'the registration is waitlisted');

  t.equal(stale('registration_cancelled', state({ registrationStatus: 'cancelled' })), null);
  t.equal(stale('registration_cancelled', state()), 'the registration is active again');

  for (const registrationStatus of ['confirmed', 'waitlisted', 'pending', 'offered'] as const) {
    t.equal(stale('message', state({ registrationStatus })), null, `a message to the ${registrationStatus}`);
  }
  t.equal(stale('message', state({ registrationStatus: 'cancelled' })), 'the registration is cancelled', 'left after the message was written');
  t.equal(stale('message', state({ status: 'cancelled' })), 'the session was cancelled', 'the cancellation notice is the last word');

  t.equal(stale('reminder', state()), null);
  t.equal(stale('reminder', state({ startsAt: new Date(startsAt.getTime() + 3_600_000) })), 'the session moved');
  t.equal(stale('reminder', state({ status: 'draft' })), 'the session is draft');
  t.equal(stale('reminder', state({ registrationStatus: 'cancelled' })), 'the registration is cancelled');

  // A series summary lists what is left at send time (delivery skips it when nothing is): its own registration decides nothing.
  t.equal(stale('series_summary', state({ registrationStatus: 'cancelled' })), null, 'series_summary: judged on the series at send time');

  for (const name of ['session_cancelled', 'session_cancelled_waitlisted', 'follow_up_attended', 'follow_up_no_show'] as const) {
    t.equal(stale(name, state({ registrationStatus: 'cancelled', status: 'cancelled' })), null, `${name} reports something final`);
  }
});

t.test('templates read their kind payload', async (t) => {
  t.match(noticeOf('registration_cancelled', { previousStatus: 'confirmed' }).content(context).subject, /^Registration cancelled/);
  t.match(noticeOf('registration_cancelled', { previousStatus: 'waitlisted' }).content(context).subject, /^You left the waitlist/);
  t.equal(noticeOf('reminder', stored.reminder).content(context).subject, `Reminder: ${context.sessionTitle} starts in 1 hour`);
  t.equal(noticeOf('reminder', { offset: 60, startsAt: startsAt.toISOString() }).content(context).subject, `Reminder: ${context.sessionTitle} is coming up`);
  t.match(noticeOf('follow_up_attended', {}).content(context).subject, /^Thank you/);
  t.match(noticeOf('follow_up_no_show', {}).content(context).subject, /^Sorry we missed you/);
  const series = {
    title: 'Resilient cities, a three-part series',
    entries: [
      { title: 'Part 1', time: context.time, status: 'confirmed' as const, waitlistPosition: null, manageLink: 'https://convene.example/m/one' },
      { title: 'Part 2', time: context.time, status: 'waitlisted' as const, waitlistPosition: 2, manageLink: 'https://convene.example/m/two' },
    ],
  };
  const summary = noticeOf('series_summary', stored.series_summary).content({ ...context, series });
  t.equal(summary.subject, `Your sessions: ${series.title}`);
  const links = summary.blocks.flatMap((block) => (block.type === 'link' ? [block.link.href] : []));
  t.same(links, ['https://convene.example/m/one', 'https://convene.example/m/two'], 'each registration with its own manage link, in order');
});

t.test('the downloaded invite describes the registration now', async (t) => {
  t.equal(currentInvite('waitlisted', 'published'), null, 'no invite on the waitlist');
  t.same(currentInvite('confirmed', 'published'), { method: 'REQUEST', registrationCancelled: false });
  t.same(currentInvite('cancelled', 'published'), { method: 'CANCEL', registrationCancelled: true });
  t.same(currentInvite('confirmed', 'cancelled'), { method: 'CANCEL', registrationCancelled: false });
  t.same(currentInvite('cancelled', 'cancelled'), { method: 'CANCEL', registrationCancelled: false });
});
