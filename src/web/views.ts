/** The data each template of src/web/templates.ts receives. Every string is escaped by the engine. */

export interface LayoutData {
  pageTitle: string;
  /** The form alone, for an iframe: no site header. */
  embed?: boolean;
  /** Token pages: the browser sends no Referer from them. */
  noReferrer?: boolean;
}

export type AvailabilityKind = 'open' | 'waitlist' | 'full' | 'not-yet' | 'closed' | 'cancelled' | 'finished' | 'draft';

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
  availability: { kind: AvailabilityKind; text: string; tone: 'good' | 'wait' | 'stop' | 'info' };
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
}

/** The page after a form post: the same for everyone, whatever the post did. */
export interface RegisteredData extends LayoutData {
  session: SessionView;
  backUrl: string | null;
}

export interface ManageData extends LayoutData {
  session: SessionView;
  registration: {
    status: 'confirmed' | 'waitlisted' | 'cancelled';
    position: number | null;
    name: string;
    email: string;
    organization: string | null;
  };
  /** What the status block says, and its tone. */
  headline: string;
  detail: string | null;
  tone: 'good' | 'wait' | 'stop' | 'info';
  notice: string | null;
  calendar: { ics: string; webcal: string | null; google: string | null; feed: string | null } | null;
  join: { url: string } | null;
  joinLater: string | null;
  cancel: { url: string; label: string } | null;
  registerAgain: string | null;
}

export interface CancelData extends LayoutData {
  session: SessionView;
  status: 'confirmed' | 'waitlisted';
  action: string;
  backUrl: string;
}

export interface MessageData extends LayoutData {
  title: string;
  message: string;
  link: { href: string; text: string } | null;
}
