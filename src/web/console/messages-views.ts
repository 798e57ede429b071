/** The data the console's messages template (src/web/console/messages-templates.ts) receives. Every string is escaped by the engine. */
import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

export interface MessageHistoryRow {
  subject: string;
  /** "Confirmed", "Everyone", or "Test to you@example.org". */
  audienceText: string;
  test: boolean;
  sentText: string;
  sentIso: string;
  /** "42 people". */
  recipientsText: string;
  /** "40 sent, 1 pending, 1 failed"; '' when nobody was written to. */
  deliveryText: string;
  failed: number;
  /** This message's own delivery log (the session's e-mails, filtered to it). */
  logHref: string;
}

export interface MessagesPageData {
  csrf: string;
  base: string;
  title: string;
  whenText: string;
  /** The summary at the top: the compose form's field errors, or why a send was refused. */
  errors: ConsoleErrorItem[];
  /**
   * The compose form (Subject, Message, Audience); null on the confirmation step and when the
   * session was cancelled. `messageId` / `testId`: this form's one-time ids, so a send (or a
   * test) submitted twice by the browser is written once.
   */
  compose: { fields: ConsoleFieldView[]; messageId: string; testId: string; organizerEmail: string } | null;
  /** Said instead of the compose form when there is none. */
  composeNote: string | null;
  /** The confirmation step: "Send to 42 confirmed people?", the message as it goes, and the final button. */
  confirm: {
    question: string;
    details: string[];
    subject: string;
    body: string;
    hidden: Array<{ name: string; value: string }>;
  } | null;
  history: MessageHistoryRow[];
  /** The session's delivery log (every kind). */
  emailsHref: string;
}
