import { DateTime } from 'luxon';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const HTML_SPECIAL = /[&<>"']/;

export function escapeHtml(value: string): string {
  // Most text has nothing to escape: a test is much cheaper than a replace with a callback.
  return HTML_SPECIAL.test(value) ? value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!) : value;
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

/** An instant in a zone, e.g. for "the join link opens at ...". */
export function instantText(at: Date, timezone: string): string {
  return `${DateTime.fromJSDate(at, { zone: timezone }).toFormat('cccc, LLLL d, yyyy, h:mm a ZZZZ')} (${timezone})`;
}

/** One line, for headers: control characters never reach a header. */
export function headerText(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}
