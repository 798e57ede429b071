import ical, { ICalAlarmType, ICalCalendarMethod, ICalEventStatus, type ICalCalendar } from 'ical-generator';

/**
 * The one place that writes iCalendar. ical-generator builds the objects; `finish` then corrects
 * what it gets wrong for calendar.md: it leaves the last line without CRLF, escapes `\` inside
 * quoted parameters (so ORGANIZER and ATTENDEE are written here), puts event properties after
 * VALARM, and folds by characters rather than octets. Times are written in UTC (`Z`), which every
 * calendar app converts to its own zone, so no VTIMEZONE can ever disagree with the database.
 */

const PRODUCT_ID = { company: 'Convene', product: 'Convene', language: 'EN' } as const;
const MAX_LINE_OCTETS = 75;

export interface InviteSession {
  id: string;
  title: string;
  summary: string | null;
  description: string | null;
  startsAt: Date;
  endsAt: Date;
  joinInstructions: string | null;
  contactName: string;
  contactEmail: string;
}

export interface InviteInput {
  method: 'REQUEST' | 'CANCEL';
  session: InviteSession;
  /** The stable identity of the (session, attendee) pair: the UID of every invite and feed entry. */
  attendeeId: string;
  attendee: { name: string; email: string };
  sequence: number;
  /** The organisation: its name (CN) and its sending address (never the recipient). */
  organizer: { name: string; email: string };
  joinLink: string | null;
  manageLink: string;
  stamp: Date;
  uidDomain: string;
}

export interface FeedEvent {
  uid: string;
  session: InviteSession;
  sequence: number;
  cancelled: boolean;
  /** The time the entry last changed: feeds must not depend on the clock. */
  stamp: Date;
  url: string | null;
  extraDescription: string | null;
}

export interface FeedInput {
  name: string;
  description?: string;
  /** How often a client should poll, in minutes (REFRESH-INTERVAL and X-PUBLISHED-TTL). */
  refreshMinutes: number;
  events: FeedEvent[];
}

export function inviteUid(sessionId: string, attendeeId: string, domain: string): string {
  return `session-${sessionId}-attendee-${attendeeId}@${domain}`;
}

export function sessionUid(sessionId: string, domain: string): string {
  return `session-${sessionId}@${domain}`;
}

/**
 * A name fit for a quoted parameter (CN). RFC 5545 has no escaping inside parameter values, so
 * what cannot stand there is dropped: a DQUOTE (removed, not replaced, so `Zoë "Z", Jr` reads
 * `Zoë Z, Jr`) and control characters (a space: they may separate words). Spaces are then
 * collapsed and none is left before punctuation.
 *
 * A backslash is an ordinary character and is written once (see `calendarUserLine`), except in
 * a typed `\n`: ical.js (Thunderbird) reads parameter values as TEXT and would turn it into a
 * line break inside the name, so it becomes a space, like the line break it stands for. (ical.js
 * also reads `\\`, `\,` and `\;` as one character; harmless, so those stay as typed.)
 * `^` is written as `^^`: parsers that follow RFC 6868 (ical.js among them) read a typed `^n` as
 * a newline and `^'` as a quote, so without this a name could still smuggle both into the CN.
 */
