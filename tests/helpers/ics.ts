import ICAL from 'ical.js';
import type { Test } from 'tap';

/**
 * The one iCalendar checker, for invites and feeds alike: the byte rules of calendar.md read off
 * the raw bytes, then what ical.js (a parser independent of our renderer) reads, then the
 * assertions that combine both.
 */

/** The logical content lines of an iCalendar text: CRLF-split, then unfolded. */
export function unfoldIcs(text: string): string[] {
  const logical: string[] = [];
  for (const line of text.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && logical.length > 0) logical[logical.length - 1] += line.slice(1);
    else if (line !== '') logical.push(line);
  }
  return logical;
}

/** Date-times that must be UTC (or carry a TZID with its VTIMEZONE; we use UTC). */
const TIME_PROPERTIES = ['DTSTAMP', 'DTSTART', 'DTEND'];

/**
 * Every rule of calendar.md "Bytes" that can be read off one iCalendar object. Returns the
 * broken rules (empty when all hold), so a failure names what is wrong.
 */
export function icsProblems(input: Buffer | string, { events = 1 }: { events?: number | null } = {}): string[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const problems: string[] = [];
  const text = bytes.toString('utf8');
  if (!text.endsWith('\r\n')) problems.push('the last line does not end in CRLF');

  // Physical lines, split on CRLF only: any CR or LF left inside one is bare.
  const physical: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length - 1; i += 1) {
    if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a) {
      physical.push(bytes.subarray(start, i));
      start = i + 2;
      i += 1;
    }
  }
  if (start < bytes.length) physical.push(bytes.subarray(start));
  const decoder = new TextDecoder('utf-8', { fatal: true });
  physical.forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line.length > 75) problems.push(`${where} is ${line.length} octets (max 75)`);
    if (line.includes(0x0d) || line.includes(0x0a)) problems.push(`${where} holds a bare CR or LF`);
    try {
      decoder.decode(line);
    } catch {
      problems.push(`${where} is not valid UTF-8 on its own (a fold split a character)`);
    }
    if (line.length === 0) problems.push(`${where} is empty`);
    // RFC 5545 TEXT and parameter values exclude CONTROL characters (HTAB aside).
    for (const byte of line) {
      if ((byte < 0x20 && byte !== 0x09) || byte === 0x7f) {
        problems.push(`${where} holds the control character 0x${byte.toString(16).padStart(2, '0')}`);
        break;
      }
    }
  });

  const logical = unfoldIcs(text);
  if (logical[0] !== 'BEGIN:VCALENDAR') problems.push('does not start with BEGIN:VCALENDAR');
  if (logical[logical.length - 1] !== 'END:VCALENDAR') problems.push('does not end with END:VCALENDAR');

  const stack: string[] = [];
  const seenComponentIn = new Set<number>(); // depths at which a sub-component already started
  const hasTimezone = logical.includes('BEGIN:VTIMEZONE');
  for (const line of logical) {
    const name = /^[A-Za-z0-9-]+/.exec(line)?.[0]?.toUpperCase() ?? '';
    if (!/^[A-Za-z0-9-]+[;:]/.test(line)) problems.push(`not a content line: ${JSON.stringify(line.slice(0, 60))}`);
    if (name === 'BEGIN') {
      const component = line.slice(6).toUpperCase();
      if (stack.length > 0) seenComponentIn.add(stack.length);
      stack.push(component);
      continue;
    }
    if (name === 'END') {
      const component = line.slice(4).toUpperCase();
      if (stack.pop() !== component) problems.push(`END:${component} does not close the open component`);
      continue;
    }
    const depth = stack.length;
    if (depth === 0) problems.push(`property outside VCALENDAR: ${name}`);
    if (seenComponentIn.has(depth)) {
      problems.push(`${name} comes after a sub-component of ${stack[depth - 1]} (properties must come first)`);
    }
    if (TIME_PROPERTIES.includes(name)) {
      const [head, value = ''] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)];
      const tzid = /;TZID=([^;:]+)/i.exec(head)?.[1];
      if (tzid) {
        if (/^"?utc"?$/i.test(tzid)) problems.push(`${name} uses TZID=UTC`);
        if (!hasTimezone) problems.push(`${name} has TZID=${tzid} without a VTIMEZONE`);
      } else if (!/^\d{8}T\d{6}Z$/.test(value)) {
        problems.push(`${name} is not UTC (${value})`);
      }
    }
  }
  if (stack.length > 0) problems.push(`components left open: ${stack.join(', ')}`);

  try {
    const component = new ICAL.Component(ICAL.parse(text));
    const found = component.getAllSubcomponents('vevent').length;
    if (events !== null && found !== events) problems.push(`ical.js finds ${found} VEVENTs, not ${events}`);
  } catch (error) {
    problems.push(`ical.js cannot parse it: ${(error as Error).message}`);
  }
  return problems;
}

