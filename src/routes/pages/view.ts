import type { SessionRow } from '../../../db/schema/index.js';
import { instantText, sessionTimeText } from '../../text.js';
import { availabilityOf } from '../../services/availability.js';
import { richText } from '../../web/text.js';
import type { AvailabilityKind, SessionView } from '../../web/views.js';

/** What the pages say about registering now (the rule itself is services/availability.ts). */
export interface PageAvailability {
  kind: AvailabilityKind;
  text: string;
  tone: 'good' | 'wait' | 'stop' | 'info';
  /** The form is shown (and its button says what a post will do). */
  canRegister: boolean;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function pageAvailability(row: SessionRow, now: Date): PageAvailability {
  const availability = availabilityOf(row, row, now);
  const closed = (tone: PageAvailability['tone'], text: string) => ({ kind: availability.reason, text, tone, canRegister: false });
  switch (availability.reason) {
    case 'cancelled':
      return closed('stop', 'This session has been cancelled.');
    case 'finished':
      return closed('info', 'This session has ended.');
    case 'draft':
      return closed('info', 'Registration is not open yet.');
    case 'not-yet':
      return closed('info', `Registration opens on ${instantText(availability.opensAt!, row.timezone)}.`);
    case 'closed':
      return closed('stop', 'Registration for this session is closed.');
    case 'full':
      return closed('stop', row.waitlistEnabled ? 'This session is full, and so is its waitlist.' : 'This session is full.');
    case 'waitlist':
      return {
        kind: 'waitlist',
        text: 'All seats are taken. You can join the waitlist: if a seat opens up, it is yours automatically and we e-mail you.',
        tone: 'wait',
        canRegister: true,
      };
    case 'open': {
      const { seatsLeft } = availability;
      const text = seatsLeft === null ? 'Registration is open.' : `Registration is open: ${plural(seatsLeft, 'seat')} left.`;
      return { kind: 'open', text, tone: 'good', canRegister: true };
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
    whenText: sessionTimeText(row.startsAt, row.endsAt, row.timezone),
    startIso: row.startsAt.toISOString(),
    endIso: row.endsAt.toISOString(),
    timezone: row.timezone,
    availability: { kind: availability.kind, text: availability.text, tone: availability.tone },
    contact: { name: row.contactName, email: row.contactEmail },
    pageUrl: `/s/${encodeURIComponent(row.slug)}`,
  };
}