export function parameterText(value: string): string {
  return value
    .replace(/"/g, '')
    .replace(/[\u0000-\u001f\u007f]|\\[nN]/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/ (?=[,;:.!?])/g, '')
    .trim()
    .replace(/\^/g, '^^');
}

/**
 * An ORGANIZER or ATTENDEE line, written here rather than by ical-generator: it escapes `\` (and
 * `"`) inside quoted parameter values, where RFC 5545 has no escaping, so a backslash in a name
 * would reach calendar apps doubled. `parameters` are fixed tokens; the name goes through
 * `parameterText` and is omitted when nothing of it is left.
 */
export function calendarUserLine(property: 'ORGANIZER' | 'ATTENDEE', user: { name: string; email: string }, parameters: string[] = []): string {
  const name = parameterText(user.name);
  const all = [...parameters, ...(name ? [`CN="${name}"`] : [])];
  return `${property}${all.map((parameter) => `;${parameter}`).join('')}:mailto:${lineText(user.email).replace(/\s/g, '')}`;
}

/**
 * A TEXT value for ical-generator. It escapes newlines, `\`, `;` and `,`, but writes other
 * control characters (a title with a vertical tab, say) raw, and RFC 5545 allows none in TEXT:
 * those become spaces. CR LF and lone CR become one newline, which ical-generator escapes.
 */
export function textValue(value: string): string {
  return value.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ');
}

/** Text for one line: ical-generator escapes TEXT, but raw control characters would still break a line. */
export function lineText(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function description(session: InviteSession, extra: string[]): string {
  return textValue(
    [session.summary, session.description, session.joinInstructions, ...extra]
      .filter((part): part is string => Boolean(part && part.trim()))
      .join('\n\n'),
  );
}

/** Splits a content line into lines of at most 75 octets, never inside a UTF-8 character. */
export function foldLine(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let octets = 0;
  for (const char of line) {
    const size = Buffer.byteLength(char, 'utf8');
    const limit = out.length === 0 ? MAX_LINE_OCTETS : MAX_LINE_OCTETS - 1; // continuation lines start with a space
    if (octets + size > limit) {
      out.push(current);
      current = '';
      octets = 0;
    }
    current += char;
    octets += size;
  }
  out.push(current);
  return out.map((part, index) => (index === 0 ? part : ` ${part}`));
}

/**
 * Unfolds ical-generator's output, puts calendar properties before the components and each
 * event's VALARMs after its properties, adds `eventLines` (already valid content lines) to the
 * properties of every VEVENT, refolds by octets and ends every line in CRLF.
 */
export function finish(text: string, eventLines: string[] = []): string {
  const logical: string[] = [];
  for (const line of text.split(/\r\n|\n|\r/)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && logical.length > 0) logical[logical.length - 1] += line.slice(1);
    else if (line !== '') logical.push(line);
  }
  const calendarProperties: string[] = [];
  const components: string[] = [];
  let alarms: string[] = [];
  let depth = 0;
  let inAlarm = false;
  for (const line of logical) {
    if (line === 'BEGIN:VCALENDAR' || line === 'END:VCALENDAR') continue;
    if (line.startsWith('BEGIN:')) depth += 1;
    if (line === 'BEGIN:VALARM') inAlarm = true;
    if (depth === 0) calendarProperties.push(line);
    else if (inAlarm) alarms.push(line);
    else {
      if (line === 'END:VEVENT') {
        components.push(...eventLines, ...alarms);
        alarms = [];
      }
      components.push(line);
    }
    if (line === 'END:VALARM') inAlarm = false;
    if (line.startsWith('END:')) depth -= 1;
  }
  return ['BEGIN:VCALENDAR', ...calendarProperties, ...components, 'END:VCALENDAR'].flatMap(foldLine).join('\r\n') + '\r\n';
}

/** An iTIP invite (REQUEST) or cancellation (CANCEL) for one attendee. */
export function renderInvite(input: InviteInput): string {
  const cancel = input.method === 'CANCEL';
  const calendar = ical({ prodId: PRODUCT_ID, method: cancel ? ICalCalendarMethod.CANCEL : ICalCalendarMethod.REQUEST });
  const extra = [
    input.joinLink ? `Join: ${input.joinLink}` : null,
    `Manage your registration: ${input.manageLink}`,
  ].filter((part): part is string => part !== null);
  calendar.createEvent({
    id: inviteUid(input.session.id, input.attendeeId, input.uidDomain),
    sequence: input.sequence,
    stamp: input.stamp,
    start: input.session.startsAt,
    end: input.session.endsAt,
    summary: textValue(input.session.title),
    description: description(input.session, extra),
    location: input.joinLink ?? undefined,
    url: input.joinLink ?? undefined,
    status: cancel ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
    alarms: cancel ? [] : [{ type: ICalAlarmType.display, trigger: 15 * 60, description: textValue(input.session.title) }],
  });
  const people = [
    calendarUserLine('ORGANIZER', input.organizer),
    calendarUserLine('ATTENDEE', input.attendee, ['ROLE=REQ-PARTICIPANT', `PARTSTAT=${cancel ? 'DECLINED' : 'ACCEPTED'}`, 'RSVP=FALSE']),
  ];
  return finish(calendar.toString(), people);
}

/** A subscription feed: no METHOD, no ATTENDEE, DTSTAMP from the data so the bytes are deterministic. */
export function renderFeed(input: FeedInput): string {
  const calendar: ICalCalendar = ical({ prodId: PRODUCT_ID });
  calendar.x([
    ['X-WR-CALNAME', lineText(input.name)],
    ...(input.description ? ([['X-WR-CALDESC', lineText(input.description)]] as [string, string][]) : []),
    ['X-PUBLISHED-TTL', `PT${input.refreshMinutes}M`],
    ['REFRESH-INTERVAL;VALUE=DURATION', `PT${input.refreshMinutes}M`],
  ]);
  for (const event of input.events) {
    calendar.createEvent({
      id: event.uid,
      sequence: event.sequence,
      stamp: event.stamp,
      start: event.session.startsAt,
      end: event.session.endsAt,
      summary: textValue(event.session.title),
      description: description(event.session, event.extraDescription ? [event.extraDescription] : []),
      url: event.url ?? undefined,
      location: event.url ?? undefined,
      status: event.cancelled ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
    });
  }
  return finish(calendar.toString());
}
