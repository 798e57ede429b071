import { escapeHtml, singleLine } from '../../text.js';

/** What every e-mail to a registrant may show, read at send time; what differs by kind comes in the kind's payload. */
export interface EmailContext {
  recipientName: string;
  sessionTitle: string;
  timeText: string;
  manageLink: string;
  joinLink: string | null;
  joinInstructions: string | null;
  waitlistPosition: number | null;
  cancelReason: string | null;
  contactName: string;
  contactEmail: string;
  followUp?: { message: string; recordingUrl: string | null };
}

export type Paragraph = string | { link: string; label: string };

export interface EmailContent {
  subject: string;
  /** Paragraphs; links are written as plain URLs in text and as anchors in HTML. */
  paragraphs: Paragraph[];
}

/** The paragraphs most e-mails share. */
function parts(context: EmailContext) {
  return {
    title: context.sessionTitle,
    when: `When: ${context.timeText}`,
    manage: { link: context.manageLink, label: 'Manage your registration (cancel, calendar, join link)' },
    join: context.joinLink ? [{ link: context.joinLink, label: 'Your personal join link' }] : [],
    instructions: context.joinInstructions ? [context.joinInstructions] : [],
  };
}

export function confirmationEmail(context: EmailContext): EmailContent {
  const { title, when, manage, join, instructions } = parts(context);
  return {
    subject: `You're registered: ${title}`,
    paragraphs: [`You are registered for "${title}".`, when, ...join, ...instructions, 'The calendar invite is attached.', manage],
  };
}

export function promotedEmail(context: EmailContext): EmailContent {
  const { title, when, manage, join, instructions } = parts(context);
  return {
    subject: `A seat opened up: you're registered for ${title}`,
    paragraphs: [`Good news: a seat opened up and you are now registered for "${title}".`, when, ...join, ...instructions, 'The calendar invite is attached.', manage],
  };
}

export function waitlistedEmail(context: EmailContext): EmailContent {
  const { title, when, manage } = parts(context);
  return {
    subject: `You're on the waitlist: ${title}`,
    paragraphs: [
      `"${title}" is full, so you are on the waitlist${context.waitlistPosition ? ` at position ${context.waitlistPosition}` : ''}.`,
      'If a seat opens up you will be registered automatically and get an e-mail with the calendar invite.',
      when,
      manage,
    ],
  };
}

export function manageLinkEmail(context: EmailContext): EmailContent {
  const { title, when, manage } = parts(context);
  return {
    subject: `Your registration link: ${title}`,
    paragraphs: [`Someone (probably you) asked to register this address for "${title}" again. You are already registered; nothing has changed.`, when, manage],
  };
}

export function sessionUpdatedEmail(context: EmailContext): EmailContent {
  const { title, when, manage, join, instructions } = parts(context);
  return {
    subject: `Updated: ${title}`,
    paragraphs: [`"${title}" has changed. Your calendar invite is updated with this e-mail.`, when, ...join, ...instructions, manage],
  };
}

export function sessionCancelledEmail(context: EmailContext): EmailContent {
  const { title, manage } = parts(context);
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
}

export function sessionCancelledWaitlistedEmail(context: EmailContext): EmailContent {
  const { title, manage } = parts(context);
  return {
    subject: `Cancelled: ${title}`,
    paragraphs: [
      `"${title}", for which you were on the waitlist, has been cancelled${context.cancelReason ? `: ${context.cancelReason}` : '.'}`,
      `Questions: ${context.contactName} <${context.contactEmail}>`,
      manage,
    ],
  };
}

/** `wasConfirmed`: the registration held a seat (and an invite) when it was cancelled, rather than a waitlist place. */
export function registrationCancelledEmail(context: EmailContext, wasConfirmed: boolean): EmailContent {
  const { title, when, manage } = parts(context);
  return wasConfirmed
    ? {
        subject: `Registration cancelled: ${title}`,
        paragraphs: [`Your registration for "${title}" is cancelled. The event is removed from your calendar with this e-mail.`, when, manage],
      }
    : {
        subject: `You left the waitlist: ${title}`,
        paragraphs: [`You are no longer on the waitlist for "${title}".`, when, manage],
      };
}

/** `lead`: how long before the start, in words ("in 1 day"). */
export function reminderEmail(context: EmailContext, lead: string | undefined): EmailContent {
  const { title, when, manage, join, instructions } = parts(context);
  return {
    subject: `Reminder: ${title} ${lead ? `starts ${lead}` : 'is coming up'}`,
    paragraphs: [`"${title}" starts ${lead ?? 'soon'}.`, when, ...join, ...instructions, manage],
  };
}

/** The thank-you after a session, to those who came (`attended`) and to those who did not. */
export function followUpEmail(context: EmailContext, attended: boolean): EmailContent {
  const { title, manage } = parts(context);
  const followUp = context.followUp ?? { message: '', recordingUrl: null };
  const recording = followUp.recordingUrl ? [{ link: followUp.recordingUrl, label: 'Watch the recording' }] : [];
  const opener = attended ? `Thank you for joining "${title}".` : `We missed you at "${title}".`;
  return {
    subject: `${attended ? 'Thank you' : 'Sorry we missed you'}: ${title}`,
    paragraphs: [opener, followUp.message, ...recording, manage],
  };
}

/** Plain text and HTML bodies of one e-mail; every value typed by a person is escaped in the HTML. */
export function renderEmail(context: EmailContext, { subject, paragraphs }: EmailContent): { subject: string; text: string; html: string } {
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
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(singleLine(subject))}</title></head>
<body style="font-family: system-ui, sans-serif; line-height: 1.5; max-width: 40em">
${htmlParagraphs}
</body></html>
`;
  return { subject: singleLine(subject), text, html };
}