/** The rules of calendar.md "Feeds" on top of the byte rules: any number of events, no METHOD, no ATTENDEE, UTC only. */
export function feedProblems(input: Buffer | string): string[] {
  const text = typeof input === 'string' ? input : input.toString('utf8');
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
    if (TIME_PROPERTIES.includes(name) && /;TZID=/i.test(line.slice(0, line.indexOf(':')))) {
      problems.push(`${name} carries a TZID: feeds use UTC`);
    }
  }
  const has = (prefix: string) => calendarProperties.some((line) => line.startsWith(prefix));
  if (!has('X-WR-CALNAME:')) problems.push('no X-WR-CALNAME');
  if (!has('REFRESH-INTERVAL;VALUE=DURATION:PT')) problems.push('no REFRESH-INTERVAL;VALUE=DURATION');
  if (!has('X-PUBLISHED-TTL:PT')) problems.push('no X-PUBLISHED-TTL');
  return problems;
}

// ---------------------------------------------------------------------------------------------
// What ical.js, a parser independent of our renderer, reads from invites and feeds.

export interface EventFacts {
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
  organizers: Array<{ value: string; cn: string | null }>;
  attendees: Array<{ value: string; cn: string | null; partstat: string | null; rsvp: string | null }>;
  alarms: number;
  /** VEVENT property names in order. */
  properties: string[];
}

export interface InviteFacts extends EventFacts {
  method: string | null;
  calendarProperties: string[];
}

export interface FeedFacts {
  name: string | null;
  method: string | null;
  refresh: string | null;
  ttl: string | null;
  events: EventFacts[];
}

function textOf(component: ICAL.Component, name: string): string | null {
  const value = component.getFirstPropertyValue(name);
  return value === null || value === undefined ? null : String(value);
}

function paramText(property: ICAL.Property, name: string): string | null {
  const value = property.getParameter(name);
  if (value === undefined || value === null) return null;
  return Array.isArray(value) ? value.join(',') : String(value);
}

function eventFacts(vevent: ICAL.Component): EventFacts {
  const event = new ICAL.Event(vevent);
  const stamp = vevent.getFirstPropertyValue('dtstamp') as ICAL.Time;
  return {
    uid: event.uid,
    sequence: event.sequence,
    status: textOf(vevent, 'status'),
    start: event.startDate.toJSDate(),
    end: event.endDate.toJSDate(),
    stamp: stamp.toJSDate(),
    startIsUtc: event.startDate.zone === ICAL.Timezone.utcTimezone && event.endDate.zone === ICAL.Timezone.utcTimezone,
    stampIsUtc: stamp.zone === ICAL.Timezone.utcTimezone,
    summary: event.summary,
    description: event.description,
    url: textOf(vevent, 'url'),
    location: textOf(vevent, 'location'),
    organizers: vevent.getAllProperties('organizer').map((p) => ({ value: String(p.getFirstValue()), cn: paramText(p, 'cn') })),
    attendees: vevent.getAllProperties('attendee').map((p) => ({
      value: String(p.getFirstValue()),
      cn: paramText(p, 'cn'),
      partstat: paramText(p, 'partstat'),
      rsvp: paramText(p, 'rsvp'),
    })),
    alarms: vevent.getAllSubcomponents('valarm').length,
    properties: vevent.getAllProperties().map((p) => p.name.toUpperCase()),
  };
}

