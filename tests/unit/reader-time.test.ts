import { DateTime } from 'luxon';
import t from 'tap';
import { readerTimeText } from '../../src/text.js';

/** The next December 4, 2:00 PM in Chicago (CST), from the clock: a winter date in both zones. */
const start = (() => {
  const now = DateTime.now().setZone('America/Chicago');
  let day = DateTime.fromObject({ year: now.year, month: 12, day: 4, hour: 14 }, { zone: 'America/Chicago' });
  if (day <= now) day = day.plus({ years: 1 });
  return day.toJSDate();
})();
const end = new Date(start.getTime() + 90 * 60_000);

t.test("the reader's zone first, the organizer's second; the date said again only when it differs", async (t) => {
  const newYork = readerTimeText(start, end, 'America/Chicago', 'America/New_York');
  t.match(newYork.primary, /^\w+day, December 4, \d{4}, 3:00 PM – 4:30 PM EST$/);
  t.equal(newYork.secondary, "2:00 PM – 3:30 PM CST in Chicago, the organizer's time");

  const tokyo = readerTimeText(start, end, 'America/Chicago', 'Asia/Tokyo');
  t.match(tokyo.primary, /^\w+day, December 5, \d{4}, 5:00 AM – 6:30 AM GMT\+9$/, 'the next morning in Tokyo');
  t.match(tokyo.secondary, /^\w+day, December 4, \d{4}, 2:00 PM – 3:30 PM CST in Chicago, the organizer's time$/, 'another date there: said');
});

t.test("the session's time alone when the reader's zone is unknown, invalid or keeps the same clock", async (t) => {
  for (const zone of [null, 'Mars/Olympus', 'America/Chicago', 'America/Winnipeg']) {
    const text = readerTimeText(start, end, 'America/Chicago', zone);
    t.match(text.primary, /2:00 PM – 3:30 PM CST$/, String(zone));
    t.equal(text.secondary, null, String(zone));
  }
});

t.test('a time said again is the same answer, kept apart by every part of the question', async (t) => {
  const first = readerTimeText(start, end, 'America/Chicago', 'America/New_York');
  const again = readerTimeText(new Date(start), new Date(end), 'America/Chicago', 'America/New_York');
  t.equal(again, first, 'the same answer for the same times and zones');
  t.ok(Object.isFrozen(first), 'shared, so nobody may change it');
  t.equal(readerTimeText(start, end, 'America/Chicago', null).secondary, null, 'another reader zone: another answer');
  t.match(readerTimeText(start, new Date(end.getTime() + 30 * 60_000), 'America/Chicago', 'America/New_York').primary, /3:00 PM – 5:00 PM EST$/, 'another end: another answer');
  t.match(readerTimeText(start, end, 'America/New_York', 'America/Chicago').secondary, /^3:00 PM – 4:30 PM EST in New York/, 'the zones swapped: another answer');
});
