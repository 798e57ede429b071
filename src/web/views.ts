/** The data each template of src/web/templates.ts receives. Every string is escaped by the engine. */

import type { CalendarLinksView } from './calendar-links.js';
import type { ChangeNoticeView, HowToJoinView } from './join-views.js';

export interface LayoutData {
  pageTitle: string;
  /** The form alone, for an iframe: no site header. */
  embed?: boolean;
  /** Token pages: the browser sends no Referer from them. */
  noReferrer?: boolean;
}

export type AvailabilityKind = 'open' | 'waitlist' | 'full' | 'not-yet' | 'closed' | 'cancelled' | 'finished' | 'draft';

export type Tone = 'good' | 'wait' | 'stop' | 'info';

/**
 * One instant, as `<time class="local-instant" datetime="{iso}" data-zone="{zone}">{text}</time>`:
 * the server's text is in the session's zone; our script rewrites it in the reader's.
 */
export interface InstantView {
  iso: string;
  text: string;
  zone: string;
}

/** A session's status on the list, as words in a badge (the colour only repeats them). */
export interface BadgeView {
  label: string;
  tone: Tone | 'muted';
  /** "Registration opens" + this time. */
  opensAt: InstantView | null;
}

export interface SessionView {
  slug: string;
  title: string;
  summary: string | null;
  /** Already escaped (src/web/text.ts richText). */
  descriptionHtml: string;
  whenText: string;
  startIso: string;
  endIso: string;
  timezone: string;
  /** `text` is a sentence; with `opensAt` it ends with that time. */
  availability: { kind: AvailabilityKind; text: string; tone: Tone; opensAt: InstantView | null };
  badge: BadgeView;
  contact: { name: string; email: string };
  pageUrl: string;
}

export interface FieldView {
  id: string;
  name: string;
  label: string;
  kind: 'text' | 'email' | 'textarea' | 'select' | 'checkbox';
  value: string;
  checked: boolean;
  required: boolean;
  options: string[];
  hint: string | null;
  error: string | null;
  autocomplete: string | null;
  autofocus: boolean;
  maxlength: number | null;
}

export interface FormView {
  action: string;
  submitLabel: string;
  fields: FieldView[];
  consent: FieldView;
  honeypotName: string;
  /** The error summary: links to the fields, or plain text for errors of the whole form. */
  errors: Array<{ href: string | null; text: string }>;
  /** Focus the summary itself (no field to focus, e.g. the session filled up meanwhile). */
  focusSummary: boolean;
}

export interface IndexData extends LayoutData {
  sessions: SessionView[];
}

export interface SessionPageData extends LayoutData {
  session: SessionView;
  /** null when registration is not possible; the availability says why. */
  form: FormView | null;
  /** Why the organizer cancelled the session, when they said. */
  cancelReason?: string | null;
  /** A finished session's follow-up, once sent: the message (escaped HTML) and the recording. */
  followUp?: { messageHtml: string; recordingUrl: string | null } | null;
  /** Other upcoming sessions, offered when this one takes no registrations. */
  others?: SessionView[];
  /** Add to calendar, while the session is still ahead. */
  calendar?: CalendarLinksView | null;
  /** The `@how-to-join` partial's public variant: no passcode, instructions or link (src/web/join-views.ts). */
  howToJoin?: HowToJoinView | null;
  /** The session's organizers approve each registration: the form sends a request. */
  approval?: boolean;
}

/** The page after a form post: the same for everyone, whatever the post did. */
export interface RegisteredData extends LayoutData {
  session: SessionView;
  backUrl: string | null;
  /** The form, to register again with another address. */
  formUrl: string;
  /** The address the form was sent with, masked ("a***@cityofx.gov"); null when unknown (no cookie). */
  sentTo: string | null;
  /** Who the e-mail comes from (the organisation's sender name). */
  sender: string;
  calendar: CalendarLinksView;
  /** The post sent a request for the organizers to approve (the session's setting, the same for every address). */
  approval: boolean;
}

/** Every status a registration can have (db/schema/registrations.ts). */
export type RegistrationStatusView = 'confirmed' | 'waitlisted' | 'pending' | 'offered' | 'cancelled' | 'declined' | 'expired';

/** The statuses a person can still end from the manage page (cancel, leave, withdraw, decline). */
export type CancellableStatus = 'confirmed' | 'waitlisted' | 'pending' | 'offered';

export interface ManageData extends LayoutData {
  session: SessionView;
  registration: {
    status: RegistrationStatusView;
    position: number | null;
    name: string;
    email: string;
    organization: string | null;
  };
  /** What the status block says, and its tone; `headlineUntil` ends the headline (a held seat's deadline). */
  headline: string;
  headlineUntil: InstantView | null;
  detail: string | null;
  tone: 'good' | 'wait' | 'stop' | 'info';
  /** Why the last post did not do what it asked (an offer that ran out), in calm words. */
  message: string | null;
  /** The organisers' reason, on a cancelled session. */
  cancelReason: string | null;
  /** What changed since the person registered (the latest update e-mail's facts). */
  notice: ChangeNoticeView | null;
  /** A finished session's follow-up, once sent: the message (escaped HTML) and the recording. */
  followUp: { messageHtml: string; recordingUrl: string | null } | null;
  /** How to join, with the passcode and the join button (confirmed, session ahead). */
  howToJoin: HowToJoinView | null;
  calendar: CalendarLinksView | null;
  /** A seat held for the person: accept (a POST from this page) or decline (the cancel step). */
  offer: { acceptUrl: string; declineUrl: string } | null;
  /** The way out of a seat, a waitlist place or a request: a link to the cancel step, with its section's words. */
  cancel: { url: string; label: string; heading: string; explanation: string } | null;
  /** What anyone holding this page's link could do, when there is something to do. */
  linkWarning: string | null;
  registerAgain: string | null;
  /** The session page, when there is nothing to register again for. */
  sessionUrl: string | null;
}

/** The cancel step: what ending this registration means, and the POST that does it. */
export interface CancelData extends LayoutData {
  session: SessionView;
  heading: string;
  explanation: string;
  confirmLabel: string;
  backLabel: string;
  action: string;
  backUrl: string;
}

export interface MessageData extends LayoutData {
  title: string;
  message: string;
  link: { href: string; text: string } | null;
}
