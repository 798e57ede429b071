import { DateTime } from 'luxon';
import t from 'tap';
import { fanOutReminder } from '../../src/services/reminders.service.js';
import { uniqueEmail } from '../helpers/app.js';
import { htmlLinks, linkMismatch } from '../helpers/email-links.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { headerSection, MAIL_FROM_ADDRESS } from '../helpers/mail-checks.js';
import { startRedisProcess } from '../helpers/processes.js';
import { createSession, registered, registrationId } from '../helpers/registrations.js';
import { sleep } from '../helpers/waiting.js';

/**
 * The e-mails as they leave through the worker and SMTP, with the organisation's settings: the
 * From name, the header and footer, the reader's zone, the update's old and new time, bulk
 * headers. It writes the global settings row, so it runs on a database (and a Redis) of its own.
 */

const redis = await startRedisProcess(t);
const ctx = await startMailTest(t, { name: 'emails_branding', redisUrl: redis.url, worker: false });
const { app, database, sink, owner } = ctx;
const contact = { name: 'Network Desk', email: 'desk@mayors-network.example' };

/** The organisation's settings, written as the console would (the settings row, id 1). */
async function setBranding(values: { name: string; mailFromName: string; footer: string; website: string; privacyUrl: string; accentColor: string }) {
  await database.pool.query(
    `INSERT INTO settings (id, name, mail_from_name, footer, website, privacy_url, accent_color, updated_at)
     VALUES (1, $1, $2, $3, $4, $5, $6, now())
     ON CONFLICT (id) DO UPDATE SET name = $1, mail_from_name = $2, footer = $3, website = $4, privacy_url = $5, accent_color = $6, updated_at = now()`,
    [values.name, values.mailFromName, values.footer, values.website, values.privacyUrl, values.accentColor],
  );
}

/** The next December 4 at least two weeks ahead, 2:00 PM in Chicago (CST; New York is on EST). */
function nextDecemberFourth(): DateTime {
  const now = DateTime.now().setZone('America/Chicago');
  let start = now.set({ month: 12, day: 4, hour: 14, minute: 0, second: 0, millisecond: 0 });
  if (start < now.plus({ days: 14 })) start = start.plus({ years: 1 });
  return start;
}

const hostileSender = 'Mayors "Innovation" Network\r\nBcc: victim@evil.example, Zoë';
await setBranding({
  name: 'Mayors Innovation Network',
  mailFromName: hostileSender,
  footer: 'You get this e-mail because you registered for a Mayors Innovation Network session.',
  website: 'https://www.mayors-network.example/',
  privacyUrl: 'https://www.mayors-network.example/privacy',
  accentColor: '#8a1538',
});
await ctx.startWorker();

