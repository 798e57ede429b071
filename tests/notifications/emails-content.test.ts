import { mkdir, writeFile } from 'node:fs/promises';
import { DateTime } from 'luxon';
import t from 'tap';
import { notificationKind, type NotificationKind, type RegistrationStatus, type SessionRow } from '../../db/schema/index.js';
import { registrantEmailContext } from '../../src/services/notifications/delivery.js';
import { noticeOf, type StoredPayload } from '../../src/services/notifications/kinds.js';
import { renderEmail, type EmailContext, type RenderedEmail } from '../../src/services/notifications/templates.js';
import { DEFAULT_BRANDING, type Branding } from '../../src/services/settings.service.js';
import { htmlLinks, linkMismatch, textLinks } from '../helpers/email-links.js';

/**
 * The e-mails as templates render them, for every kind: responsive HTML, links whose words match
 * their targets, the reader's time first, how to join, what an update changed, hostile text
 * escaped. Each kind's HTML is also written to test-artifacts/emails/<kind>.html for screenshots.
 */

const ARTIFACTS = new URL('../../test-artifacts/emails/', import.meta.url);

const branding: Branding = {
  name: 'Mayors Innovation Network',
  website: 'https://www.mayors-network.example/',
  accentColor: '#8a1538',
  mailFromName: 'Mayors Innovation Network events',
  footer: 'The Mayors Innovation Network sends this e-mail because you registered for one of its online sessions.',
  privacyUrl: 'https://www.mayors-network.example/privacy',
  logoUrl: null,
};

const recordingUrl = 'https://video.mayors-network.example/recordings/42';

/** The next December 4 (a winter date: CST and EST), 2:00 PM in Chicago, from the clock. */
function nextDecemberFourth(): Date {
  const now = DateTime.now().setZone('America/Chicago');
  let start = now.set({ month: 12, day: 4, hour: 14, minute: 0, second: 0, millisecond: 0 });
  if (start <= now) start = start.plus({ years: 1 });
  return start.toJSDate();
}

const startsAt = nextDecemberFourth();
const endsAt = new Date(startsAt.getTime() + 90 * 60_000);

function session(overrides: Partial<SessionRow> = {}): SessionRow {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    title: 'Online privacy for mayors',
    timezone: 'America/Chicago',
    startsAt,
    endsAt,
    status: 'published',
    sequence: 2,
    joinUrl: 'https://us02web.zoom.us/j/123456789',
    joinInstructions: 'Passcode 4321',
    cancelReason: null,
    contactName: 'City Clerk',
    contactEmail: 'clerk@city.example',
    followUp: { message: 'Thank you for coming.\nThe slides are attached to the recording page.', recordingUrl },
    ...overrides,
  } as SessionRow;
}

const links = { manageLink: 'https://convene.example/m/manage-token-abcdefgh', joinLink: 'https://convene.example/j/join-token-abcdefgh' };

function contextFor(options: {
  status?: RegistrationStatus;
  session?: Partial<SessionRow>;
  zone?: string | null;
  name?: string;
  branding?: Branding;
  now?: Date;
}): EmailContext {
  return registrantEmailContext({
    session: session(options.session),
    registration: {
      name: options.name ?? 'Ana Reyes',
      status: options.status ?? 'confirmed',
      attendeeTimezone: options.zone === undefined ? 'America/New_York' : options.zone,
      offerExpiresAt: options.status === 'offered' ? new Date(startsAt.getTime() - 86_400_000) : null,
    },
    links,
    branding: options.branding ?? branding,
    waitlistPosition: options.status === 'waitlisted' ? 3 : null,
    joinWindowMinutes: 15,
    now: options.now ?? new Date(startsAt.getTime() - 2 * 86_400_000),
  });
}

const previous = {
  title: 'Privacy for mayors',
  startsAt: new Date(startsAt.getTime() - 86_400_000 - 3_600_000).toISOString(),
  endsAt: new Date(endsAt.getTime() - 86_400_000 - 3_600_000).toISOString(),
  timezone: 'America/Chicago',
};

