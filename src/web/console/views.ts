/**
 * The data the console's templates (src/web/console/templates.ts) receive. Every string is
 * escaped by the engine unless a field's name ends in `Html` (already-built markup).
 */

export interface ConsoleNavItem {
  href: string;
  text: string;
  current: boolean;
}

export interface ConsoleLayoutData {
  pageTitle: string;
  /** The signed-in organizer, or null on the login page. */
  organizer: { name: string; email: string; role: 'admin' | 'organizer' } | null;
  /** The session's CSRF token, for the Sign out form in the header. */
  csrf: string | null;
  nav: ConsoleNavItem[];
  flash: ConsoleFlash | null;
  /** The page's own markup. */
  bodyHtml: string;
}

export interface ConsoleFlash {
  tone: 'good' | 'info' | 'stop';
  text: string;
}

/** One field of a console form; `error` is shown at the field and linked from the summary. */
export interface ConsoleFieldView {
  id: string;
  name: string;
  label: string;
  kind: 'text' | 'email' | 'password' | 'number' | 'url' | 'search' | 'datetime-local' | 'textarea' | 'select' | 'checkbox';
  value?: string;
  checked?: boolean;
  required?: boolean;
  options?: Array<{ value: string; text: string }>;
  hint?: string | null;
  error?: string | null;
  autocomplete?: string | null;
  autofocus?: boolean;
  maxlength?: number | null;
  /** Extra attributes for numbers and times (min, max, step), written as given. */
  min?: string | null;
  max?: string | null;
  step?: string | null;
  rows?: number;
}

/** The error summary at the top of a form: links to the fields, or plain text for errors of the whole form. */
export interface ConsoleErrorItem {
  href: string | null;
  text: string;
}

export interface ConsoleMessageData {
  title: string;
  message: string;
  link: { href: string; text: string } | null;
}

export interface LoginData {
  fields: ConsoleFieldView[];
  errors: ConsoleErrorItem[];
  next: string | null;
  notice: string | null;
}

export interface DashboardRow {
  href: string;
  title: string;
  whenText: string;
  startIso: string;
  statusText: string;
  statusTone: 'good' | 'info' | 'stop' | 'muted';
  confirmed: number;
  /** Null: unlimited. */
  capacity: number | null;
  waitlisted: number;
  /** Requests awaiting approval, and seats held by open offers. */
  pending: number;
  offered: number;
}

export interface DashboardGroup {
  id: 'upcoming' | 'drafts' | 'past';
  title: string;
  empty: string;
  rows: DashboardRow[];
  /** The "Awaiting approval" and "Seats offered" columns: only when a row of the group has some. */
  showPending: boolean;
  showOffered: boolean;
}

export interface DashboardData {
  groups: DashboardGroup[];
  /** Said when the list was cut at its limit. */
  truncatedNote: string | null;
}

export interface AccountData {
  csrf: string;
  email: string;
  role: string;
  nameForm: { fields: ConsoleFieldView[]; errors: ConsoleErrorItem[] };
  passwordForm: { fields: ConsoleFieldView[]; errors: ConsoleErrorItem[] };
}
