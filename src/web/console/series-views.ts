/** The data the console's series templates (src/web/console/series-templates.ts) receive. Every string is escaped by the engine. */
import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

export interface SeriesListRow {
  id: string;
  title: string;
  slug: string;
  /** The public page, `/series/{slug}`. */
  pageHref: string;
  sessionCount: number;
  /** "3 published, 1 draft". */
  statusText: string;
  /** The first and the last session's days, in the first session's zone; '' without sessions. */
  datesText: string;
}

export interface SeriesListData {
  rows: SeriesListRow[];
}

/** A session the form offers: ticked when it is in the series, with its position field. */
export interface SeriesCandidateView {
  id: string;
  title: string;
  whenText: string;
  startIso: string;
  statusText: string;
  statusTone: 'good' | 'info' | 'stop' | 'muted';
  checked: boolean;
  position: string;
  /** The position field's error (not a whole number). */
  positionError: string | null;
}

export interface SeriesFormData {
  csrf: string;
  heading: string;
  action: string;
  submitLabel: string;
  fields: ConsoleFieldView[];
  /** The order field: by start time or by the positions given. */
  order: ConsoleFieldView;
  candidates: SeriesCandidateView[];
  /** An error about the sessions as a whole (none ticked, one not yours), said at the list. */
  sessionsError: string | null;
  errors: ConsoleErrorItem[];
  /** Said when the list was cut at its limit. */
  candidatesNote: string | null;
  cancelHref: string;
}

export interface DeleteSeriesData {
  csrf: string;
  title: string;
  action: string;
  sessionCount: number;
}