/** Each kind in the state it is sent in, with the payload its writer stores. */
const cases: Record<NotificationKind, { payload: StoredPayload; context: EmailContext; cancelledState?: boolean }> = {
  confirmation: { payload: {}, context: contextFor({}) },
  waitlisted: { payload: {}, context: contextFor({ status: 'waitlisted' }) },
  promoted: { payload: {}, context: contextFor({}) },
  manage_link: { payload: {}, context: contextFor({}) },
  registration_cancelled: { payload: { previousStatus: 'confirmed' }, context: contextFor({ status: 'cancelled' }), cancelledState: true },
  session_updated: { payload: { sequence: 2, previous } as unknown as StoredPayload, context: contextFor({}) },
  session_cancelled: {
    payload: { sequence: 3 },
    context: contextFor({ session: { status: 'cancelled', cancelReason: 'The speaker is ill.' } }),
    cancelledState: true,
  },
  session_cancelled_waitlisted: {
    payload: { sequence: 3 },
    context: contextFor({ status: 'waitlisted', session: { status: 'cancelled', cancelReason: 'The speaker is ill.' } }),
    cancelledState: true,
  },
  reminder: { payload: { offset: 1440, startsAt: startsAt.toISOString(), lead: 'in 1 day' }, context: contextFor({}) },
  follow_up_attended: { payload: {}, context: contextFor({ now: new Date(endsAt.getTime() + 3_600_000) }) },
  follow_up_no_show: { payload: {}, context: contextFor({ now: new Date(endsAt.getTime() + 3_600_000) }) },
  request_received: { payload: {}, context: contextFor({ status: 'pending' }) },
  request_declined: { payload: { reason: 'This training is for member cities only.' }, context: contextFor({ status: 'declined' }) },
  offered: { payload: {}, context: contextFor({ status: 'offered' }) },
  offer_expired: { payload: {}, context: contextFor({ status: 'expired' }) },
  message: {
    payload: {},
    context: {
      ...contextFor({}),
      message: { subject: 'The meeting link changed', body: 'Please use the new link in your invite.\n\nThe slides follow next week.', test: false },
    },
  },
  series_summary: {
    payload: { seriesId: '00000000-0000-4000-8000-000000000005' },
    context: {
      ...contextFor({}),
      sessionTitle: 'Resilient cities: a three-part series',
      series: {
        title: 'Resilient cities: a three-part series',
        entries: [
          { title: 'Part 1: heat', time: contextFor({}).time, status: 'confirmed', waitlistPosition: null, manageLink: links.manageLink },
          { title: 'Part 2: water', time: contextFor({}).time, status: 'waitlisted', waitlistPosition: 2, manageLink: 'https://convene.example/m/manage-token-second' },
        ],
      },
    },
  },
};

async function render(kind: NotificationKind, context = cases[kind].context, payload = cases[kind].payload): Promise<RenderedEmail> {
  return renderEmail(context, noticeOf(kind, payload).content(context));
}

const rendered = new Map<NotificationKind, RenderedEmail>();
await mkdir(ARTIFACTS, { recursive: true });
for (const kind of notificationKind.enumValues) {
  const email = await render(kind);
  rendered.set(kind, email);
  await writeFile(new URL(`${kind}.html`, ARTIFACTS), email.html);
  await writeFile(new URL(`${kind}.txt`, ARTIFACTS), `Subject: ${email.subject}\n\n${email.text}`);
}

t.test('every kind: responsive HTML from the layout, with the organisation header, one button and the footer', async (t) => {
  for (const [kind, email] of rendered) {
    t.match(email.html, /<meta name="viewport" content="width=device-width, initial-scale=1">/, `${kind}: a viewport`);
    t.match(email.html, /^<!doctype html>/i, `${kind}: a whole document`);
    t.ok(email.html.includes('Mayors Innovation Network'), `${kind}: the organisation in the header`);
    t.ok(email.html.includes(branding.footer!), `${kind}: the footer`);
    t.ok(email.html.includes('#8a1538'), `${kind}: the accent colour`);
    t.notOk(email.html.includes('%%') || email.html.includes('#a1b2c3'), `${kind}: every slot filled`);
    t.equal((email.html.match(/<a\s[^>]*target="_blank"/g) ?? []).length, 1, `${kind}: one button`);
    t.notMatch(email.html, /Manage your registration \(cancel, calendar, join link\)/, `${kind}: not the old catch-all words`);
  }
});

