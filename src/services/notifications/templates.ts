import { DateTime } from 'luxon';
import { durationText, escapeHtml, readerTimeText, singleLine, type ReaderTime } from '../../text.js';
import LinkifyIt from 'linkify-it';
import type { EmailTexts, RegistrationStatus } from '../../../db/schema/index.js';
import type { Branding } from '../settings.service.js';
import { fillLayout } from './email-layout.js';

/** What every e-mail to a registrant may show, read at send time; what differs by kind comes in the kind's payload. */
export interface EmailContext {
  branding: Branding;
  recipientName: string;
  sessionTitle: string;
  /** The session's time for this reader: their own zone first when known. */
  time: ReaderTime;
  startsAt: Date;
  endsAt: Date;
  /** The session's IANA zone. */
  sessionZone: string;
  /** The reader's IANA zone (the browser's at registration), null when unknown or not valid. */
  readerZone: string | null;
  /** The registration as it is at send time. */
  registrationStatus: RegistrationStatus;
  /** Until when an offered seat is held: the reader's time first (null unless a seat is on offer). */
  offerDeadline: { primary: string; secondary: string | null } | null;
  /** The session offers freed seats for this many minutes (waitlist mode 'offer'); null: it gives them at once. */
  offerMinutes: number | null;
  sessionCancelled: boolean;
  manageLink: string;
  /** How to join, with the personal join link: only while the registration holds a seat in a live session. */
  join: JoinDetails | null;
  waitlistPosition: number | null;
  cancelReason: string | null;
  contactName: string;
  contactEmail: string;
  followUp?: { message: string; recordingUrl: string | null };
  /** The organizer's own paragraphs at the top of these e-mails (the session's emailTexts). */
  emailTexts?: EmailTexts;
  /** An organizer's message (kind 'message'), read at send time; `test`: sent to the organizer alone. */
  message?: { subject: string; body: string; test: boolean };
  /** A series summary (kind 'series_summary'): the series and the person's registrations in it, read at send time. */
  series?: SeriesSummary;
}

/** One registration a series summary lists: its session, when, where it stands, and its own manage link. */
export interface SeriesSummaryEntry {
  title: string;
  /** The session's time for this reader, as `EmailContext.time`. */
  time: ReaderTime;
  status: RegistrationStatus;
  waitlistPosition: number | null;
  manageLink: string;
}

export interface SeriesSummary {
  title: string;
  /** In the series' order. */
  entries: SeriesSummaryEntry[];
}

/** The "How to join" block (services/how-to-join.ts says what each field means). */
export interface JoinDetails {
  link: string;
  platform: string | null;
  passcode: string | null;
  instructions: string | null;
  opensAt: Date;
  minutesBefore: number;
  /** The join window is open at send time: the link leads to the meeting now. */
  open: boolean;
}

/** A link: its words must say where it leads (tests check each e-mail's links against their targets). */
export interface EmailLink {
  label: string;
  href: string;
}

/** The pieces an e-mail's body is made of, rendered both as HTML and as plain text. */
export type Block =
  | { type: 'paragraph'; text: string }
  /** A labelled value: "When", "Was", "Now"; `primary` bold, `secondary` under it. */
  | { type: 'labelled'; label: string; primary: string; secondary: string | null }
  /** Words of the organizer's (a follow-up message, a cancellation reason), kept as written. */
  | { type: 'quote'; text: string }
  /** The organizer's own plain text (a message, a session's e-mail text): paragraphs, its web addresses clickable in HTML. */
  | { type: 'organizerText'; text: string }
  | { type: 'howToJoin'; join: JoinDetails; readerZone: string }
  | { type: 'link'; lead: string | null; link: EmailLink };

