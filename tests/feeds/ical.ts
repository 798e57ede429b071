import ICAL from 'ical.js';
import type { Test } from 'tap';

/**
 * The rules of calendar.md (Feeds, Bytes) for a subscription feed, checked on the raw bytes and
 * then with ical.js, an independent parser. Returns the broken rules, so a failure names them.
 */
export function feedProblems(input: Buffer | string): string[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const problems: string[] = [];
  const text = bytes.toString('utf8');
  if (!text.endsWith('\r\n')) problems.push('the last line does not end in CRLF');

  // Physical lines, split on CRLF only: a CR or LF left inside one is bare.
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
    if (line.length === 0) problems.push(`${where} is empty`);
    if (line.includes(0x0d) || line.includes(0x0a)) problems.push(`${where} holds a bare CR or LF`);
    try {
      decoder.decode(line);
    } catch {
      problems.push(`${where} is not valid UTF-8 on its own (a fold split a character)`);
    }
    for (const byte of line) {
      if ((byte < 0x20 && byte !== 0x09) || byte === 0x7f) {
        problems.push(`${where} holds the control character 0x${byte.toString(16).padStart(2, '0')}`);
        break;
      }
    }
  });

  const logical: string[] = [];
  for (const line of physical.map((b) => b.toString('utf8'))) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && logical.length > 0) logical[logical.length - 1] += line.slice(1);
    else logical.push(line);
  }
  if (logical[0] !== 'BEGIN:VCALENDAR') problems.push('does not start with BEGIN:VCALENDAR');
  if (logical[logical.length - 1] !== 'END:VCALENDAR') problems.push('does not end with END:VCALENDAR');

  const stack: string[] = [];
  const seenComponentIn = new Set<number>();
  const calendarProperties: string[] = [];
  for (const line of logical) {
    if (!/^[A-Za-z0-9-]+[;:]/.test(line)) problems.push(`not a content line: ${JSON.stringify(line.slice(0, 60))}`);
    const name = /^[A-Za-z0-9-]+/.exec(line)?.[0]?.toUpperCase() ?? '';
    if (name === 'BEGIN') {
      if (stack.length > 0) seenComponentIn.add(stack.length);
      stack.push(line.slice(6).toUpperCase());
      continue;
    }
    if (name === 'END') {
      const component = line.slice(4).toUpperCase();
      if (stack.pop() !== component) problems.push(`END:${component} does not close the open component`);
      continue;
    }
    const depth = stack.length;
    if (depth === 0) problems.push(`property outside VCALENDAR: ${name}`);
    if (depth === 1) calendarProperties.push(line);
    if (seenComponentIn.has(depth)) problems.push(`${name} comes after a sub-component of ${stack[depth - 1]}`);
    if (name === 'METHOD') problems.push(`a feed carries ${line}`);
    if (name === 'ATTENDEE') problems.push('a feed carries an ATTENDEE');
    if (['DTSTAMP', 'DTSTART', 'DTEND'].includes(name)) {
      const head = line.slice(0, line.indexOf(':'));
      const value = line.slice(line.indexOf(':') + 1);
      if (/;TZID=/i.test(head)) problems.push(`${name} carries a TZID (${head})`);
      else if (!/^\d{8}T\d{6}Z$/.test(value)) problems.push(`${name} is not UTC (${value}): floating or date-only`);
    }
  }
  if (stack.length > 0) problems.push(`components left open: ${stack.join(', ')}`);
  const has = (prefix: string) => calendarProperties.some((line) => line.startsWith(prefix));
  if (!has('X-WR-CALNAME:')) problems.push('no X-WR-CALNAME');
  if (!has('REFRESH-INTERVAL;VALUE=DURATION:PT')) problems.push('no REFRESH-INTERVAL;VALUE=DURATION');
  if (!has('X-PUBLISHED-TTL:PT')) problems.push('no X-PUBLISHED-TTL');

  try {
    new ICAL.Component(ICAL.parse(text));
  } catch (error) {
    problems.push(`ical.js cannot parse it: ${(error as Error).message}`);
  }
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
