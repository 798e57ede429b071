import { DateTime } from 'luxon';
import type { SessionRow } from '../../../db/schema/index.js';
import { instantText, sessionTimeText } from '../../services/email/format.js';
import { effectiveStatus } from '../../services/sessions.service.js';
import { richText } from '../../web/text.js';
import type { AvailabilityKind, SessionView } from '../../web/views.js';

export interface Availability {
  kind: AvailabilityKind;
  text: string;
  tone: 'good' | 'wait' | 'stop' | 'info';
  /** The form is shown (and its button says what a post will do). */
  canRegister: boolean;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Whether and how a visitor may register now: the same rules the registration service applies. */
export function availabilityOf(row: SessionRow, now: Date): Availability {
  const status = effectiveStatus(row, now);
  if (status === 'cancelled') return { kind: 'cancelled', text: 'This session has been cancelled.', tone: 'stop', canRegister: false };
  if (status === 'finished') return { kind: 'finished', text: 'This session has ended.', tone: 'info', canRegister: false };
  if (row.registrationOpensAt && row.registrationOpensAt.getTime() > now.getTime()) {
    return {
      kind: 'not-yet',
      text: `Registration opens on ${instantText(row.registrationOpensAt, row.timezone)}.`,
      tone: 'info',
      canRegister: false,
    };
  }
  if (row.registrationClosesAt && row.registrationClosesAt.getTime() <= now.getTime()) {
    return { kind: 'closed', text: 'Registration for this session is closed.', tone: 'stop', canRegister: false };
  }
  // The capacity guard of services/capacity.ts: a seat is free only when nobody is waiting.
  const seatsLeft = row.capacity === null ? null : Math.max(row.capacity - row.confirmedCount, 0);
  const seatFree = seatsLeft !== 0 && row.waitlistedCount === 0;
  const waitlistOpen = row.waitlistEnabled && (row.waitlistLimit === null || row.waitlistedCount < row.waitlistLimit);
  if (seatFree) {
    return {
      kind: 'open',
      text: seatsLeft === null ? 'Registration is open.' : `Registration is open: ${plural(seatsLeft, 'seat')} left.`,
      tone: 'good',
      canRegister: true,
    };
  }
  if (waitlistOpen) {
    return {
      kind: 'waitlist',
      text: 'All seats are taken. You can join the waitlist: if a seat opens up, it is yours automatically and we e-mail you.',
      tone: 'wait',
      canRegister: true,
    };
  }
  return {
    kind: 'full',
    text: row.waitlistEnabled ? 'This session is full, and so is its waitlist.' : 'This session is full.',
    tone: 'stop',
    canRegister: false,
  };
}

/** What every page shows of a session (never the join URL, the access code or anyone's data). */
export function sessionView(row: SessionRow, now: Date, availability = availabilityOf(row, now)): SessionView {
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

/** "Thursday, December 3, 2026, 1:45 PM CST" in the session's zone. */
export function zonedTime(at: Date, timezone: string): string {
  return DateTime.fromJSDate(at, { zone: timezone }).toFormat('cccc, LLLL d, yyyy, h:mm a ZZZZ');
}
