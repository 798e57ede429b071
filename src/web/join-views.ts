import type { HowToJoin } from '../services/how-to-join.js';
import { richText } from './text.js';
import { instantView, type InstantView, type WhenView } from './times.js';
import type { LayoutData } from './views.js';

/**
 * The "How to join" block (`@how-to-join`) and the join-link pages (`@join`): what the manage
 * page, the join page and the session page say about joining. The session page gets the public
 * variant, which carries no secret (no passcode, no instructions, no link).
 */
export interface HowToJoinView {
  /** "Online on Zoom", or "Online" when the meeting URL names no known platform. */
  platformText: string;
  /** The personal variant: passcode, instructions, the link's button or its opening time, "this link is yours". */
  personal: boolean;
  passcode: string | null;
  /** The organizer's join instructions as safe HTML (src/web/text.ts richText). */
  instructionsHtml: string | null;
  /** When the personal link starts to open the meeting. */
  opens: InstantView;
  minutesBefore: number;
  /** The personal join link, shown as the button inside the join window. */
  joinUrl: string | null;
  /** Before the window: say when the personal link opens. */
  opensLater: boolean;
}

/**
 * `personal`: the reader's own confirmed registration (manage and join pages), with the join
 * path when the window is open and whether it is still to open; null for the public variant
 * (session page).
 */
export function howToJoinView(
  howTo: HowToJoin,
  timezone: string,
  personal: { joinUrl: string | null; opensLater: boolean } | null,
): HowToJoinView {
  return {
    platformText: howTo.platform ? `Online on ${howTo.platform}` : 'Online',
    personal: personal !== null,
    passcode: personal ? howTo.passcode : null,
    instructionsHtml: personal && howTo.instructions ? richText(howTo.instructions) : null,
    opens: instantView(howTo.opensAt, timezone),
    minutesBefore: howTo.minutesBefore,
    joinUrl: personal?.joinUrl ?? null,
    opensLater: personal?.opensLater ?? false,
  };
}

/** The manage page's notice that the session changed since the person registered. */
export interface ChangeNoticeView {
  changedAt: InstantView;
  /** The time before the change, when it moved (null: same time, or not known). */
  previousWhen: WhenView | null;
  currentWhen: WhenView;
  /** The title before the change, when it changed. */
  previousTitle: string | null;
}

/** What the page of a refused join link shows. Everything but `heading` and `message` is null on the unknown-link page, which reveals nothing. */
export interface JoinPageData extends LayoutData {
  heading: string;
  message: string;
  tone: 'good' | 'wait' | 'stop' | 'info';
  session: { title: string; when: WhenView } | null;
  /** Not open yet: the script counts down and opens `href` (this same join link) when it reaches zero. */
  countdown: { opens: InstantView; seconds: number; text: string; href: string } | null;
  /** A plain link back to this join link (works without the script). */
  retry: { href: string; label: string } | null;
  howToJoin: HowToJoinView | null;
  manageUrl: string | null;
  calendarUrl: string | null;
  contact: { name: string; email: string } | null;
}
