import type { NotificationKind } from '../../../db/schema/index.js';
import { escapeHtml, headerText } from './format.js';

export interface EmailContext {
  kind: NotificationKind;
  recipientName: string;
  sessionTitle: string;
  timeText: string;
  manageLink: string;
  joinLink: string | null;
  joinInstructions: string | null;
  waitlistPosition: number | null;
  cancelReason: string | null;
  /** The registration was confirmed (not waiting) when it was cancelled. */
  wasConfirmed: boolean;
  contactName: string;
  contactEmail: string;
  /** Reminders: how long before the start, in words. */
  reminderLead?: string;
  followUp?: { message: string; recordingUrl: string | null };
}

export interface RenderedEmail {
  subject: string;
  /** Paragraphs; links are written as plain URLs in text and as anchors in HTML. */
  paragraphs: Array<string | { link: string; label: string }>;
}

function content(context: EmailContext): RenderedEmail {
  const title = context.sessionTitle;
  const when = `When: ${context.timeText}`;
  const manage = { link: context.manageLink, label: 'Manage your registration (cancel, calendar, join link)' };
  const join = context.joinLink ? [{ link: context.joinLink, label: 'Your personal join link' }] : [];
  const instructions = context.joinInstructions ? [context.joinInstructions] : [];
  switch (context.kind) {
    case 'confirmation':
      return {
        subject: `You're registered: ${title}`,
        paragraphs: [`You are registered for "${title}".`, when, ...join, ...instructions, 'The calendar invite is attached.', manage],
      };
    case 'promoted':
      return {
        subject: `A seat opened up: you're registered for ${title}`,
        paragraphs: [`Good news: a seat opened up and you are now registered for "${title}".`, when, ...join, ...instructions, 'The calendar invite is attached.', manage],
      };
    case 'waitlisted':
      return {
        subject: `You're on the waitlist: ${title}`,
        paragraphs: [
          `"${title}" is full, so you are on the waitlist${context.waitlistPosition ? ` at position ${context.waitlistPosition}` : ''}.`,
          'If a seat opens up you will be registered automatically and get an e-mail with the calendar invite.',
          when,
          manage,
        ],
      };
    case 'manage_link':
      return {
        subject: `Your registration link: ${title}`,
        paragraphs: [`Someone (probably you) asked to register this address for "${title}" again. You are already registered; nothing has changed.`, when, manage],
      };
    case 'session_updated':
      return {
        subject: `Updated: ${title}`,
        paragraphs: [`"${title}" has changed. Your calendar invite is updated with this e-mail.`, when, ...join, ...instructions, manage],
      };
    case 'session_cancelled':
      return {
        subject: `Cancelled: ${title}`,
        paragraphs: [
          `"${title}" has been cancelled${context.cancelReason ? `: ${context.cancelReason}` : '.'}`,
          'The event is removed from your calendar with this e-mail.',
          `Questions: ${context.contactName} <${context.contactEmail}>`,
          // Every e-mail to a registrant carries the manage link (the page shows the cancelled
          // state and the CANCEL invite); the cancellation notices were the only ones without it.
          manage,
        ],
      };
    case 'session_cancelled_waitlisted':
      return {
        subject: `Cancelled: ${title}`,
        paragraphs: [
          `"${title}", for which you were on the waitlist, has been cancelled${context.cancelReason ? `: ${context.cancelReason}` : '.'}`,
          `Questions: ${context.contactName} <${context.contactEmail}>`,
          manage,
        ],
      };
    case 'registration_cancelled':
      return context.wasConfirmed
        ? {
            subject: `Registration cancelled: ${title}`,
            paragraphs: [`Your registration for "${title}" is cancelled. The event is removed from your calendar with this e-mail.`, when, manage],
          }
        : {
            subject: `You left the waitlist: ${title}`,
            paragraphs: [`You are no longer on the waitlist for "${title}".`, when, manage],
          };
    case 'reminder':
      return {
        subject: `Reminder: ${title} ${context.reminderLead ? `starts ${context.reminderLead}` : 'is coming up'}`,
        paragraphs: [`"${title}" starts ${context.reminderLead ?? 'soon'}.`, when, ...join, ...instructions, manage],
      };
    case 'follow_up_attended':
    case 'follow_up_no_show': {
      const followUp = context.followUp ?? { message: '', recordingUrl: null };
      const recording = followUp.recordingUrl ? [{ link: followUp.recordingUrl, label: 'Watch the recording' }] : [];
      const opener = context.kind === 'follow_up_attended' ? `Thank you for joining "${title}".` : `We missed you at "${title}".`;
      return {
        subject: `${context.kind === 'follow_up_attended' ? 'Thank you' : 'Sorry we missed you'}: ${title}`,
        paragraphs: [opener, followUp.message, ...recording, manage],
      };
    }
  }
}

/** Plain text and HTML bodies of one e-mail; every value typed by a person is escaped in the HTML. */
export function renderEmail(context: EmailContext): { subject: string; text: string; html: string } {
  const { subject, paragraphs } = content(context);
  const greeting = `Hello ${context.recipientName},`;
  const text = [greeting, ...paragraphs.map((p) => (typeof p === 'string' ? p : `${p.label}: ${p.link}`))].join('\n\n') + '\n';
  const htmlParagraphs = [greeting, ...paragraphs]
    .map((p) =>
      typeof p === 'string'
        ? `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`
        : `<p><a href="${escapeHtml(p.link)}">${escapeHtml(p.label)}</a></p>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(headerText(subject))}</title></head>
<body style="font-family: system-ui, sans-serif; line-height: 1.5; max-width: 40em">
${htmlParagraphs}
</body></html>
`;
  return { subject: headerText(subject), text, html };
}
