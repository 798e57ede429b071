import type { Test } from 'tap';
import { calAddress, checkInvite, type InviteFacts } from './ics.js';
import { mimeParts } from './mime.js';
import type { ReceivedMail } from './smtp-sink.js';

/** What the e-mails to registrants must satisfy, asserted on what the SMTP sink received. */

export const MAIL_FROM = 'Convene Events <events@mail.convene.test>';
export const MAIL_FROM_ADDRESS = 'events@mail.convene.test';

/** The manage token in an e-mail's text. */
export function manageTokenOf(mail: ReceivedMail): string {
  const token = /\/m\/([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  if (!token) throw new Error(`no manage link in: ${mail.text}`);
  return token;
}

export function headerSection(mail: ReceivedMail): string {
  const text = mail.raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return end === -1 ? text : text.slice(0, end);
}

/**
 * What every e-mail to a registrant satisfies: one envelope recipient, From = MAIL_FROM,
 * Reply-To = the session contact, a manage link, a Message-ID of our domain. With `invite`,
 * the text/calendar part sits in multipart/alternative beside text and HTML and its `method`
 * equals the METHOD inside; without, there is no calendar anywhere.
 */
export function checkMail(
  t: Test,
  mail: ReceivedMail,
  expected: { to: string; contact: { name: string; email: string }; invite: 'REQUEST' | 'CANCEL' | null; manageLink?: boolean },
  label: string,
): InviteFacts | null {
  t.same(mail.rcptTo, [expected.to.toLowerCase()], `${label}: exactly one envelope recipient`);
  t.equal(mail.mailFrom, MAIL_FROM_ADDRESS, `${label}: envelope sender is MAIL_FROM`);
  t.same(mail.parsed.from?.value.map((a) => a.address), [MAIL_FROM_ADDRESS], `${label}: From is MAIL_FROM`);
  t.equal(mail.parsed.from?.value[0]?.name, 'Convene Events', `${label}: From name`);
  const replyTo = mail.parsed.replyTo?.value ?? [];
  t.same(replyTo.map((a) => [a.name, a.address]), [[expected.contact.name, expected.contact.email]], `${label}: Reply-To is the session contact`);
  const to = Array.isArray(mail.parsed.to) ? mail.parsed.to.flatMap((a) => a.value) : (mail.parsed.to?.value ?? []);
  t.same(to.map((a) => a.address), [expected.to.toLowerCase()], `${label}: To holds the one recipient`);
  t.match(mail.messageId, /^<notification-[0-9a-f-]{36}@mail\.convene\.test>$/, `${label}: Message-ID from the notification id`);
  t.notMatch(headerSection(mail), /^(bcc|cc):/im, `${label}: no Cc or Bcc header`);
  if (expected.manageLink !== false) {
    t.match(mail.text, /http:\/\/convene\.test\/m\/[A-Za-z0-9_-]{16,}/, `${label}: the text holds the manage link`);
    t.match(mail.html, /href="http:\/\/convene\.test\/m\/[A-Za-z0-9_-]{16,}"/, `${label}: the HTML holds the manage link`);
  }

  const parts = mimeParts(mail.mime);
  const calendarParts = parts.filter((p) => p.type === 'text/calendar' || p.type === 'application/ics');
  if (!expected.invite) {
    t.equal(mail.invite, null, `${label}: no invite`);
    t.same(calendarParts.map((p) => p.type), [], `${label}: no calendar part in the MIME tree`);
    return null;
  }
  const alternative = parts.find((p) => p.type === 'multipart/alternative');
  t.ok(alternative, `${label}: a multipart/alternative part`);
  t.same(alternative?.children.map((p) => p.type), ['text/plain', 'text/html', 'text/calendar'], `${label}: text, HTML and calendar alternatives`);
  const calendarPart = alternative?.children.find((p) => p.type === 'text/calendar');
  t.equal(calendarPart?.params.method, expected.invite, `${label}: Content-Type method=${expected.invite}`);
  t.equal(calendarPart?.params.charset?.toLowerCase(), 'utf-8', `${label}: Content-Type charset=utf-8`);
  if (!mail.invite) {
    t.fail(`${label}: mailparser found no text/calendar part`);
    return null;
  }
  t.equal(mail.invite.method, expected.invite, `${label}: mailparser sees method=${expected.invite}`);
  if (mail.invite.attachment) t.ok(mail.invite.attachment.equals(mail.invite.bytes), `${label}: invite.ics attachment equals the alternative`);
  const facts = checkInvite(t, mail.invite.attachment ?? mail.invite.bytes, label);
  t.equal(facts.method, expected.invite, `${label}: METHOD equals the Content-Type method`);
  const organizers = facts.organizers.map((o) => calAddress(o.value));
  t.same(organizers, [MAIL_FROM_ADDRESS], `${label}: exactly one ORGANIZER, the sending address`);
  t.not(organizers[0], expected.to.toLowerCase(), `${label}: the organizer is not the recipient`);
  t.same(facts.attendees.map((a) => calAddress(a.value)), [expected.to.toLowerCase()], `${label}: the recipient is the one ATTENDEE`);
  t.equal(facts.attendees[0]?.rsvp, 'FALSE', `${label}: RSVP=FALSE`);
  t.ok(facts.attendees[0]?.partstat, `${label}: ATTENDEE has a PARTSTAT`);
  if (expected.invite === 'REQUEST') {
    t.equal(facts.status, 'CONFIRMED', `${label}: STATUS:CONFIRMED`);
    t.ok(facts.alarms >= 1, `${label}: a VALARM`);
    t.match(facts.url ?? '', /^http:\/\/convene\.test\/j\/[A-Za-z0-9_-]{16,}$/, `${label}: URL is the personal join link`);
  } else {
    t.equal(facts.alarms, 0, `${label}: no VALARM in a CANCEL`);
  }
  return facts;
}
