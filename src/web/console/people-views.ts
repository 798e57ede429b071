/** The data the console's people templates (src/web/console/people-templates.ts) receive. Every string is escaped by the engine. */
import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

export interface PeopleRow {
  id: string;
  name: string;
  email: string;
  /** As the person typed it. */
  organization: string;
  /** The member organisation recorded at registration by the address's domain, or ''. */
  memberOrganisation: string;
  statusText: string;
  statusTone: 'good' | 'info' | 'stop' | 'muted';
  /** Beside the status, in the session's zone: an offer's deadline ("until ..."), when it ran out, when a request was declined. */
  statusNote: { text: string; timeText: string; iso: string } | null;
  /** "1", "2" ... for the waitlisted, else ''. */
  position: string;
  registeredText: string;
  registeredIso: string;
  /** "Checked in 2026-12-04 13:58", "Joined ...", or ''. */
  attendanceText: string;
  /** Only a confirmed registration not yet checked in. */
  checkIn: boolean;
  /** A request awaiting approval, while the session takes people: Approve, a box for Approve selected, Decline. */
  approve: boolean;
  /** The confirmation page of declining a request, or null. */
  declineHref: string | null;
  /** The confirmation page of cancelling, or null (a request, or a registration that has ended). */
  cancelHref: string | null;
  forced: boolean;
}

export interface PeoplePageData {
  csrf: string;
  base: string;
  title: string;
  whenText: string;
  zone: string;
  counts: { confirmed: number; capacity: number | null; waitlisted: number; cancelled: number; pending: number; offered: number };
  /** The filter form's fields (GET). */
  filters: {
    q: ConsoleFieldView;
    status: ConsoleFieldView;
    attendance: ConsoleFieldView;
    /** Any, none, or one of the member organisations the session's people recorded. */
    organisation: ConsoleFieldView;
    sort: ConsoleFieldView;
    active: boolean;
    clearHref: string;
  };
  /** What the table shows, in words ("Waitlisted (in waitlist order), in order of registration", "Confirmed, by name"). */
  caption: string;
  /** The column the table is sorted by (its header gets aria-sort). */
  sortedBy: 'name' | 'registered';
  /** The first page of the table, with the same filters, sorted by that column (the column headers link there). */
  sortHrefs: { name: string; registered: string };
  rows: PeopleRow[];
  /** The query string of the current filters, for the actions to come back to ('' or '?q=...'). */
  back: string;
  /** The form the rows' boxes belong to ("Approve selected"); null when no row awaits approval. */
  bulkApprove: { action: string } | null;
  nextHref: string | null;
  firstHref: string | null;
  exports: Array<{ href: string; text: string }>;
  /** Adding someone by hand; null when the session no longer takes people (cancelled or finished). */
  add: { fields: ConsoleFieldView[]; questions: ConsoleFieldView[]; force: ConsoleFieldView; errors: ConsoleErrorItem[] } | null;
  addNote: string | null;
}

export interface DeclinePersonData {
  csrf: string;
  title: string;
  name: string;
  email: string;
  statusText: string;
  action: string;
  backHref: string;
  back: string;
  reason: ConsoleFieldView;
  errors: ConsoleErrorItem[];
}

export interface CancelPersonData {
  csrf: string;
  title: string;
  name: string;
  email: string;
  statusText: string;
  consequence: string;
  action: string;
  backHref: string;
  back: string;
}
