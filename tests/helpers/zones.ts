import { DateTime } from 'luxon';

/**
 * The next change of a zone's offset after `after`, found hour by hour (transitions fall on whole
 * hours in the zones tests use): the instant of the change and the offsets before and after.
 */
export function nextTransition(zone: string, after: Date, direction: 'forward' | 'back'): { at: Date; before: number; after: number } {
  let at = Math.ceil(after.getTime() / 3_600_000) * 3_600_000;
  const end = at + 400 * 86_400_000;
  let before = DateTime.fromMillis(at - 3_600_000, { zone }).offset;
  for (; at < end; at += 3_600_000) {
    const offset = DateTime.fromMillis(at, { zone }).offset;
    if (offset !== before && (offset > before) === (direction === 'forward')) return { at: new Date(at), before, after: offset };
    before = offset;
  }
  throw new Error(`no ${direction} transition in ${zone} within 400 days`);
}

/** A wall-clock time ("YYYY-MM-DDTHH:30") inside the hour skipped at the next spring-forward in `zone`. */
export function gapTime(zone: string, after: Date): string {
  const { at } = nextTransition(zone, after, 'forward');
  const lastBefore = DateTime.fromMillis(at.getTime() - 3_600_000, { zone });
  const skipped = lastBefore.plus({ hours: 1 }).setZone(`UTC${offsetText(lastBefore.offset)}`);
  return skipped.toFormat("yyyy-MM-dd'T'HH") + ':30';
}

/** A wall-clock time ("YYYY-MM-DDTHH:30") that happens twice at the next fall-back in `zone`, and its two instants. */
export function overlapTime(zone: string, after: Date): { local: string; first: Date; second: Date } {
  const { at } = nextTransition(zone, after, 'back');
  const local = DateTime.fromMillis(at.getTime() + 30 * 60_000, { zone }).toFormat("yyyy-MM-dd'T'HH:mm");
  return { local, first: new Date(at.getTime() - 30 * 60_000), second: new Date(at.getTime() + 30 * 60_000) };
}

function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : ''}`;
}
