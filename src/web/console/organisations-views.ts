/** The data the console's organisation templates (src/web/console/organisations-templates.ts) receive. Every string is escaped by the engine. */
import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

/** A domain as people read it (Unicode) and, when that differs, as it is stored (xn--). */
export interface DomainView {
  text: string;
  ascii: string | null;
}

export interface OrganisationRowView {
  id: string;
  name: string;
  statusText: string;
  statusTone: 'good' | 'muted';
  domains: DomainView[];
  updatedText: string;
  updatedIso: string;
}

export interface OrganisationsPageData {
  /** An admin: Add, Edit and Import are offered (organizers read the list only). */
  canChange: boolean;
  rows: OrganisationRowView[];
  zone: string;
}

/** The Add and Edit forms. */
export interface OrganisationFormData {
  csrf: string;
  heading: string;
  action: string;
  submitText: string;
  fields: ConsoleFieldView[];
  errors: ConsoleErrorItem[];
}

export interface ImportFormData {
  csrf: string;
  /** The pasted text (a textarea, through `@console-field`). */
  text: ConsoleFieldView;
  /** The file input (`@console-field` has no file kind): its id, label, hint and error. */
  file: ConsoleFieldView;
  errors: ConsoleErrorItem[];
  /** The header line and an example line, shown as a sample. */
  sample: string;
}

export interface ImportRowView {
  line: number;
  name: string;
  /** The stored name when the line matched it in another case. */
  existingName: string | null;
  outcomeText: string;
  outcomeTone: 'good' | 'info' | 'muted' | 'stop';
  added: DomainView[];
  removed: DomainView[];
  /** The domains kept (changed and unchanged lines) or listed (new lines). */
  kept: DomainView[];
  reasons: string[];
}

export interface ImportPreviewData {
  csrf: string;
  /** Said at the top: the organisations changed since the last preview. */
  notice: ConsoleErrorItem[];
  summary: string;
  rows: ImportRowView[];
  /** New and changed organisations; 0: there is nothing to apply. */
  changes: number;
  refused: number;
  /** The CSV text, base64url, carried to Apply (which plans it again). */
  csv: string;
  /** The plan shown here (ImportPlan.digest): Apply writes only this one. */
  digest: string;
}
