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