t.test("every link's words match its target, in the HTML and in the text", async (t) => {
  const targets = { website: branding.website, privacyUrl: branding.privacyUrl, recordingUrl };
  for (const [kind, email] of rendered) {
    const html = htmlLinks(email.html);
    t.ok(html.length >= 2, `${kind}: links in the HTML`);
    t.same(html.map((link) => linkMismatch(link, targets)).filter(Boolean), [], `${kind}: HTML links say where they lead`);
    t.ok(html.some((link) => link.href === links.manageLink), `${kind}: the manage link`);
    t.ok(html.some((link) => link.href === branding.website && link.label === 'mayors-network.example'), `${kind}: the website, named`);
    t.ok(html.some((link) => link.href === branding.privacyUrl && link.label === 'Privacy notice'), `${kind}: the privacy notice`);
    const text = textLinks(email.text);
    t.same(text.map((link) => linkMismatch(link, targets)).filter(Boolean), [], `${kind}: text links say where they lead`);
    t.same(
      [...new Set(html.map((link) => link.href))].sort(),
      [...new Set(text.map((link) => link.href))].sort(),
      `${kind}: the text part writes out the same links`,
    );
  }
});

t.test('the button speaks of what the manage page offers in each state', async (t) => {
  const buttonOf = (html: string) => {
    const match = /<a\s[^>]*href="([^"]*)"[^>]*target="_blank"[^>]*>([\s\S]*?)<\/a>/.exec(html);
    return match ? match[2]!.replace(/<[^>]+>/g, '').trim() : null;
  };
  t.equal(buttonOf(rendered.get('confirmation')!.html), 'View or cancel your registration');
  t.equal(buttonOf(rendered.get('waitlisted')!.html), 'See your waitlist place');
  t.equal(buttonOf(rendered.get('registration_cancelled')!.html), 'View your registration');
  t.equal(buttonOf(rendered.get('session_cancelled')!.html), 'View your registration');
  t.equal(buttonOf(rendered.get('follow_up_attended')!.html), 'Watch the recording');
  for (const [kind, { cancelledState }] of Object.entries(cases)) {
    if (!cancelledState) continue;
    const email = rendered.get(kind as NotificationKind)!;
    const words = [...htmlLinks(email.html), ...textLinks(email.text)].map((link) => link.label);
    t.same(words.filter((label) => /cancel/i.test(label)), [], `${kind}: no link offers to cancel`);
    t.notMatch(email.text, /join link|Passcode|How to join/i, `${kind}: no join details`);
  }

  // Inside the join window the reminder's button is the join link itself.
  const inWindow = contextFor({ now: new Date(startsAt.getTime() - 10 * 60_000) });
  const reminder = await render('reminder', inWindow, { offset: 10, startsAt: startsAt.toISOString(), lead: 'in 10 minutes' });
  t.equal(buttonOf(reminder.html), 'Join the session now');
  t.match(reminder.html, new RegExp(`href="${links.joinLink}"[^>]*target="_blank"`), 'the button leads to the join link');
  t.match(reminder.text, 'Your personal link opens the meeting now.');
  t.ok(htmlLinks(reminder.html).some((link) => link.href === links.manageLink && link.label === 'View or cancel your registration'), 'the manage link under it');
  await writeFile(new URL('reminder-join-window.html', ARTIFACTS), reminder.html);
});