/** The facts of an invite (its one VEVENT and the calendar around it). */
export function inviteFacts(ics: string): InviteFacts {
  const calendar = new ICAL.Component(ICAL.parse(ics));
  const vevent = calendar.getFirstSubcomponent('vevent');
  if (!vevent) throw new Error('no VEVENT');
  return {
    ...eventFacts(vevent),
    method: textOf(calendar, 'method'),
    calendarProperties: calendar.getAllProperties().map((p) => p.name.toUpperCase()),
  };
}

/** The facts of a feed (or of any calendar read as one). */
export function feedFacts(ics: string): FeedFacts {
  const calendar = new ICAL.Component(ICAL.parse(ics));
  return {
    name: textOf(calendar, 'x-wr-calname'),
    method: textOf(calendar, 'method'),
    refresh: textOf(calendar, 'refresh-interval'),
    ttl: textOf(calendar, 'x-published-ttl'),
    events: calendar.getAllSubcomponents('vevent').map(eventFacts),
  };
}

// ---------------------------------------------------------------------------------------------
// The assertions

/** The only properties a feed's VEVENT may carry: anything else came from a hostile value. */
const FEED_EVENT_PROPERTIES = new Set(['UID', 'SEQUENCE', 'DTSTAMP', 'DTSTART', 'DTEND', 'SUMMARY', 'DESCRIPTION', 'LOCATION', 'URL', 'STATUS']);

/** An invite's VEVENT carries a feed event's properties and the people: its organizer and its attendee. */
export const INVITE_EVENT_PROPERTIES = new Set([...FEED_EVENT_PROPERTIES, 'ORGANIZER', 'ATTENDEE']);

/** What every event satisfies, in an invite or a feed: known properties, none repeated (ATTENDEE aside), UTC times. */
function checkEvent(t: Test, event: EventFacts, allowed: ReadonlySet<string>, label: string): void {
  const unexpected = event.properties.filter((name) => !allowed.has(name));
  t.same(unexpected, [], `${label}: no unexpected VEVENT properties`);
  const singles = event.properties.filter((name) => name !== 'ATTENDEE');
  t.equal(new Set(singles).size, singles.length, `${label}: no property repeated`);
  t.ok(event.startIsUtc && event.stampIsUtc, `${label}: ical.js reads UTC times`);
}

/** Asserts every rule on one invite and returns what ical.js reads from it. */
export function checkInvite(t: Test, ics: Buffer | string, label: string): InviteFacts {
  const text = typeof ics === 'string' ? ics : ics.toString('utf8');
  t.same(icsProblems(ics), [], `${label}: the iCalendar bytes follow RFC 5545`);
  const facts = inviteFacts(text);
  checkEvent(t, facts, INVITE_EVENT_PROPERTIES, label);
  t.same([...facts.calendarProperties].sort(), ['METHOD', 'PRODID', 'VERSION'], `${label}: calendar properties`);
  return facts;
}

/** Asserts every rule on a feed and returns what ical.js reads from it. */
export function checkFeed(t: Test, ics: string, label: string): FeedFacts {
  t.same(feedProblems(ics), [], `${label}: the bytes follow calendar.md`);
  const facts = feedFacts(ics);
  t.equal(facts.method, null, `${label}: no METHOD`);
  for (const event of facts.events) checkEvent(t, event, FEED_EVENT_PROPERTIES, `${label}: ${event.uid}`);
  const uids = facts.events.map((event) => event.uid);
  t.equal(new Set(uids).size, uids.length, `${label}: one event per UID`);
  return facts;
}

/** The event of this UID, or a failed assertion. */
export function eventOf(t: Test, facts: FeedFacts, uid: string, label = uid): EventFacts {
  const found = facts.events.filter((event) => event.uid === uid);
  t.equal(found.length, 1, `${label}: exactly one event`);
  return found[0]!;
}

/** `mailto:a@b` in any case, as a plain lower-case address. */
export function calAddress(value: string): string {
  return value.replace(/^mailto:/i, '').toLowerCase();
}
