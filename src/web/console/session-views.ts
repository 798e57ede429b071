/** The data the console's session templates (src/web/console/session-templates.ts) receive. Every string is escaped by the engine. */
import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

export interface SessionFormData {
  heading: string;
  action: string;
  csrf: string;
  backHref: string;
  audienceChoices: Array<{ value: string; text: string }>;
  form: {
    fields: Record<string, ConsoleFieldView>;
    audience: string;
    audienceError: string | null;
    questionRows: Array<{ legend: string; idValue: string; fields: ConsoleFieldView[] }>;
    errors: ConsoleErrorItem[];
  };
}

export interface ConfirmChangeData {
  title: string;
  action: string;
  csrf: string;
  /** The fields that change, in the form's words. */
  changes: string[];
  /** What applying it sends or moves; empty: nothing is sent. */
  effects: string[];
  hidden: Array<{ name: string; value: string }>;
}

export interface SessionOverviewData {
  csrf: string;
  base: string;
  session: {
    title: string;
    statusText: string;
    statusTone: 'good' | 'info' | 'stop' | 'muted';
    whenText: string;
    startIso: string;
    cancelReason: string | null;
    confirmed: number;
    capacity: number | null;
    waitlisted: number;
    waitlistText: string;
    cancelled: number;
    /** Requests awaiting approval, and seats held by open offers. */
    pending: number;
    offered: number;
    showPending: boolean;
    showOffered: boolean;
  };
  actions: { publish: boolean; edit: boolean; cancel: boolean; remove: boolean; note: string | null };
  /** `note`: said above the links (a draft's are not live yet). */
  share: { note: string | null; page: string; embed: string; feed: string };
  details: Array<{ term: string; value: string }>;
  hosts: Array<{ id: string; name: string; text: string }>;
  /** Adding and removing hosts (not on a cancelled session); `email` is the field to add one. */
  hostsForm: { open: boolean; email: ConsoleFieldView; errors: ConsoleErrorItem[] };
}

export interface CancelSessionData {
  title: string;
  whenText: string;
  action: string;
  csrf: string;
  backHref: string;
  consequence: string;
  reason: ConsoleFieldView;
  errors: ConsoleErrorItem[];
}

export interface DeleteSessionData {
  title: string;
  action: string;
  csrf: string;
  backHref: string;
}
