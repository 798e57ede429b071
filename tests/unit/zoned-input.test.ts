import t from 'tap';
import { DateTime } from 'luxon';
import { isZone, readLocalDateTime, timeZoneNames, toLocalInput } from '../../src/services/zoned-input.js';
import { gapTime, nextTransition, overlapTime } from '../helpers/zones.js';

const CHICAGO = 'America/Chicago';

t.test('an ordinary time is read in the zone given', async (t) => {
  const year = new Date().getUTCFullYear() + 1;
  const winter = readLocalDateTime(`${year}-12-04T14:00`, CHICAGO);
  t.ok(winter.ok);
  if (winter.ok) t.equal(winter.instant.toISOString(), `${year}-12-04T20:00:00.000Z`, 'CST is UTC-6');
  const summer = readLocalDateTime(`${year}-07-04T14:00`, CHICAGO);
  if (summer.ok) t.equal(summer.instant.toISOString(), `${year}-07-04T19:00:00.000Z`, 'CDT is UTC-5');
  else t.fail('summer time not read');
  const tokyo = readLocalDateTime(`${year}-12-04T14:00:30`, 'Asia/Tokyo');
  if (tokyo.ok) t.equal(tokyo.instant.toISOString(), `${year}-12-04T05:00:30.000Z`, 'seconds are kept');
  else t.fail('Tokyo time not read');
});

t.test('a time inside the hour skipped at the next spring-forward is refused, naming the zone', async (t) => {
  const gap = gapTime(CHICAGO, new Date());
  t.match(gap, /T02:30$/, 'Chicago skips 02:00 to 03:00');
  const reading = readLocalDateTime(gap, CHICAGO);
  t.equal(reading.ok, false);
  if (!reading.ok) {
    t.equal(reading.reason, 'gap');
    t.match(reading.message, /does not exist in America\/Chicago/);
  }
  // The minutes either side of the gap exist.
  const before = readLocalDateTime(gap.replace('T02:30', 'T01:59'), CHICAGO);
  const after = readLocalDateTime(gap.replace('T02:30', 'T03:00'), CHICAGO);
  t.ok(before.ok && after.ok, 'the edges of the gap are accepted');
  if (before.ok && after.ok) t.equal(after.instant.getTime() - before.instant.getTime(), 60_000, 'one real minute apart');
  // A zone without the transition takes the same wall time.
  t.ok(readLocalDateTime(gap, 'Asia/Tokyo').ok);
});

t.test('a time that happens twice at the next fall-back is read as the first of the two', async (t) => {
  const overlap = overlapTime(CHICAGO, new Date());
  t.not(overlap.first.getTime(), overlap.second.getTime());
  t.equal(DateTime.fromJSDate(overlap.first, { zone: CHICAGO }).toFormat("yyyy-MM-dd'T'HH:mm"), overlap.local, 'both instants read the same');
  t.equal(DateTime.fromJSDate(overlap.second, { zone: CHICAGO }).toFormat("yyyy-MM-dd'T'HH:mm"), overlap.local);
  const reading = readLocalDateTime(overlap.local, CHICAGO);
  t.ok(reading.ok);
  if (reading.ok) t.equal(reading.instant.toISOString(), overlap.first.toISOString(), 'the earlier instant (daylight time)');
});

t.test('malformed values and zones get their own reasons', async (t) => {
  for (const value of ['', '2026-12-04', '2026-12-04 14:00x', '04/12/2026 14:00', '2026-02-30T10:00', '2026-12-04T24:00', '2026-12-04T10:60']) {
    const reading = readLocalDateTime(value, CHICAGO);
    t.equal(reading.ok ? 'ok' : reading.reason, 'format', JSON.stringify(value));
  }
  const badZone = readLocalDateTime('2026-12-04T14:00', 'America/Atlantis');
  t.equal(badZone.ok ? 'ok' : badZone.reason, 'zone');
  t.equal(isZone('America/Atlantis'), false);
  t.equal(isZone(''), false);
  t.equal(isZone('Europe/Berlin'), true);
});

t.test('round trip: an instant written in a zone reads back as itself, across both transitions', async (t) => {
  const now = new Date();
  now.setUTCSeconds(0, 0);
  const forward = nextTransition(CHICAGO, now, 'forward').at.getTime();
  const back = nextTransition(CHICAGO, now, 'back').at.getTime();
  let checked = 0;
  for (const centre of [forward, back]) {
    for (let at = centre - 3 * 3_600_000; at <= centre + 3 * 3_600_000; at += 15 * 60_000) {
      const local = toLocalInput(new Date(at), CHICAGO);
      const reading = readLocalDateTime(local, CHICAGO);
      // In the repeated hour, the second instants read back as the first: the documented choice.
      const inRepeat = centre === back && at >= back && at < back + 3_600_000;
      const expected = inRepeat ? at - 3_600_000 : at;
      t.equal(reading.ok ? reading.instant.getTime() : NaN, expected, `${new Date(at).toISOString()} as ${local}`);
      checked += 1;
    }
  }
  t.equal(checked, 2 * 25);
  t.equal(toLocalInput(new Date(Date.UTC(2030, 0, 2, 3, 4, 5)), 'UTC'), '2030-01-02T03:04:05', 'seconds shown only when set');
});

t.test('the zone list holds the IANA zones and keeps a stored one', async (t) => {
  const names = timeZoneNames();
  t.ok(names.includes(CHICAGO));
  t.ok(names.includes('UTC'));
  t.same([...names].sort(), names, 'sorted');
  t.notOk(timeZoneNames('Not/AZone').includes('Not/AZone'), 'an invalid stored zone is not offered');
});
