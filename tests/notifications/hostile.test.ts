import t from 'tap';
import { renderInvite } from '../../src/services/calendar/index.js';
import { uniqueEmail } from '../helpers/app.js';
import { checkInvite, icsProblems, inviteFacts, INVITE_EVENT_PROPERTIES } from '../helpers/ics.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { checkMail, headerSection, manageTokenOf } from '../helpers/mail-checks.js';
import { createSession, registered } from '../helpers/registrations.js';

/**
 * Hostile names and titles through the whole path (API, outbox, worker, SMTP) and straight
 * through the renderer: every invite keeps the byte rules, parses as one event with no extra
 * properties, and no name or title injects an e-mail header or HTML.
 */

const ctx = await startMailTest(t, { name: 'hostile', redisDb: 12 });
const { app, database, sink, owner } = ctx;

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const contact = { name: `Ops "Team", Inc; back\\slash 😀 ^n`, email: 'ops@org.example' };
const title = `Réunion "Q&A", part 1; back\\slash 😀 <b>bold</b>\r\nX-INJECTED:1\u000b ${'é'.repeat(30)}${'🎉'.repeat(20)}`;

t.test('hostile names and titles through the whole path', async (t) => {
  const session = await createSession(app, owner.headers, {
    title,
    summary: 'Short; summary, with \\ chars',
    description: `Line one; with, punctuation \\ and 😀\r\nLine two\nBEGIN:VALARM\n${'Long text ü '.repeat(80)}`,
    joinInstructions: 'Dial in:\r\n+1 555 0100; PIN 1234\\5',
    joinUrl: 'https://meet.example.org/hostile',
    contact,
  });

  const people = [
    { label: 'quotes and punctuation', name: `O'Brien, "Bobby"; Tables \\ 😀` },
    { label: 'very long, multi-byte', name: `Ünïcødé Ñame ${'😀'.repeat(80)} ${'ü'.repeat(60)}` },
    { label: 'CR/LF header injection', name: 'x\r\nBcc: a@evil.example' },
    { label: 'address lookalike', name: 'Eve <a@evil.example>, b@evil.example' },
    { label: 'HTML', name: '<img src=x onerror=alert(1)>' },
    { label: 'RFC 6868 carets', name: `Caret ^n ^' ^^ name` },
  ].map((person) => ({ ...person, email: uniqueEmail('hostile') }));
  for (const person of people) await registered(app, session.slug, { name: person.name, email: person.email });

  for (const person of people) {
    const [mail] = await sink.waitForMail(person.email, 1);
    const label = person.label;
    const facts = checkMail(t, mail!, { to: person.email, contact, invite: 'REQUEST' }, label)!;
    const { rows } = await database.pool.query<{ name: string }>(
      `SELECT r.name FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2`,
      [session.id, person.email],
    );
    const stored = rows[0]!.name;
    t.notMatch(stored, CONTROL, `${label}: the stored name holds no control characters`);

    // The invite: the attendee's CN is the name, without quotes or control characters.
    const cn = facts.attendees[0]!.cn ?? '';
    t.notMatch(cn, /["\r\n]/, `${label}: CN holds no quote, CR or LF (as ical.js reads it)`);
    t.notMatch(cn, CONTROL, `${label}: CN holds no control character`);
    // Quotes dropped without leaving a space before punctuation (calendar-details.test.ts has the byte rules).
    const expectedCn = stored.replace(/"/g, '').replace(/\s+/g, ' ').replace(/ (?=[,;:.!?])/g, '').trim();
    t.equal(cn, expectedCn, `${label}: CN is the name`);
    t.notMatch(facts.organizers[0]!.cn ?? '', /["\r\n]/, `${label}: ORGANIZER CN holds no quote, CR or LF`);
    t.ok(facts.summary.includes('Réunion "Q&A", part 1; back\\slash 😀 <b>bold</b>'), `${label}: SUMMARY keeps the title's characters`);
    t.ok(facts.summary.includes('🎉'.repeat(20)), `${label}: SUMMARY keeps the emoji`);
    t.notMatch(facts.summary, CONTROL, `${label}: SUMMARY holds no control character`);
    t.ok(facts.description.includes('Line one; with, punctuation \\ and 😀'), `${label}: DESCRIPTION keeps its text`);
    t.ok(facts.description.includes('+1 555 0100; PIN 1234\\5'), `${label}: DESCRIPTION holds the join instructions`);
    t.equal(facts.alarms, 1, `${label}: one VALARM (the description's BEGIN:VALARM is text)`);

    // The e-mail: one line per header, the name escaped in HTML.
    const headers = headerSection(mail!);
    t.notMatch(headers, /^(bcc|cc|x-injected):/im, `${label}: no injected header`);
    t.equal(headers.match(/^to:/gim)?.length, 1, `${label}: one To header`);
    t.equal(headers.match(/^subject:/gim)?.length, 1, `${label}: one Subject header`);
    t.notOk(mail!.parsed.headers.has('bcc'), `${label}: mailparser sees no Bcc`);
    t.notMatch(mail!.parsed.subject ?? '', /[\r\n]/, `${label}: the subject is one line`);
    t.match(mail!.parsed.subject ?? '', /^You're registered: Réunion "Q&A", part 1; back\\slash 😀 <b>bold<\/b> X-INJECTED:1 é/);
    const to = Array.isArray(mail!.parsed.to) ? mail!.parsed.to.flatMap((a) => a.value) : (mail!.parsed.to?.value ?? []);
    t.same(to.map((a) => [a.name, a.address]), [[stored, person.email]], `${label}: To is the stored name and the one address`);
    t.ok(mail!.text.includes(`\n\nHello ${stored},\n\n`), `${label}: the text greets the stored name`);
    t.notMatch(mail!.html, /<img|<b>bold/, `${label}: no markup from a name or title in the HTML`);
    t.match(mail!.html, /&lt;b&gt;bold&lt;\/b&gt;/, `${label}: the title is escaped in the HTML`);

    // The download has the same bytes rules.
    const download = await app.inject({ method: 'GET', url: `/api/v1/registrations/${manageTokenOf(mail!)}/invite.ics` });
    t.equal(download.statusCode, 200);
    const downloaded = checkInvite(t, download.rawPayload, `${label} (invite.ics)`);
    t.equal(downloaded.uid, facts.uid);
    t.equal(downloaded.attendees[0]!.cn, cn);
  }

  const injected = people.find((p) => p.label === 'CR/LF header injection')!;
  const [injectedMail] = sink.to(injected.email);
  t.same(injectedMail!.rcptTo, [injected.email], 'the injection attempt has exactly one envelope recipient');
  t.equal(sink.to('a@evil.example').length, 0, 'nothing went to the injected address');
  t.equal(sink.to('b@evil.example').length, 0, 'nothing went to the lookalike address');
  const html = people.find((p) => p.label === 'HTML')!;
  t.match(sink.to(html.email)[0]!.html, /Hello &lt;img src=x onerror=alert\(1\)&gt;,/, 'the <img> name is escaped in the HTML');
});

/** A small seeded generator: the same hostile strings on every run. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const PIECES = [
  '"', ',', ';', ':', '\\', '\\n', '\r', '\n', '\r\n', '\t', '\u000b', '\u0000', '\u007f', '^', '^n', "^'", '^^',
  '😀', '👩‍👩‍👧', 'é', '中文', '\u2028', '\u00a0', ' ', 'a', 'Name', 'BEGIN:VALARM', 'END:VEVENT', 'DESCRIPTION:x',
  'x'.repeat(74), 'ü'.repeat(40), '<b>', '&amp;',
];

function hostileString(next: () => number, maxPieces: number): string {
  const count = 1 + Math.floor(next() * maxPieces);
  let out = '';
  for (let i = 0; i < count; i += 1) out += PIECES[Math.floor(next() * PIECES.length)];
  return out;
}

t.test('the renderer keeps the byte rules for any name, title and description', async (t) => {
  const next = random(20_260_308);
  const failures: string[] = [];
  for (let run = 0; run < 300; run += 1) {
    const input = {
      title: hostileString(next, 30),
      description: hostileString(next, 60),
      name: hostileString(next, 20),
      contactName: hostileString(next, 10),
    };
    const method = run % 3 === 0 ? 'CANCEL' : 'REQUEST';
    const ics = renderInvite({
      method,
      session: {
        id: '00000000-0000-4000-8000-000000000001',
        title: input.title,
        summary: null,
        description: input.description,
        startsAt: new Date('2030-03-10T07:30:00Z'),
        endsAt: new Date('2030-03-10T09:00:00Z'),
        joinInstructions: null,
        contactName: input.contactName,
        contactEmail: 'contact@org.example',
      },
      attendeeId: '00000000-0000-4000-8000-000000000002',
      attendee: { name: input.name, email: 'person@example.org' },
      sequence: run,
      organizer: { name: input.contactName, email: 'events@mail.convene.test' },
      joinLink: method === 'REQUEST' ? 'http://convene.test/j/abcdefghijklmnopqrstuv' : null,
      manageLink: 'http://convene.test/m/abcdefghijklmnopqrstuv',
      stamp: new Date('2030-01-01T00:00:00Z'),
      uidDomain: 'convene.test',
    });
    const problems = icsProblems(ics);
    let facts;
    try {
      facts = inviteFacts(ics);
    } catch (error) {
      problems.push(`ical.js: ${(error as Error).message}`);
    }
    if (facts) {
      const unexpected = facts.properties.filter((name) => !INVITE_EVENT_PROPERTIES.has(name));
      if (unexpected.length > 0) problems.push(`unexpected properties ${unexpected.join(', ')}`);
      if (facts.attendees.length !== 1 || facts.organizers.length !== 1) problems.push('not one ATTENDEE and one ORGANIZER');
      if (facts.alarms !== (method === 'REQUEST' ? 1 : 0)) problems.push(`${facts.alarms} VALARMs`);
      for (const cn of [facts.attendees[0]?.cn ?? '', facts.organizers[0]?.cn ?? '']) {
        if (/["\r\n]/.test(cn) || CONTROL.test(cn)) problems.push(`CN ${JSON.stringify(cn)}`);
      }
      if (CONTROL.test(facts.summary) || CONTROL.test(facts.description)) problems.push('a control character in SUMMARY or DESCRIPTION');
      // Every visible character of the title survives (control characters become spaces or newlines).
      const visible = (value: string) => value.replace(/[\s\u0000-\u001f\u007f]+/g, '');
      if (visible(facts.summary) !== visible(input.title)) problems.push(`SUMMARY ${JSON.stringify(facts.summary)}`);
      if (facts.sequence !== run) problems.push(`SEQUENCE ${facts.sequence}`);
      if (facts.start.toISOString() !== '2030-03-10T07:30:00.000Z') problems.push(`DTSTART ${facts.start.toISOString()}`);
    }
    if (problems.length > 0) failures.push(`${JSON.stringify(input)}: ${problems.join('; ')}`);
  }
  t.same(failures.slice(0, 5), [], `every hostile input renders a valid invite (${failures.length} of 300 failed)`);
});

t.test('the byte checker itself catches each broken rule', async (t) => {
  const good = [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//x//y//EN', 'METHOD:REQUEST',
    'BEGIN:VEVENT', 'UID:u@x', 'DTSTAMP:20300101T000000Z', 'DTSTART:20300101T100000Z', 'DTEND:20300101T110000Z', 'SUMMARY:ok',
    'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT15M', 'DESCRIPTION:ok', 'END:VALARM',
    'END:VEVENT', 'END:VCALENDAR',
  ];
  const join = (lines: string[]) => lines.join('\r\n') + '\r\n';
  t.same(icsProblems(join(good)), [], 'a valid invite passes');
  const splitFold = Buffer.concat([
    Buffer.from(join(good).split('SUMMARY:ok')[0]!),
    Buffer.from('SUMMARY:\xc3\r\n \xa9\r\n', 'latin1'), // é (C3 A9) cut in two by a fold
    Buffer.from(join(good).split('SUMMARY:ok\r\n')[1]!),
  ]);
  const broken: Array<[string, Buffer | string, RegExp]> = [
    ['no final CRLF', join(good).slice(0, -2), /last line/],
    ['a bare LF', join(good).replace('SUMMARY:ok\r\n', 'SUMMARY:ok\n'), /bare CR or LF/],
    ['a line of 76 octets', join(good).replace('SUMMARY:ok', `SUMMARY:${'x'.repeat(68)}`), /76 octets/],
    ['a fold inside a UTF-8 character', splitFold, /UTF-8/],
    ['a raw control character', join(good).replace('SUMMARY:ok', 'SUMMARY:o\u000bk'), /control character 0x0b/],
    ['an event property after VALARM', join(good).replace('END:VALARM\r\n', 'END:VALARM\r\nLOCATION:x\r\n'), /LOCATION comes after a sub-component/],
    ['a calendar property after VEVENT', join(good).replace('END:VEVENT\r\n', 'END:VEVENT\r\nX-WR-CALNAME:x\r\n'), /X-WR-CALNAME comes after/],
    ['a floating DTSTART', join(good).replace('DTSTART:20300101T100000Z', 'DTSTART:20300101T100000'), /DTSTART is not UTC/],
    ['TZID=UTC', join(good).replace('DTSTART:20300101T100000Z', 'DTSTART;TZID=UTC:20300101T100000'), /TZID=UTC/],
    ['two VEVENTs', join([...good.slice(0, -1), 'BEGIN:VEVENT', 'UID:v@x', 'DTSTAMP:20300101T000000Z', 'END:VEVENT', 'END:VCALENDAR']), /2 VEVENTs/],
  ];
  for (const [label, input, problem] of broken) t.match(icsProblems(input).join('\n'), problem, label);
});
