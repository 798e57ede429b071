/** The data the console's admin templates (src/web/console/admin-templates.ts) receive. Every string is escaped by the engine. */
import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

export interface OrganizerRow {
  id: string;
  name: string;
  email: string;
  role: 'admin' | 'organizer';
  roleText: string;
  enabled: boolean;
  createdText: string;
  createdIso: string;
  /** The signed-in admin's own row: no Disable (the service refuses it), marked "you". */
  self: boolean;
}

export interface OrganizersPageData {
  csrf: string;
  /** An action refused by the service (last admin, yourself), said at the top. */
  actionErrors: ConsoleErrorItem[];
  rows: OrganizerRow[];
  /** The options of each row's role select. */
  roleChoices: Array<{ value: string; text: string }>;
  /** The zone the times are shown in, named in the column header. */
  zone: string;
  add: { fields: ConsoleFieldView[]; errors: ConsoleErrorItem[] };
}

export interface DisableOrganizerData {
  csrf: string;
  id: string;
  name: string;
  email: string;
  roleText: string;
}

export interface AuditRowView {
  atText: string;
  atIso: string;
  /** The actor's e-mail, or "System" (the retention job, the first admin). */
  actorText: string;
  /** The log filtered to this actor, or null for the system. */
  actorHref: string | null;
  action: string;
  subjectType: string;
  subjectId: string;
  /** The session's console page, for entries about a session. */
  subjectHref: string | null;
  /** The entry's details as compact JSON ('' when empty); never personal data (audit.service.ts). */
  detailsText: string;
}

export interface AuditPageData {
  zone: string;
  filters: { fields: ConsoleFieldView[]; errors: ConsoleErrorItem[]; active: boolean };
  caption: string;
  /** Null when the filters were refused (nothing is listed). */
  rows: AuditRowView[] | null;
  nextHref: string | null;
  firstHref: string | null;
}
