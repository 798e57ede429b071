import { DateTime } from 'luxon';
import { timeRangeText, zonePlaceName } from '../text.js';
import type { InstantView } from './views.js';

export type { InstantView };

/**
 * Times as the pages write them before the script (src/web/assets.ts SCRIPT) rewrites them in
 * the visitor's own zone: the session's zone, with its short name and the place ("… CST in
 * Chicago"), so the text reads right without JavaScript. The markup carrying them is described
 * in src/web/templates.ts (`@when`).
 */

/** A session's time range, what `@when` and `@range` receive. */
export interface WhenView {
  /** In the session's zone: "Friday, December 4, 2026, 2:00 PM – 3:30 PM CST in Chicago". */
  whenText: string;
  startIso: string;
  endIso: string;
  timezone: string;
}

/** "Friday, December 4, 2026, 2:00 PM – 3:30 PM CST in Chicago". */
export function sessionZoneText(startsAt: Date, endsAt: Date, timezone: string): string {
  return `${timeRangeText(startsAt, endsAt, timezone)} in ${zonePlaceName(timezone)}`;
}

export function whenView(session: { startsAt: Date; endsAt: Date; timezone: string }): WhenView {
  return {
    whenText: sessionZoneText(session.startsAt, session.endsAt, session.timezone),
    startIso: session.startsAt.toISOString(),
    endIso: session.endsAt.toISOString(),
    timezone: session.timezone,
  };
}

/** One instant for `@instant`: "Friday, December 4, 2026, 1:45 PM CST in Chicago". */
export function instantView(at: Date, timezone: string): InstantView {
  const text = `${DateTime.fromJSDate(at, { zone: timezone }).toFormat('cccc, LLLL d, yyyy, h:mm a ZZZZ')} in ${zonePlaceName(timezone)}`;
  return { iso: at.toISOString(), text, zone: timezone };
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
