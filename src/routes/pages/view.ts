import type { SessionRow } from '../../../db/schema/index.js';
import { availabilityOf } from '../../services/availability.js';
import { richText } from '../../web/text.js';
import { durationText } from '../../text.js';
import { instantView, sessionZoneText } from '../../web/times.js';
import type { AvailabilityKind, BadgeView, InstantView, SessionView, Tone } from '../../web/views.js';

/** What the pages say about registering now (the rule itself is services/availability.ts). */
export interface PageAvailability {
  kind: AvailabilityKind;
  text: string;
  tone: Tone;
  /** When registration opens (kind 'not-yet'): the text ends with this time. */
  opensAt: InstantView | null;
  /** The form is shown (and its button says what a post will do). */
  canRegister: boolean;
  /** The short status on the list of sessions. */
  badge: BadgeView;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function pageAvailability(row: SessionRow, now: Date): PageAvailability {
  const availability = availabilityOf(row, row, now);
  const closed = (tone: Tone, text: string, badge: BadgeView) => ({ kind: availability.reason, text, tone, opensAt: null, canRegister: false, badge });
  switch (availability.reason) {
    case 'cancelled':
      return closed('stop', 'This session has been cancelled.', { label: 'Cancelled', tone: 'stop', opensAt: null });
    case 'finished':
      return closed('info', 'This session has ended.', { label: 'Ended', tone: 'muted', opensAt: null });
    case 'draft':
      return closed('info', 'Registration is not open yet.', { label: 'Not open yet', tone: 'info', opensAt: null });
    case 'not-yet': {
      const opensAt = instantView(availability.opensAt!, row.timezone);
      return { kind: 'not-yet', text: 'Registration opens on', tone: 'info', opensAt, canRegister: false, badge: { label: 'Registration opens', tone: 'info', opensAt } };
    }
    case 'closed':
      return closed('stop', 'Registration for this session is closed.', { label: 'Registration closed', tone: 'muted', opensAt: null });
    case 'full':
      return closed('stop', row.waitlistEnabled ? 'This session is full, and so is its waitlist.' : 'This session is full.', {
        label: 'Full',
        tone: 'stop',
        opensAt: null,
      });
    case 'waitlist':
      return {
        kind: 'waitlist',
        text: row.approval
          ? 'All seats are taken. You can ask for a place on the waitlist: the organizers approve each request.'
          : row.waitlistMode === 'offer'
            ? `All seats are taken. You can join the waitlist: if a seat opens up, we e-mail you and hold it for you for ${durationText(row.offerMinutes * 60_000)}.`
            : 'All seats are taken. You can join the waitlist: if a seat opens up, it is yours automatically and we e-mail you.',
        tone: 'wait',
        opensAt: null,
        canRegister: true,
        badge: { label: 'Waitlist open', tone: 'wait', opensAt: null },
      };
    case 'open': {
      const { seatsLeft } = availability;
      // Seats left counts confirmed seats and seats held by offers (availability.ts), never requests: a request holds no seat.
      const open = seatsLeft === null ? 'Registration is open.' : `Registration is open: ${plural(seatsLeft, 'seat')} left.`;
      const text = row.approval ? `${open} The organizers approve each request.` : open;
      const label = seatsLeft === null ? 'Open' : `${plural(seatsLeft, 'seat')} left`;
      return { kind: 'open', text, tone: 'good', opensAt: null, canRegister: true, badge: { label, tone: 'good', opensAt: null } };
    }
  }
}

/** What every page shows of a session (never the join URL, the access code or anyone's data). */
export function sessionView(row: SessionRow, now: Date, availability = pageAvailability(row, now)): SessionView {
  return {
    slug: row.slug,
    title: row.title,
    summary: row.summary,
    descriptionHtml: richText(row.description),
    whenText: sessionZoneText(row.startsAt, row.endsAt, row.timezone),
    startIso: row.startsAt.toISOString(),
    endIso: row.endsAt.toISOString(),
    timezone: row.timezone,
    availability: { kind: availability.kind, text: availability.text, tone: availability.tone, opensAt: availability.opensAt },
    badge: availability.badge,
    contact: { name: row.contactName, email: row.contactEmail },
    pageUrl: `/s/${encodeURIComponent(row.slug)}`,
  };
}

/** "a***@cityofx.gov": enough of the address typed to catch a typo, too little to read it back. */
export function maskedAddress(typed: string): string | null {
  const text = typed.trim();
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return null;
  return `${Array.from(text)[0]}***@${text.slice(at + 1).toLowerCase()}`;
}

/** A finished session's follow-up as pages show it, once it was sent; null before. */
export function followUpView(row: Pick<SessionRow, 'followUp' | 'followUpSentAt'>): { messageHtml: string; recordingUrl: string | null } | null {
  if (!row.followUp || !row.followUpSentAt) return null;
  return { messageHtml: richText(row.followUp.message), recordingUrl: webLink(row.followUp.recordingUrl) };
}

/** Only links a browser opens as pages: a follow-up's recording link is the organizer's text. */
function webLink(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.toString() : null;
  } catch {
    return null;
  }
}
