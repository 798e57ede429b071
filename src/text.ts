import { DateTime } from 'luxon';

/**
 * How values are written as text, the same in e-mails, pages, headers and form posts. Pure
 * functions with no dependency inside Convene, so every layer may import them.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const HTML_SPECIAL = /[&<>"']/;

export function escapeHtml(value: string): string {
  // Most text has nothing to escape: a test is much cheaper than a replace with a callback.
  return HTML_SPECIAL.test(value) ? value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!) : value;
}

/** One line: control characters (CR, LF, tabs) and line separators become spaces, so none reaches a header. */
export function singleLine(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}

/**
 * The words a form, a query or an environment variable uses for yes and no. An empty field is
 * not among them: only an unticked checkbox means no by sending nothing.
 */
const TRUE_WORDS = new Set(['true', 'on', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'off', 'no', '0']);

/** true or false for one of the words above (any case), undefined for anything else. */
export function booleanWord(value: string): boolean | undefined {
  const word = value.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

const recentTimeTexts = new Map<string, string>();
const RECENT_LIMIT = 256;

/**
 * "Friday, December 4, 2026, 2:00 PM – 3:30 PM CST (America/Chicago)": the session's own zone,
 * named. Remembered for recent sessions: a reminder to 10,000 people formats the same text.
 */
export function sessionTimeText(startsAt: Date, endsAt: Date, timezone: string): string {
  const key = `${startsAt.getTime()}|${endsAt.getTime()}|${timezone}`;
  const known = recentTimeTexts.get(key);
  if (known !== undefined) return known;
  const text = formatSessionTime(startsAt, endsAt, timezone);
  if (recentTimeTexts.size >= RECENT_LIMIT) recentTimeTexts.clear();
  recentTimeTexts.set(key, text);
  return text;
}

function formatSessionTime(startsAt: Date, endsAt: Date, timezone: string): string {
  const start = DateTime.fromJSDate(startsAt, { zone: timezone });
  const end = DateTime.fromJSDate(endsAt, { zone: timezone });
  const sameDay = start.hasSame(end, 'day');
  const endText = sameDay ? end.toFormat('h:mm a ZZZZ') : end.toFormat('cccc, LLLL d, yyyy, h:mm a ZZZZ');
  return `${start.toFormat('cccc, LLLL d, yyyy, h:mm a')} – ${endText} (${timezone})`;
}

/** "Thursday, December 3, 2026, 1:45 PM CST (America/Chicago)": an instant in the session's zone, named. */
export function instantText(at: Date, timezone: string): string {
  return `${DateTime.fromJSDate(at, { zone: timezone }).toFormat('cccc, LLLL d, yyyy, h:mm a ZZZZ')} (${timezone})`;
}

/** "2026-12-04 13:58": an instant in the session's zone, short, for a table whose header names the zone. */
export function shortInstantText(at: Date, timezone: string): string {
  // A table formats hundreds of these per page: one cached Intl formatter per zone costs a third
  // of luxon's fromJSDate(...).toFormat(...) for the same text.
  const parts: Record<string, string> = {};
  for (const part of shortFormatter(timezone).formatToParts(at)) parts[part.type] = part.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

const shortFormatters = new Map<string, Intl.DateTimeFormat>();

function shortFormatter(timezone: string): Intl.DateTimeFormat {
  let formatter = shortFormatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    shortFormatters.set(timezone, formatter);
  }
  return formatter;
}

/** "Chicago" for America/Chicago, "Buenos Aires" for America/Argentina/Buenos_Aires: a zone as people say it. */
export function zonePlaceName(timezone: string): string {
  if (timezone === 'UTC' || timezone === 'Etc/UTC') return 'UTC';
  return (timezone.split('/').pop() ?? timezone).replace(/_/g, ' ');
}

/** "Friday, December 4, 2026, 3:00 PM – 4:30 PM EST": a session's time in one zone, with its short name and no zone id. */
export function timeRangeText(startsAt: Date, endsAt: Date, timezone: string): string {
  const start = DateTime.fromJSDate(startsAt, { zone: timezone });
  const end = DateTime.fromJSDate(endsAt, { zone: timezone });
  const endText = start.hasSame(end, 'day') ? end.toFormat('h:mm a ZZZZ') : end.toFormat('cccc, LLLL d, yyyy, h:mm a ZZZZ');
  return `${start.toFormat('cccc, LLLL d, yyyy, h:mm a')} – ${endText}`;
}

/** "2:00 PM – 3:30 PM CST": the clock times alone, when the date is already said. */
function clockRangeText(startsAt: Date, endsAt: Date, timezone: string): string {
  const start = DateTime.fromJSDate(startsAt, { zone: timezone });
  const end = DateTime.fromJSDate(endsAt, { zone: timezone });
  if (!start.hasSame(end, 'day')) return timeRangeText(startsAt, endsAt, timezone);
  return `${start.toFormat('h:mm a')} – ${end.toFormat('h:mm a ZZZZ')}`;
}

/** Whether `timezone` is an IANA zone this runtime knows (a browser's report, a form field). */
export function isKnownZone(timezone: string): boolean {
  return timezone.length <= 64 && DateTime.local().setZone(timezone).isValid;
}

export interface ReaderTime {
  /** In the reader's zone when known, else in the session's: what to show first and bold. */
  primary: string;
  /** The session's own time, when the reader's zone differs: "2:00 PM – 3:30 PM CST in Chicago, the organizer's time". */
  secondary: string | null;
}

/**
 * Reader times already said, by session times and zones. A zone's name (luxon's ZZZZ) costs a new
 * Intl formatter each time, about 0.2 ms, and the confirmations of a crowd registering for one
 * session all say the same few times.
 */
const readerTimes = new Map<string, Readonly<ReaderTime>>();

/**
 * A session's time for one reader: their own zone first (e-mails know it from the zone the
 * browser reported at registration), the session's zone second; the session's zone alone when
 * the reader's is unknown or the same clock.
 */
export function readerTimeText(startsAt: Date, endsAt: Date, sessionZone: string, readerZone: string | null): Readonly<ReaderTime> {
  const key = `${startsAt.getTime()} ${endsAt.getTime()} ${sessionZone} ${readerZone ?? ''}`;
  let time = readerTimes.get(key);
  if (time === undefined) {
    time = Object.freeze(sayReaderTime(startsAt, endsAt, sessionZone, readerZone));
    if (readerTimes.size >= 1_000) readerTimes.clear();
    readerTimes.set(key, time);
  }
  return time;
}

function sayReaderTime(startsAt: Date, endsAt: Date, sessionZone: string, readerZone: string | null): ReaderTime {
  const session = timeRangeText(startsAt, endsAt, sessionZone);
  if (!readerZone || !isKnownZone(readerZone)) return { primary: session, secondary: null };
  const reader = timeRangeText(startsAt, endsAt, readerZone);
  const sameClock =
    DateTime.fromJSDate(startsAt, { zone: readerZone }).offset === DateTime.fromJSDate(startsAt, { zone: sessionZone }).offset &&
    DateTime.fromJSDate(endsAt, { zone: readerZone }).offset === DateTime.fromJSDate(endsAt, { zone: sessionZone }).offset;
  if (sameClock) return { primary: session, secondary: null };
  // The organizer's time repeats the date only when it is another day there.
  const sameDate = DateTime.fromJSDate(startsAt, { zone: readerZone }).toISODate() === DateTime.fromJSDate(startsAt, { zone: sessionZone }).toISODate();
  const organizers = sameDate ? clockRangeText(startsAt, endsAt, sessionZone) : session;
  return { primary: reader, secondary: `${organizers} in ${zonePlaceName(sessionZone)}, the organizer's time` };
}

/** "1 day, 3 hours", "2 hours, 5 minutes", "4 minutes, 12 seconds": the time left, two units at most (the script writes the same). */
export function durationText(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const units: Array<[number, string]> = [
    [Math.floor(seconds / 86_400), 'day'],
    [Math.floor((seconds % 86_400) / 3600), 'hour'],
    [Math.floor((seconds % 3600) / 60), 'minute'],
    [seconds % 60, 'second'],
  ];
  const first = units.findIndex(([n]) => n > 0);
  if (first === -1) return '0 seconds';
  return units
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n} ${unit}${n === 1 ? '' : 's'}`)
    .join(', ');
}