export interface EmailContent {
  subject: string;
  heading: string;
  blocks: Block[];
  /** The one button; its words match what the linked page offers in the registration's state. */
  button: EmailLink | null;
  /** Below the button: a second way in ("Can't make the new time? ..."), or the manage link when the button leads elsewhere. */
  after: Block[];
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/* ---- Words shared by the kinds ---- */

function greeting(context: EmailContext): Block {
  return { type: 'paragraph', text: `Hello ${context.recipientName},` };
}

function when(time: ReaderTime, label = 'When'): Block {
  return { type: 'labelled', label, primary: time.primary, secondary: time.secondary };
}

/** The manage page's link, in words that match what the page offers in this state. */
function manageLink(context: EmailContext): EmailLink {
  if (context.registrationStatus === 'cancelled' || context.sessionCancelled) return { label: 'View your registration', href: context.manageLink };
  if (context.registrationStatus === 'waitlisted') return { label: 'See your waitlist place', href: context.manageLink };
  if (context.registrationStatus === 'offered') return { label: 'Accept or decline the seat', href: context.manageLink };
  if (context.registrationStatus === 'pending') return { label: 'View or withdraw your request', href: context.manageLink };
  if (context.registrationStatus === 'declined' || context.registrationStatus === 'expired') return { label: 'View your registration', href: context.manageLink };
  return { label: 'View or cancel your registration', href: context.manageLink };
}

/** A registration that holds a seat: the join details, and the join link as the button once the window is open. */
function seatHolder(context: EmailContext): { join: Block[]; button: EmailLink; after: Block[] } {
  const manage = manageLink(context);
  if (!context.join) return { join: [], button: manage, after: [] };
  const join: Block[] = [{ type: 'howToJoin', join: context.join, readerZone: context.readerZone ?? context.sessionZone }];
  if (context.join.open) {
    return { join, button: { label: 'Join the session now', href: context.join.link }, after: [{ type: 'link', lead: null, link: manage }] };
  }
  return { join, button: manage, after: [] };
}

function questions(context: EmailContext): Block {
  return { type: 'paragraph', text: `Questions? Reply to this e-mail to reach ${context.contactName} (${context.contactEmail}).` };
}

/** The organizer's own paragraph (the session's emailTexts), when it wrote one. */
function ownWords(text: string | undefined): Block[] {
  return text?.trim() ? [{ type: 'organizerText', text }] : [];
}

/* ---- The kinds ---- */

export function confirmationEmail(context: EmailContext): EmailContent {
  const title = context.sessionTitle;
  const { join, button, after } = seatHolder(context);
  return {
    subject: `You're registered: ${title}`,
    heading: "You're registered",
    blocks: [
      greeting(context),
      ...ownWords(context.emailTexts?.confirmation),
      { type: 'paragraph', text: `You have a seat at "${title}". The calendar invite is attached to this e-mail.` },
      when(context.time),
      ...join,
    ],
    button,
    after,
  };
}

export function promotedEmail(context: EmailContext): EmailContent {
  const title = context.sessionTitle;
  const { join, button, after } = seatHolder(context);
  return {
    subject: `A seat opened up: you're registered for ${title}`,
    heading: 'A seat opened up for you',
    blocks: [
      greeting(context),
      { type: 'paragraph', text: `Good news: a seat opened up and you are now registered for "${title}". The calendar invite is attached to this e-mail.` },
      when(context.time),
      ...join,
    ],
    button,
    after,
  };
}

export function waitlistedEmail(context: EmailContext): EmailContent {
  const title = context.sessionTitle;
  const place = context.waitlistPosition ? ` at place ${context.waitlistPosition}` : '';
  return {
    subject: `You're on the waitlist: ${title}`,
    heading: "You're on the waitlist",
    blocks: [
      greeting(context),
      ...ownWords(context.emailTexts?.waitlisted),
      { type: 'paragraph', text: `"${title}" is full, so you are on the waitlist${place}.` },
      {
        type: 'paragraph',
        text:
          context.offerMinutes === null
            ? 'If a seat opens up you will be registered automatically and get an e-mail with the calendar invite.'
            : `If a seat opens up it is held for you for ${durationText(context.offerMinutes * 60_000)}: you will get an e-mail with a link to accept it.`,
      },
      when(context.time),
    ],
    button: manageLink(context),
    after: [],
  };
}

export function manageLinkEmail(context: EmailContext): EmailContent {
  const title = context.sessionTitle;
  const state =
    context.registrationStatus === 'waitlisted'
      ? 'You are already on the waitlist'
      : context.registrationStatus === 'pending'
        ? 'Your request is already waiting for approval'
        : context.registrationStatus === 'offered'
          ? 'A seat is already held for you'
          : 'You are already registered';
  const { join, button, after } = seatHolder(context);
  return {
    subject: `Your registration link: ${title}`,
    heading: 'Your registration link',
    blocks: [
      greeting(context),
      { type: 'paragraph', text: `Someone (probably you) asked to register this address for "${title}" again. ${state}; nothing has changed.` },
      when(context.time),
      ...join,
    ],
    button,
    after,
  };
}

/** The session as it was before an update (the session_updated payload). */
export interface PreviousSession {
  title: string;
  startsAt: string;
  endsAt: string;
  timezone: string;
}

/** Calendar day of `at` in `zone`, "Saturday, December 5". */
function dayText(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toFormat('cccc, LLLL d');
}

const recentClockTexts = new Map<string, string>();

/**
 * "3:45 PM EST on Friday, December 4". Remembered: luxon's short zone name costs about a
 * millisecond, and a reminder to thousands writes the same opening time in each e-mail.
 */
function clockText(at: Date, zone: string): string {
  const key = `${at.getTime()}|${zone}`;
  let text = recentClockTexts.get(key);
  if (text === undefined) {
    text = DateTime.fromJSDate(at, { zone }).toFormat("h:mm a ZZZZ 'on' cccc, LLLL d");
    if (recentClockTexts.size >= 256) recentClockTexts.clear();
    recentClockTexts.set(key, text);
  }
  return text;
}

/**
 * What an update changed, in the reader's zone: the subject names it ("Moved to Saturday,
 * December 5: ...", "New title: ..."), the body gives the old and the new values.
 * `previous` null: a row written before updates kept it.
 */
export function sessionUpdatedEmail(context: EmailContext, previous: PreviousSession | null): EmailContent {
  const title = context.sessionTitle;
  const zone = context.readerZone ?? context.sessionZone;
  const change = { startsAt: context.startsAt, endsAt: context.endsAt };
  const oldStart = previous ? new Date(previous.startsAt) : null;
  const oldEnd = previous ? new Date(previous.endsAt) : null;
  const timeChanged =
    previous !== null && (oldStart!.getTime() !== change.startsAt.getTime() || oldEnd!.getTime() !== change.endsAt.getTime());
  const titleChanged = previous !== null && previous.title !== title;

  let subject = `Updated: ${title}`;
  let heading = 'The session has changed';
  if (timeChanged) {
    const movedDay = dayText(oldStart!, zone) !== dayText(change.startsAt, zone);
    subject = movedDay
      ? `Moved to ${dayText(change.startsAt, zone)}: ${title}`
      : `New time, ${DateTime.fromJSDate(change.startsAt, { zone }).toFormat('h:mm a ZZZZ')}: ${title}`;
    heading = movedDay ? `Moved to ${dayText(change.startsAt, zone)}` : 'New time';
  } else if (titleChanged) {
    subject = `New title: ${title}`;
    heading = 'New title';
  }

  const changes: Block[] = [];
  if (titleChanged) {
    changes.push({ type: 'labelled', label: 'Title was', primary: previous!.title, secondary: null });
    changes.push({ type: 'labelled', label: 'Title now', primary: title, secondary: null });
  }
  if (timeChanged) {
    changes.push(when(readerTimeText(oldStart!, oldEnd!, previous!.timezone, context.readerZone), 'Was'));
    changes.push(when(context.time, 'Now'));
  } else {
    changes.push(when(context.time));
  }
  const { join, button, after } = seatHolder(context);
  const intro =
    timeChanged || titleChanged
      ? `"${title}" has changed. Your calendar invite is updated with this e-mail.`
      : `The details of "${title}" have changed. Your calendar invite is updated with this e-mail.`;
  return {
    subject,
    heading,
    blocks: [greeting(context), { type: 'paragraph', text: intro }, ...changes, ...join],
    button,
    after: [
      ...after,
      {
        type: 'link',
        lead: timeChanged ? "Can't make the new time?" : "Can't make it any more?",
        link: { label: 'Cancel your registration', href: context.manageLink },
      },
    ],
  };
}

export function sessionCancelledEmail(context: EmailContext): EmailContent {
  const title = context.sessionTitle;
  return {
    subject: `Cancelled: ${title}`,
    heading: 'This session is cancelled',
    blocks: [
      greeting(context),
      { type: 'paragraph', text: `"${title}" has been cancelled. The event is removed from your calendar with this e-mail.` },
      ...reason(context),
      when(context.time, 'It was planned for'),
      questions(context),
    ],
    button: manageLink(context),
    after: [],
  };
}

export function sessionCancelledWaitlistedEmail(context: EmailContext): EmailContent {
  const title = context.sessionTitle;
  return {
    subject: `Cancelled: ${title}`,
    heading: 'This session is cancelled',
    blocks: [
      greeting(context),
      { type: 'paragraph', text: `"${title}", for which you were on the waitlist, has been cancelled.` },
      ...reason(context),
      when(context.time, 'It was planned for'),
      questions(context),
    ],
    // The waitlist place is gone with the session: the page only shows what happened.
    button: { label: 'View your registration', href: context.manageLink },
    after: [],
  };
}

function reason(context: EmailContext): Block[] {
  return context.cancelReason ? [{ type: 'paragraph', text: 'The organizer wrote:' }, { type: 'quote', text: context.cancelReason }] : [];
}

/** `previous`: what the registration was when it was cancelled; only a confirmed one held an invite. */
export function registrationCancelledEmail(context: EmailContext, previous: 'confirmed' | 'waitlisted' | 'pending' | 'offered'): EmailContent {
  const title = context.sessionTitle;
  const view = { label: 'View your registration', href: context.manageLink };
  if (previous === 'pending') {
    return {
      subject: `Request withdrawn: ${title}`,
      heading: 'Your request is withdrawn',
      blocks: [greeting(context), { type: 'paragraph', text: `Your request to attend "${title}" is withdrawn.` }, when(context.time)],
      button: view,
      after: [],
    };
  }
  if (previous === 'offered') {
    return {
      subject: `Seat declined: ${title}`,
      heading: 'You declined the seat',
      blocks: [
        greeting(context),
        { type: 'paragraph', text: `You declined the seat held for you at "${title}"; it goes to the next person on the waitlist.` },
        when(context.time),
      ],
      button: view,
      after: [],
    };
  }
  return previous === 'confirmed'
    ? {
        subject: `Registration cancelled: ${title}`,
        heading: 'Your registration is cancelled',
        blocks: [
          greeting(context),
          { type: 'paragraph', text: `Your registration for "${title}" is cancelled and your seat is free for someone else. The event is removed from your calendar with this e-mail.` },
          when(context.time),
        ],
        button: view,
        after: [],
      }
    : {
        subject: `You left the waitlist: ${title}`,
        heading: 'You left the waitlist',
        blocks: [greeting(context), { type: 'paragraph', text: `You are no longer on the waitlist for "${title}".` }, when(context.time)],
        button: view,
        after: [],
      };
}

/** `lead`: how long before the start, in words ("in 1 day"). */
export function reminderEmail(context: EmailContext, lead: string | undefined): EmailContent {
  const title = context.sessionTitle;
  const { join, button, after } = seatHolder(context);
  return {
    subject: `Reminder: ${title} ${lead ? `starts ${lead}` : 'is coming up'}`,
    heading: lead ? `Starting ${lead}` : 'Coming up soon',
    blocks: [
      greeting(context),
      ...ownWords(context.emailTexts?.reminder),
      { type: 'paragraph', text: `"${title}" starts ${lead ?? 'soon'}.` },
      when(context.time),
      ...join,
    ],
    button,
    after,
  };
}

/** The thank-you after a session, to those who came (`attended`) and to those who did not. */
export function followUpEmail(context: EmailContext, attended: boolean): EmailContent {
  const title = context.sessionTitle;
  const followUp = context.followUp ?? { message: '', recordingUrl: null };
  const view = { label: 'View your registration', href: context.manageLink };
  const recording = followUp.recordingUrl ? { label: 'Watch the recording', href: followUp.recordingUrl } : null;
  return {
    subject: `${attended ? 'Thank you' : 'Sorry we missed you'}: ${title}`,
    heading: attended ? 'Thank you for joining' : 'Sorry we missed you',
    blocks: [
      greeting(context),
      { type: 'paragraph', text: attended ? `Thank you for joining "${title}".` : `We missed you at "${title}".` },
      ...(followUp.message.trim() ? [{ type: 'quote', text: followUp.message } as const] : []),
    ],
    button: recording ?? view,
    after: recording ? [{ type: 'link', lead: null, link: view }] : [],
  };
}

/* ---- Rendering ---- */

/** Only web addresses become links: anything else (javascript:, data:) is written as text. */
function isWebAddress(href: string): boolean {
  return /^https?:\/\/[^\s]+$/i.test(href);
}

/** "example.org" for https://www.example.org/: how people name a website. */
function siteName(url: string): string {
  try {
    return new URL(url).hostname.replace(/^www\./, '');
  } catch {
    return url;
  }
}

const MUTED = '#4a4f55';

function linkHtml(link: EmailLink, accent: string): string {
  if (!isWebAddress(link.href)) return escapeHtml(link.label);
  return `<a href="${escapeHtml(link.href)}" style="color:${accent};text-decoration:underline">${escapeHtml(link.label)}</a>`;
}

function multiline(text: string): string {
  return escapeHtml(text).replace(/\r?\n/g, '<br>');
}

/** An organizer's text as paragraphs: split on blank lines, each trimmed, empty ones dropped. */
function paragraphsOf(text: string): string[] {
  return text
    .split(/\r?\n\s*\r?\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph.length > 0);
}

/** Finds web addresses in plain text ("https://...", "www.example.org"); e-mail addresses stay text. */
const linkify = new LinkifyIt({ fuzzyEmail: false });

/** Plain text as HTML: escaped, line breaks kept, its http(s) addresses made links (the address as their words). */
function linkified(text: string, accent: string): string {
  const matches = (linkify.match(text) ?? []).filter((match) => isWebAddress(match.url));
  let html = '';
  let at = 0;
  for (const match of matches) {
    html += multiline(text.slice(at, match.index)) + linkHtml({ label: match.raw, href: match.url }, accent);
    at = match.lastIndex;
  }
  return html + multiline(text.slice(at));
}

const P = 'margin:0 0 16px';

function blockHtml(block: Block, accent: string): string {
  switch (block.type) {
    case 'paragraph':
      return `<p style="${P}">${multiline(block.text)}</p>`;
    case 'labelled':
      return (
        `<p style="${P}"><span style="color:${MUTED};font-size:14px">${escapeHtml(block.label)}</span><br>` +
        `<strong>${escapeHtml(block.primary)}</strong>` +
        (block.secondary ? `<br><span style="color:${MUTED};font-size:14px">${escapeHtml(block.secondary)}</span>` : '') +
        '</p>'
      );
    case 'quote':
      return `<p style="${P};padding:4px 0 4px 12px;border-left:3px solid #d0d4d9">${multiline(block.text)}</p>`;
    case 'organizerText':
      return paragraphsOf(block.text)
        .map((paragraph) => `<p style="${P}">${linkified(paragraph, accent)}</p>`)
        .join('');
    case 'link':
      return `<p style="${P}">${block.lead ? `${escapeHtml(block.lead)} ` : ''}${linkHtml(block.link, accent)}</p>`;
    case 'howToJoin': {
      const words = howToJoinWords(block.join, block.readerZone);
      const lines = [
        `<strong style="font-size:18px">How to join</strong>`,
        escapeHtml(words.where),
        linkHtml({ label: 'Join the session with your personal link', href: block.join.link }, accent),
        escapeHtml(words.opens),
      ];
      if (block.join.passcode) lines.push(`<strong>Passcode:</strong> ${escapeHtml(block.join.passcode)}`);
      let html = `<div style="margin:0 0 16px;padding:16px;background:#f5f6f8;border-radius:6px"><p style="margin:0">${lines.join('<br>')}</p>`;
      if (block.join.instructions) {
        html += `<p style="margin:12px 0 0"><strong>Instructions:</strong><br>${multiline(block.join.instructions)}</p>`;
      }
      html += `<p style="margin:12px 0 0;font-size:14px;color:${MUTED}">${escapeHtml(words.yours)}</p></div>`;
      return html;
    }
  }
}

function howToJoinWords(join: JoinDetails, readerZone: string) {
  const opens = join.open
    ? 'Your personal link opens the meeting now.'
    : `Your personal link opens at ${clockText(join.opensAt, readerZone)} (${join.minutesBefore} minutes before the start).`;
  return {
    where: join.platform ? `Online on ${join.platform}` : 'Online',
    opens,
    yours: 'This link is yours: please do not forward it.',
  };
}

/** Plain text: no markup, each link written out after its words, labels kept. */
function blockText(block: Block): string {
  switch (block.type) {
    case 'paragraph':
      return block.text;
    case 'labelled':
      return `${block.label}: ${block.primary}${block.secondary ? `\n(${block.secondary})` : ''}`;
    case 'quote':
      return block.text
        .split(/\r?\n/)
        .map((line) => `> ${line}`)
        .join('\n');
    case 'organizerText':
      return paragraphsOf(block.text).join('\n\n');
    case 'link':
      return `${block.lead ? `${block.lead} ` : ''}${block.link.label}: ${block.link.href}`;
    case 'howToJoin': {
      const words = howToJoinWords(block.join, block.readerZone);
      const lines = ['HOW TO JOIN', words.where, `Your personal join link: ${block.join.link}`, words.opens];
      if (block.join.passcode) lines.push(`Passcode: ${block.join.passcode}`);
      if (block.join.instructions) lines.push(`Instructions:\n${block.join.instructions}`);
      lines.push(words.yours);
      return lines.join('\n');
    }
  }
}

/** Who sends this and why, and the organisation's links: the same at the foot of every e-mail. */
function footerParts(context: EmailContext): { lines: string[]; links: EmailLink[] } {
  const { branding } = context;
  const why = branding.footer?.trim() || `${branding.name} sent you this e-mail because you registered for "${context.sessionTitle}".`;
  const links: EmailLink[] = [];
  if (branding.website && isWebAddress(branding.website)) links.push({ label: siteName(branding.website), href: branding.website });
  if (branding.privacyUrl && isWebAddress(branding.privacyUrl)) links.push({ label: 'Privacy notice', href: branding.privacyUrl });
  return { lines: [why], links };
}

export function headerHtml(branding: Branding, accent: string): string {
  if (branding.logoUrl && isWebAddress(branding.logoUrl)) {
    return `<img src="${escapeHtml(branding.logoUrl)}" alt="${escapeHtml(branding.name)}" height="48" style="display:block;height:48px;width:auto;max-width:100%;border:0">`;
  }
  return `<span style="color:${accent}">${escapeHtml(branding.name)}</span>`;
}

/** A colour we write into styles: only `#rrggbb` (the settings service checks it; this keeps any other value out of the CSS). */
export function accentOf(branding: Branding): string {
  return /^#[0-9a-fA-F]{6}$/.test(branding.accentColor) ? branding.accentColor : '#16325c';
}

/** Plain text and HTML bodies of one e-mail; every value typed by a person is escaped in the HTML. */
export async function renderEmail(context: EmailContext, content: EmailContent): Promise<RenderedEmail> {
  const subject = singleLine(content.subject);
  const accent = accentOf(context.branding);
  const footer = footerParts(context);
  const button = content.button && isWebAddress(content.button.href) ? content.button : null;

  const html = await fillLayout({
    title: escapeHtml(subject),
    preview: escapeHtml(singleLine(`${content.heading}: ${context.sessionTitle}`)),
    header: headerHtml(context.branding, accent),
    heading: escapeHtml(content.heading),
    body: content.blocks.map((block) => blockHtml(block, accent)).join('\n'),
    buttonHref: button ? escapeHtml(button.href) : '',
    buttonLabel: button ? escapeHtml(button.label) : '',
    after: content.after.map((block) => blockHtml(block, accent)).join('\n'),
    footer:
      footer.lines.map((line) => `<p style="margin:0 0 8px">${multiline(line)}</p>`).join('') +
      (footer.links.length > 0 ? `<p style="margin:0">${footer.links.map((link) => linkHtml(link, MUTED)).join(' &middot; ')}</p>` : ''),
    accent,
  });

  const sections = [
    context.branding.name,
    `${content.heading}\n${'='.repeat(Math.min(content.heading.length, 60))}`,
    ...content.blocks.map(blockText),
    ...(button ? [`${button.label}: ${button.href}`] : []),
    ...content.after.map(blockText),
    ['--', ...footer.lines, ...footer.links.map((link) => `${link.label}: ${link.href}`)].join('\n'),
  ];
  return { subject, text: sections.join('\n\n') + '\n', html };
}

/* ---- Messages from the organizers ---- */

/**
 * An organizer's message: its subject (one line) and its plain-text body, then what it is about
 * and the recipient's own manage link. A test send (to the organizer alone) says so, and points to
 * the session's page where recipients get their own link.
 */
export function messageEmail(context: EmailContext): EmailContent {
  const message = context.message ?? { subject: context.sessionTitle, body: '', test: false };
  const subject = singleLine(message.subject);
  return {
    subject: message.test ? `[Test] ${subject}` : subject,
    heading: subject,
    blocks: [
      ...(message.test ? [{ type: 'paragraph', text: 'This is a test: only you received it. Each recipient gets it with their own registration link.' } as Block] : []),
      greeting(context),
      { type: 'organizerText', text: message.body },
      { type: 'paragraph', text: `About "${context.sessionTitle}":` },
      when(context.time),
      questions(context),
    ],
    button: message.test ? { label: "The session's page", href: context.manageLink } : manageLink(context),
    after: [],
  };
}

/* ---- Approval and waitlist offers ---- */

export function requestReceivedEmail(context: EmailContext): EmailContent {
  const title = context.sessionTitle;
  return {
    subject: `Request received: ${title}`,
    heading: 'We received your request',
    blocks: [
      greeting(context),
      {
        type: 'paragraph',
        text: `Places at "${title}" are confirmed by the organizers. Your request is waiting for their approval: you will get an e-mail when they decide (with the calendar invite if you get a seat).`,
      },
      when(context.time),
      questions(context),
    ],
    button: manageLink(context),
    after: [],
  };
}

export function requestDeclinedEmail(context: EmailContext, reason: string | null): EmailContent {
  const title = context.sessionTitle;
  return {
    subject: `Your request was not approved: ${title}`,
    heading: 'Your request was not approved',
    blocks: [
      greeting(context),
      { type: 'paragraph', text: `The organizers of "${title}" could not approve your request to attend.` },
      ...(reason ? [{ type: 'paragraph', text: 'They wrote:' } as Block, { type: 'quote', text: reason } as Block] : []),
      when(context.time),
      questions(context),
    ],
    button: { label: 'View your registration', href: context.manageLink },
    after: [],
  };
}

export function offeredEmail(context: EmailContext): EmailContent {
  const title = context.sessionTitle;
  const deadline = context.offerDeadline;
  return {
    subject: `A seat is held for you: ${title}`,
    heading: 'A seat is held for you',
    blocks: [
      greeting(context),
      {
        type: 'paragraph',
        text: `A seat opened up at "${title}" and it is held for you. Accept it on your registration page to be registered (you will get the calendar invite); if you do not, it goes to the next person on the waitlist.`,
      },
      ...(deadline ? [{ type: 'labelled', label: 'Accept by', primary: deadline.primary, secondary: deadline.secondary } as Block] : []),
      when(context.time),
    ],
    button: manageLink(context),
    after: [],
  };
}

export function offerExpiredEmail(context: EmailContext): EmailContent {
  const title = context.sessionTitle;
  return {
    subject: `The seat held for you has gone: ${title}`,
    heading: 'The seat held for you has gone',
    blocks: [
      greeting(context),
      { type: 'paragraph', text: `The seat held for you at "${title}" was not accepted in time, so it went to the next person on the waitlist. You are no longer on the waitlist.` },
      when(context.time),
      questions(context),
    ],
    button: { label: 'View your registration', href: context.manageLink },
    after: [],
  };
}

/* ---- Series ---- */

/** Where one registration of a series stands, in a sentence before its link. */
function seriesEntryState(entry: SeriesSummaryEntry): string {
  switch (entry.status) {
    case 'confirmed':
      return 'You have a seat.';
    case 'waitlisted':
      return entry.waitlistPosition ? `You are on the waitlist, at place ${entry.waitlistPosition}.` : 'You are on the waitlist.';
    case 'pending':
      return "Your request is waiting for the organizers' approval.";
    case 'offered':
      return 'A seat is held for you for a while.';
    default:
      return 'Your registration has ended.';
  }
}

/**
 * After a series form: each registration it holds in the series, with the session's time and its
 * own manage link (each session's own e-mail brings its invite). Without the series in the
 * context (a template check), the e-mail's own registration stands for it.
 */
export function seriesSummaryEmail(context: EmailContext): EmailContent {
  const series = context.series ?? {
    title: context.sessionTitle,
    entries: [
      { title: context.sessionTitle, time: context.time, status: context.registrationStatus, waitlistPosition: context.waitlistPosition, manageLink: context.manageLink },
    ],
  };
  const linkOf = (entry: SeriesSummaryEntry) => manageLink({ ...context, registrationStatus: entry.status, manageLink: entry.manageLink, sessionCancelled: false });
  const entries = series.entries.flatMap((entry): Block[] => [
    { type: 'labelled', label: entry.title, primary: entry.time.primary, secondary: entry.time.secondary },
    { type: 'link', lead: seriesEntryState(entry), link: linkOf(entry) },
  ]);
  const first = series.entries[0];
  const count = series.entries.length;
  return {
    subject: `Your sessions: ${series.title}`,
    heading: 'Your sessions of the series',
    blocks: [
      greeting(context),
      {
        type: 'paragraph',
        text: `You registered for the series "${series.title}". Here is where you stand in ${count === 1 ? 'one of its sessions' : `${count} of its sessions`}, each with its own link. Each session also sends you its own e-mail: the confirmations bring the calendar invites.`,
      },
      ...entries,
      {
        type: 'paragraph',
        text: 'A session of the series that is not listed here did not take your registration (it was full or closed, or it is not open to your address), or asks questions of its own: register for it on its own page.',
      },
      questions(context),
    ],
    button: first ? { label: `${linkOf(first).label} for the first session`, href: first.manageLink } : null,
    after: [],
  };
}
