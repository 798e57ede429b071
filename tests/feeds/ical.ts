import ICAL from 'ical.js';
import type { Test } from 'tap';
import { icsProblems, unfoldIcs } from '../helpers/ics.js';

/**
 * The rules of calendar.md (Feeds, Bytes) for a subscription feed, checked on the raw bytes and
 * then with ical.js, an independent parser. Returns the broken rules, so a failure names them.
 */
export function feedProblems(input: Buffer | string): string[] {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  // The byte rules shared with invites, for any number of events; then what only feeds must hold.
  const problems = icsProblems(input, { events: null });
  const calendarProperties: string[] = [];
  let depth = 0;
  for (const line of unfoldIcs(text)) {
    const name = /^[A-Za-z0-9-]+/.exec(line)?.[0]?.toUpperCase() ?? '';
    if (name === 'BEGIN') depth += 1;
    else if (name === 'END') depth -= 1;
    else if (depth === 1) calendarProperties.push(line);
    if (name === 'METHOD') problems.push(`a feed carries ${line}`);
    if (name === 'ATTENDEE') problems.push('a feed carries an ATTENDEE');
    if (['DTSTAMP', 'DTSTART', 'DTEND'].includes(name) && /;TZID=/i.test(line.slice(0, line.indexOf(':')))) {
      problems.push(`${name} carries a TZID: feeds use UTC`);
    }
  }
  const has = (prefix: string) => calendarProperties.some((line) => line.startsWith(prefix));
  if (!has('X-WR-CALNAME:')) problems.push('no X-WR-CALNAME');
  if (!has('REFRESH-INTERVAL;VALUE=DURATION:PT')) problems.push('no REFRESH-INTERVAL;VALUE=DURATION');
  if (!has('X-PUBLISHED-TTL:PT')) problems.push('no X-PUBLISHED-TTL');
  return problems;
}

export interface FeedEventFacts {
  uid: string;
  sequence: number;
  status: string | null;
  start: Date;
  end: Date;
  stamp: Date;
  /** ical.js's own reading: UTC or not. */
  startIsUtc: boolean;
  stampIsUtc: boolean;
  summary: string;
  description: string;
  url: string | null;
  location: string | null;
  properties: string[];
}

export interface FeedFacts {
  name: string | null;
  method: unknown;
  refresh: string | null;
  ttl: string | null;
  events: FeedEventFacts[];
}

/** What ical.js reads from a feed. */
export function feedFacts(ics: string): FeedFacts {
  const calendar = new ICAL.Component(ICAL.parse(ics));
  const text = (component: ICAL.Component, name: string) => {
    const value = component.getFirstPropertyValue(name);
    return value === null || value === undefined ? null : String(value);
  };
  return {
    name: text(calendar, 'x-wr-calname'),
    method: calendar.getFirstPropertyValue('method'),
    refresh: text(calendar, 'refresh-interval'),
    ttl: text(calendar, 'x-published-ttl'),
    events: calendar.getAllSubcomponents('vevent').map((vevent) => {
      const event = new ICAL.Event(vevent);
      const stamp = vevent.getFirstPropertyValue('dtstamp') as ICAL.Time;
      return {
        uid: event.uid,
        sequence: event.sequence,
        status: text(vevent, 'status'),
        start: event.startDate.toJSDate(),
        end: event.endDate.toJSDate(),
        stamp: stamp.toJSDate(),
        startIsUtc: event.startDate.zone === ICAL.Timezone.utcTimezone && event.endDate.zone === ICAL.Timezone.utcTimezone,
        stampIsUtc: stamp.zone === ICAL.Timezone.utcTimezone,
        summary: event.summary,
        description: event.description,
        url: text(vevent, 'url'),
        location: text(vevent, 'location'),
        properties: vevent.getAllProperties().map((p) => p.name.toUpperCase()),
      };
    }),
  };
}

/** The only properties a feed's VEVENT may carry: anything else came from a hostile value. */
const FEED_EVENT_PROPERTIES = new Set(['UID', 'SEQUENCE', 'DTSTAMP', 'DTSTART', 'DTEND', 'SUMMARY', 'DESCRIPTION', 'LOCATION', 'URL', 'STATUS']);

/** Asserts every rule on a feed and returns what ical.js reads from it. */
export function checkFeed(t: Test, ics: string, label: string): FeedFacts {
  t.same(feedProblems(ics), [], `${label}: the bytes follow calendar.md`);
  const facts = feedFacts(ics);
  t.equal(facts.method, null, `${label}: no METHOD`);
  for (const event of facts.events) {
    const unexpected = event.properties.filter((name) => !FEED_EVENT_PROPERTIES.has(name));
    t.same(unexpected, [], `${label}: ${event.uid}: no unexpected properties`);
    t.equal(new Set(event.properties).size, event.properties.length, `${label}: ${event.uid}: no property repeated`);
    t.ok(event.startIsUtc && event.stampIsUtc, `${label}: ${event.uid}: ical.js reads UTC times`);
  }
  const uids = facts.events.map((event) => event.uid);
  t.equal(new Set(uids).size, uids.length, `${label}: one event per UID`);
  return facts;
}

/** The event of this UID, or a failed assertion. */
export function eventOf(t: Test, facts: FeedFacts, uid: string, label = uid): FeedEventFacts {
  const found = facts.events.filter((event) => event.uid === uid);
  t.equal(found.length, 1, `${label}: exactly one event`);
  return found[0]!;
}
