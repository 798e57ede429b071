/** The data the series page templates (src/web/series-templates.ts) receive. Every string is escaped by the engine. */
import type { FormView, LayoutData, SessionView } from './views.js';

/** One session on a series page: as the session list shows it, and whether the series form registers for it. */
export interface SeriesSessionView {
  session: SessionView;
  /** The series form registers for it; false: it is registered for on its own page. */
  seriesForm: boolean;
  /** Who it is open to, or why the form leaves it out; null when nothing is to say. */
  note: string | null;
}

/** Subscribe to the series' feed: as a calendar app subscription, in Google Calendar, or the .ics. */
export interface SeriesCalendarView {
  webcal: string;
  google: string;
  ics: string;
}

export interface SeriesPageData extends LayoutData {
  series: { slug: string; title: string; descriptionHtml: string };
  sessions: SeriesSessionView[];
  /** null when no session takes registrations through the form now; `closedText` says so. */
  form: FormView | null;
  closedText: string | null;
  calendar: SeriesCalendarView | null;
  /** Whom to write to: the contact of the series' first session. */
  contact: { name: string; email: string } | null;
}

/** The page after a form post: the same for everyone, whatever each session did. */
export interface SeriesRegisteredData extends LayoutData {
  series: { slug: string; title: string };
  backUrl: string;
  /** Who the e-mails come from (the organisation's sender name). */
  sender: string;
  calendar: SeriesCalendarView | null;
}
