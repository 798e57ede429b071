/** The data the console's e-mails template (src/web/console/emails-templates.ts) receives. Every string is escaped by the engine. */
import type { ConsoleFieldView } from './views.js';

export interface EmailRow {
  /** The kind in words ("Invite update"). */
  kindText: string;
  /** The person's name, or '' when the registration no longer exists. */
  recipientName: string;
  recipientEmail: string;
  statusText: string;
  statusTone: 'good' | 'info' | 'stop' | 'muted';
  failed: boolean;
  writtenText: string;
  writtenIso: string;
  sentText: string;
  sentIso: string | null;
  /** Why it failed, why it was not sent, or why the last attempt will be retried; '' when none. */
  reasonText: string;
  attempts: number;
}

export interface EmailsPageData {
  base: string;
  title: string;
  whenText: string;
  zone: string;
  /** "12 e-mails: 9 sent, 1 queued, 2 failed". */
  totalsText: string;
  failedCount: number;
  /** The link that shows only the failed ones (null when none failed or that is the current view). */
  failedHref: string | null;
  filter: { status: ConsoleFieldView; active: boolean };
  /** The log of one message (`?message=`): its subject, its id for the filter form, the way back to Messages. */
  message: { subject: string; hidden: string; backHref: string } | null;
  caption: string;
  rows: EmailRow[];
  /** Said instead of the table when it has no rows. */
  emptyText: string;
  nextHref: string | null;
  firstHref: string | null;
}