t.test("the reader's time first, the organizer's second", async (t) => {
  const email = rendered.get('confirmation')!;
  const primary = email.text.indexOf('3:00 PM – 4:30 PM EST');
  const secondary = email.text.indexOf('2:00 PM – 3:30 PM CST in Chicago');
  t.ok(primary > 0, "the New York attendee's time");
  t.ok(secondary > primary, "the organizer's time after it");
  t.match(email.html, /<strong>[^<]*3:00 PM – 4:30 PM EST<\/strong>/, 'the reader time is the bold line');
  t.match(email.text, /When: \w+day, December 4, \d{4}, 3:00 PM – 4:30 PM EST\n\(2:00 PM – 3:30 PM CST in Chicago, the organizer's time\)/, 'the same date there: not said twice');

  const noZone = await render('confirmation', contextFor({ zone: null }));
  t.match(noZone.text, /When: \w+day, December 4, \d{4}, 2:00 PM – 3:30 PM CST\n/, "without the reader's zone: the session's, with its short name");
  t.notMatch(noZone.text, /EST|organizer's time/);
  const badZone = await render('confirmation', contextFor({ zone: 'Mars/Olympus_Mons' }));
  t.equal(badZone.text, noZone.text, 'an unknown zone counts as none');
});

t.test('approval and offers: the waitlist e-mail says how a freed seat comes, the offer its deadline', async (t) => {
  const auto = await render('waitlisted', contextFor({ status: 'waitlisted' }));
  t.match(auto.text, /registered automatically/, 'auto mode: a freed seat is given at once');
  const offer = await render('waitlisted', contextFor({ status: 'waitlisted', session: { waitlistMode: 'offer', offerMinutes: 120 } }));
  t.match(offer.text, /held for you for 2 hours: you will get an e-mail with a link to accept it/, 'offer mode: held for the offer time');
  t.notMatch(offer.text, /automatically/);
  const offered = await render('offered');
  t.match(offered.text, /Accept by/, 'the offer gives its deadline');
  t.match(offered.text, /reader|New York|Chicago|E[SD]T|C[SD]T/, 'in named zones');
  const declined = await render('request_declined');
  t.match(declined.text, /This training is for member cities only\./, "the organizer's reason, as written");
});

t.test("a message: the organizer's words escaped, paragraphs kept, web addresses made links", async (t) => {
  const context = {
    ...contextFor({}),
    message: { subject: 'Slides <b>ready</b>\r\nBcc: x@evil.example', body: 'See <b>this</b>:\nhttps://example.org/slides?a=1&b=2\n\nمرحبا 🎉', test: false },
  };
  const email = await render('message', context);
  t.equal(email.subject, 'Slides <b>ready</b> Bcc: x@evil.example', 'the subject is one line');
  t.match(email.html, /See &lt;b&gt;this&lt;\/b&gt;:/, 'HTML in the body is text');
  t.match(email.html, /<a href="https:\/\/example\.org\/slides\?a=1&amp;b=2"[^>]*>https:\/\/example\.org\/slides\?a=1&amp;b=2<\/a>/, 'the address is a link');
  t.match(email.html, /مرحبا 🎉/, 'right-to-left text and emoji survive');
  t.match(email.text, /See <b>this<\/b>:\nhttps:\/\/example\.org\/slides\?a=1&b=2\n\nمرحبا 🎉/, 'the text part is the words as written');
  const test = await render('message', { ...context, message: { ...context.message, test: true } });
  t.match(test.subject, /^\[Test\] /, 'a test says so');
});

t.test('how to join: platform, labelled passcode or instructions, when the link opens, that it is personal', async (t) => {
  const email = rendered.get('confirmation')!;
  t.match(email.text, 'Online on Zoom');
  t.match(email.text, /^Passcode: 4321$/m, 'the passcode, labelled');
  t.match(email.html, '<strong>Passcode:</strong> 4321');
  t.match(email.text, /Your personal link opens at 2:45 PM EST on \w+day, December 4 \(15 minutes before the start\)\./, "opening time in the reader's zone");
  t.match(email.text, 'This link is yours: please do not forward it.');
  t.match(email.text, `Your personal join link: ${links.joinLink}`);
  for (const kind of ['promoted', 'reminder', 'session_updated', 'manage_link'] as const) {
    t.match(rendered.get(kind)!.text, /HOW TO JOIN[\s\S]*Passcode: 4321/, `${kind}: the how-to-join block`);
  }
  for (const kind of ['waitlisted', 'follow_up_attended'] as const) {
    t.notMatch(rendered.get(kind)!.text, /HOW TO JOIN/, `${kind}: no join details`);
  }

  const instructions = await render(
    'confirmation',
    contextFor({ session: { joinUrl: 'https://meet.example.org/room', joinInstructions: 'Dial in: +1 555 0100\nMeeting ID: 99 88' } }),
  );
  t.match(instructions.text, /HOW TO JOIN\nOnline\n/, 'an unknown platform: just online');
  t.match(instructions.text, 'Instructions:\nDial in: +1 555 0100\nMeeting ID: 99 88');
  t.match(instructions.html, '<strong>Instructions:</strong><br>Dial in: +1 555 0100<br>Meeting ID: 99 88');
});

t.test('the update says what changed and offers cancelling', async (t) => {
  const email = rendered.get('session_updated')!;
  const day = DateTime.fromJSDate(startsAt, { zone: 'America/New_York' }).toFormat('cccc, LLLL d');
  t.equal(email.subject, `Moved to ${day}: Online privacy for mayors`);
  t.match(email.text, /Title was: Privacy for mayors\n\nTitle now: Online privacy for mayors/);
  t.match(email.text, /Was: \w+day, December 3, \d{4}, 2:00 PM – 3:30 PM EST\n\(1:00 PM – 2:30 PM CST in Chicago/);
  t.match(email.text, /Now: \w+day, December 4, \d{4}, 3:00 PM – 4:30 PM EST/);
  t.ok(email.text.indexOf('Was: ') < email.text.indexOf('Now: '), 'old before new');
  t.match(email.text, `Can't make the new time? Cancel your registration: ${links.manageLink}`);
  t.ok(htmlLinks(email.html).some((link) => link.label === 'Cancel your registration' && link.href === links.manageLink));

  const sameDay = {
    ...previous,
    startsAt: new Date(startsAt.getTime() - 3_600_000).toISOString(),
    endsAt: new Date(endsAt.getTime() - 3_600_000).toISOString(),
    title: 'Online privacy for mayors',
  };
  t.equal((await render('session_updated', undefined, { sequence: 2, previous: sameDay } as unknown as StoredPayload)).subject, 'New time, 3:00 PM EST: Online privacy for mayors');
  const titleOnly = { ...previous, startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString() };
  const renamed = await render('session_updated', undefined, { sequence: 2, previous: titleOnly } as unknown as StoredPayload);
  t.equal(renamed.subject, 'New title: Online privacy for mayors');
  t.notMatch(renamed.text, /^Was: /m, 'no time change shown when the time did not change');
  t.match(renamed.text, "Can't make it any more? Cancel your registration");
  const old = await render('session_updated', undefined, { sequence: 2 });
  t.equal(old.subject, 'Updated: Online privacy for mayors', 'a row written before updates kept the old values');
  t.match(old.text, /When: /);
});

t.test('hostile names, titles and branding are escaped in the HTML and plain in the text', async (t) => {
  const hostile = '<script>alert(1)</script> "Zoë" & <b>bold</b>';
  const context = contextFor({
    name: hostile,
    session: { title: hostile, cancelReason: hostile, joinInstructions: `${hostile}\nline two` },
    branding: { ...branding, name: hostile, footer: hostile, website: 'javascript:alert(1)', accentColor: 'red;background:url(x)' },
  });
  for (const kind of ['confirmation', 'session_updated', 'follow_up_no_show'] as const) {
    const email = await render(kind, context);
    t.notMatch(email.html, /<script>|<b>bold/, `${kind}: no markup from people's text`);
    t.match(email.html, '&lt;script&gt;alert(1)&lt;/script&gt; &quot;Zoë&quot; &amp; &lt;b&gt;bold&lt;/b&gt;', `${kind}: escaped`);
    t.notMatch(email.html, /href="javascript:/i, `${kind}: no script address becomes a link`);
    t.notMatch(email.html, /red;background/, `${kind}: a colour that is not #rrggbb is not written into styles`);
    t.match(email.text, hostile, `${kind}: the text part has the words as typed`);
    t.notMatch(email.subject, /[\r\n]/, `${kind}: a one-line subject`);
  }
  const cancelled = await render('session_cancelled', { ...context, sessionCancelled: true, join: null, registrationStatus: 'confirmed' }, { sequence: 3 });
  t.notMatch(cancelled.html, /<script>/, 'the reason escaped');
});

t.test('the plain text reads well: no markup, entities or empty runs', async (t) => {
  for (const [kind, email] of rendered) {
    t.notMatch(email.text, /<[a-z/][^>]*>|&[a-z]+;|&#\d+;/i, `${kind}: no HTML residue`);
    t.notMatch(email.text, /\n{3,}/, `${kind}: no empty runs`);
    t.match(email.text, /^Mayors Innovation Network\n\n/, `${kind}: the organisation first`);
    t.match(email.text, /\n--\n/, `${kind}: a signature separator before the footer`);
  }
});

t.test('without settings: the default branding, no website or privacy links', async (t) => {
  const email = await render('confirmation', contextFor({ branding: DEFAULT_BRANDING }));
  t.match(email.text, /^Convene\n/);
  t.match(email.text, 'Convene sent you this e-mail because you registered for "Online privacy for mayors".');
  t.notMatch(email.text, /Privacy notice/);
  t.same(htmlLinks(email.html).map((link) => linkMismatch(link, {})).filter(Boolean), []);
});

t.test('a logo replaces the name in the header, with the name as its text alternative', async (t) => {
  const email = await render('confirmation', contextFor({ branding: { ...branding, logoUrl: 'https://convene.example/assets/logo?v=abc' } }));
  t.match(email.html, /<img src="https:\/\/convene\.example\/assets\/logo\?v=abc" alt="Mayors Innovation Network"/);
});

t.test('rendering is cheap once the layout is compiled', async (t) => {
  const context = cases.reminder.context;
  const content = noticeOf('reminder', cases.reminder.payload).content(context);
  const began = performance.now();
  for (let i = 0; i < 200; i++) await renderEmail(context, content);
  const perEmail = (performance.now() - began) / 200;
  t.ok(perEmail < 2, `about ${perEmail.toFixed(3)} ms an e-mail (MJML itself takes tens of ms)`);
});
