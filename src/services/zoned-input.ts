import { DateTime, IANAZone } from 'luxon';

/**
 * Wall-clock times typed into a form (`<input type="datetime-local">`: "2026-12-04T14:00", no
 * zone) read in a named IANA zone, and instants written back in that form. Pure functions, so
 * the console's session form and its tests share one reading of the two awkward cases:
 *
 * - a time that does not exist in the zone (the hour skipped when clocks go forward, e.g.
 *   02:30 on the second Sunday of March in America/Chicago) is refused with a message, never
 *   silently moved: an organizer who typed it has a mistake to fix;
 * - a time that exists twice (the hour repeated when clocks go back) is read as the FIRST of
 *   the two, the one before the change (daylight time in autumn), as calendar apps do; the form
 *   names the zone's abbreviation beside the saved time, so the reading is visible.
 */

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

export type ZonedReading =
  | { ok: true; instant: Date }
  | { ok: false; reason: 'format' | 'zone' | 'gap'; message: string };

export function isZone(zone: string): boolean {
  return zone !== '' && IANAZone.isValidZone(zone);
}

/** Reads "YYYY-MM-DDTHH:mm[:ss]" as a wall-clock time in `zone`. */
export function readLocalDateTime(value: string, zone: string): ZonedReading {
  const match = LOCAL_INPUT.exec(value.trim());
  if (!match) return { ok: false, reason: 'format', message: 'Enter a date and time, like 2026-12-04 14:00' };
  if (!isZone(zone)) return { ok: false, reason: 'zone', message: 'Choose a valid time zone first' };
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const wanted = { year, month, day, hour, minute, second };
  const calendar = DateTime.fromObject({ year, month, day }, { zone: 'UTC' });
  if (!calendar.isValid || calendar.month !== month || calendar.day !== day || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, reason: 'format', message: 'Enter a date and time that exist, like 2026-12-04 14:00' };
  }
  // Every instant whose wall clock in the zone reads the typed time: none in a gap, two in an
  // overlap. Offsets within a day of it are the only candidates (no zone jumps more than a day).
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const offsets = new Set<number>();
  for (const probe of [asUtc - 86_400_000, asUtc, asUtc + 86_400_000]) {
    offsets.add(DateTime.fromMillis(probe, { zone }).offset);
  }
  const matches = [...offsets]
    .map((offset) => asUtc - offset * 60_000)
    .filter((millis) => sameWallClock(DateTime.fromMillis(millis, { zone }), wanted))
    .sort((a, b) => a - b);
  if (matches.length === 0) {
    return {
      ok: false,
      reason: 'gap',
      message: `${value.trim().replace('T', ' ')} does not exist in ${zone}: the clocks go forward then. Choose a time outside the skipped hour`,
    };
  }
  return { ok: true, instant: new Date(matches[0]!) };
}

function sameWallClock(at: DateTime, wanted: { year: number; month: number; day: number; hour: number; minute: number; second: number }): boolean {
  return (
    at.year === wanted.year &&
    at.month === wanted.month &&
    at.day === wanted.day &&
    at.hour === wanted.hour &&
    at.minute === wanted.minute &&
    at.second === wanted.second
  );
}

/** An instant as a `datetime-local` value in `zone` (minutes; seconds only when set). */
export function toLocalInput(instant: Date, zone: string): string {
  const local = DateTime.fromJSDate(instant, { zone });
  return local.toFormat(local.second === 0 ? "yyyy-MM-dd'T'HH:mm" : "yyyy-MM-dd'T'HH:mm:ss");
}

/** The IANA zones the runtime knows, for a select; `include` (a stored zone) is kept if missing. */
export function timeZoneNames(include?: string): string[] {
  const names = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['America/Chicago', 'UTC'];
  const all = new Set(names);
  all.add('UTC');
  if (include && isZone(include)) all.add(include);
  return [...all].sort();
}
