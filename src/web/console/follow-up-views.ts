/** The data the console's follow-up template (src/web/console/follow-up-templates.ts) receives. Every string is escaped by the engine. */
import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

export interface FollowUpPageData {
  csrf: string;
  base: string;
  title: string;
  whenText: string;
  /** The summary at the top: the compose form's field errors, or why a send was refused. */
  errors: ConsoleErrorItem[];
  /** The compose form (Message, Recording link); null once sent, on the confirmation step and when the session was cancelled. */
  compose: { fields: ConsoleFieldView[] } | null;
  /** Said instead of the compose form when there is none (the session was cancelled). */
  composeNote: string | null;
  /** The message as saved, shown read-only where there is no form. */
  saved: { message: string; recordingUrl: string | null } | null;
  send: {
    /** The Send follow-up button is offered (the session has ended, a message is saved, not yet sent). */
    offered: boolean;
    /** Why it is not offered, or what it will do ("It goes to 12 people: ..."). */
    text: string;
  };
  /** Once sent: when ("Thursday, December 3, 2026, 1:45 PM CST (America/Chicago)") and to whom. */
  sent: { atText: string; sentIso: string; recipientsText: string; emailsHref: string } | null;
  /** The confirmation step (`?confirm=1`): "Send to N people?" and the final button. */
  confirm: { question: string; details: string[] } | null;
}