t.test("a New York attendee of a Chicago session: branded, her own time first, how to join; the update says what moved", async (t) => {
  const start = nextDecemberFourth();
  const session = await createSession(app, owner.headers, {
    title: 'Online privacy for mayors',
    timezone: 'America/Chicago',
    startsAt: start.toUTC().toISO(),
    endsAt: start.plus({ minutes: 90 }).toUTC().toISO(),
    contact,
    joinUrl: 'https://us02web.zoom.us/j/123456789',
    joinInstructions: 'Passcode 4321',
  });
  const email = uniqueEmail('ny');
  // The worker is held back until the registration has its zone (the form's hidden field does this).
  await ctx.stopWorker();
  await registered(app, session.slug, { name: 'Ana "NY" Reyes', email });
  const id = await registrationId(database.pool, session.id, email);
  await database.pool.query(`UPDATE registrations SET attendee_timezone = 'America/New_York' WHERE id = $1`, [id]);
  await ctx.startWorker();

  const [mail] = await sink.waitForMail(email, 1);
  const head = headerSection(mail!);
  t.same(mail!.parsed.from?.value.map((a) => a.address), [MAIL_FROM_ADDRESS], 'From: the MAIL_FROM address, and only it');
  t.equal(mail!.parsed.from?.value[0]?.name, 'Mayors "Innovation" Network Bcc: victim@evil.example, Zoë', 'From: the name from the settings, on one line');
  t.notMatch(head, /^bcc:/im, 'no Bcc header from the name');
  t.notMatch(head, /victim@evil\.example>/, 'the name never becomes an address');
  t.same(mail!.rcptTo, [email.toLowerCase()], 'one envelope recipient');
  t.match(head, /^Auto-Submitted: auto-generated$/m);
  t.notMatch(head, /^Precedence:/im, 'a confirmation is not bulk mail');
  t.match(mail!.html, /<meta name="viewport"/);
  t.match(mail!.html, /Mayors Innovation Network/, 'the organisation in the header');
  t.match(mail!.html, /#8a1538/, 'the accent colour');
  t.match(mail!.text, 'You get this e-mail because you registered for a Mayors Innovation Network session.', 'the footer');
  const targets = { website: 'https://www.mayors-network.example/', privacyUrl: 'https://www.mayors-network.example/privacy' };
  t.same(htmlLinks(mail!.html).map((link) => linkMismatch(link, targets)).filter(Boolean), [], "every link's words match its target");

  const ny = mail!.text.indexOf('3:00 PM – 4:30 PM EST');
  const chicago = mail!.text.indexOf('2:00 PM – 3:30 PM CST in Chicago');
  t.ok(ny > 0 && chicago > ny, "her own time first, the organizer's second");
  t.match(mail!.text, /^Passcode: 4321$/m, 'the passcode, labelled');
  t.match(mail!.text, 'Online on Zoom');
  t.match(mail!.text, /Your personal link opens at 2:45 PM EST on \w+day, December 4 \(15 minutes before the start\)\./);
  t.match(mail!.text, 'This link is yours: please do not forward it.');

  // Moved a day later and an hour earlier, and renamed.
  const moved = start.plus({ days: 1, hours: -1 });
  const patched = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sessions/${session.id}`,
    headers: owner.headers,
    payload: { title: 'Privacy and security for mayors', startsAt: moved.toUTC().toISO(), endsAt: moved.plus({ minutes: 90 }).toUTC().toISO() },
  });
  t.equal(patched.statusCode, 200, patched.body);
  const [, update] = await sink.waitForMail(email, 2);
  const newDay = moved.setZone('America/New_York').toFormat('cccc, LLLL d');
  t.equal(update!.parsed.subject, `Moved to ${newDay}: Privacy and security for mayors`);
  t.match(update!.text, /Title was: Online privacy for mayors/);
  t.match(update!.text, /Title now: Privacy and security for mayors/);
  t.match(update!.text, /Was: \w+day, December 4, \d{4}, 3:00 PM – 4:30 PM EST/, 'the old time, in her zone');
  t.match(update!.text, /Now: \w+day, December 5, \d{4}, 2:00 PM – 3:30 PM EST/, 'the new time, in her zone');
  t.match(update!.text, /Can't make the new time\? Cancel your registration: http:\/\/convene\.test\/m\//);
  t.match(update!.html, /Privacy and security for mayors/);

  const { rows } = await database.pool.query<{ payload: Record<string, unknown> }>(
    `SELECT payload FROM notifications WHERE registration_id = $1 AND kind = 'session_updated'`,
    [id],
  );
  t.same(rows[0]!.payload, {
    sequence: patched.json().sequence,
    previous: { title: 'Online privacy for mayors', startsAt: start.toUTC().toISO(), endsAt: start.plus({ minutes: 90 }).toUTC().toISO(), timezone: 'America/Chicago' },
  }, 'the update row keeps the session as it was');
});

t.test('bulk e-mails (reminders) carry Precedence: bulk', async (t) => {
  const session = await createSession(app, owner.headers, { contact, joinUrl: 'https://meet.example.org/room' }, { daysAhead: 3 });
  const email = uniqueEmail('bulk');
  await registered(app, session.slug, { name: 'Bulk Reader', email });
  await sink.waitForMail(email, 1);
  await fanOutReminder(database.db, { sessionId: session.id, offset: 60, startsAt: session.startsAt }, new Date());
  // The worker's outbox sweep hands the rows over.
  const [, reminder] = await sink.waitForMail(email, 2, 20_000);
  t.equal(reminder!.parsed.headers.get('x-convene-notification'), 'reminder');
  t.match(headerSection(reminder!), /^Precedence: bulk$/m);
  t.match(headerSection(reminder!), /^Auto-Submitted: auto-generated$/m);
  t.notMatch(headerSection(reminder!), /^List-Unsubscribe:/im);
  t.ok(reminder!.text.length > 0 && reminder!.html.length > 0, 'a text and an HTML part');
});

t.test('a settings change reaches the next e-mail', async (t) => {
  await setBranding({
    name: 'City Network',
    mailFromName: 'City Network events',
    footer: 'Sent by the City Network.',
    website: 'https://city.example/',
    privacyUrl: 'https://city.example/privacy',
    accentColor: '#005a70',
  });
  const session = await createSession(app, owner.headers, { contact });
  const email = uniqueEmail('later');
  // The worker trusts a branding read for a second.
  await sleep(1_200);
  await registered(app, session.slug, { name: 'Later Reader', email });
  const [mail] = await sink.waitForMail(email, 1);
  t.equal(mail!.parsed.from?.value[0]?.name, 'City Network events');
  t.match(mail!.html, /#005a70/);
  t.match(mail!.text, 'Sent by the City Network.');
});
