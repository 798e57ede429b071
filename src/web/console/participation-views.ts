/** The data of the console's participation page (src/web/console/participation-templates.ts). Every string is escaped by the engine. */
import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

export interface ParticipationPageData {
  /** The range form (GET): From and To. */
  fields: ConsoleFieldView[];
  errors: ConsoleErrorItem[];
  /** The zone the dates are read in, named in the hint. */
  zone: string;
  /** Null when the range was refused (no table, no download). */
  report: {
    /** "12 published sessions start in the range, from 2025-03-15 to 2026-03-15 (UTC)." */
    summary: string;
    caption: string;
    /** The CSV's header, the table's column headers. */
    columns: readonly string[];
    /** Each row's cells in column order: the organisation's name first (the row header), then its status and figures. */
    rows: Array<{ name: string; statusText: string; statusTone: 'good' | 'muted'; figures: string[] }>;
    /** The same report as CSV, under the console session (recorded in the audit log). */
    csvHref: string;
  } | null;
}
