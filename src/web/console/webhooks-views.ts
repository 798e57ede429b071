/** The data the console's webhooks templates (src/web/console/webhooks-templates.ts) receive. Every string is escaped by the engine. */
import type { ConsoleErrorItem, ConsoleFieldView } from './views.js';

export type WebhookTone = 'good' | 'info' | 'wait' | 'stop' | 'muted';

/** "Enabled", "Failing since 2026-05-02 10:14", "Disabled by Convene: ...", "Disabled". */
export interface WebhookStatusView {
  text: string;
  tone: WebhookTone;
  /** The time inside the text, for `<time>`; null when the text holds none. */
  sinceIso: string | null;
}

export interface WebhookRowView {
  href: string;
  url: string;
  description: string | null;
  /** Each event's plain-language label, in the order of the form. */
  eventTexts: string[];
  status: WebhookStatusView;
  createdText: string;
  createdIso: string;
  /** The owner's name and e-mail: on an admin's list only. */
  owner: { name: string; email: string } | null;
}

/** `@console-webhooks`. */
export interface WebhooksPageData {
  /** An admin sees every organizer's endpoints, with an Owner column. */
  isAdmin: boolean;
  zone: string;
  rows: WebhookRowView[];
  /** The caller's own endpoints against the most one may have: no Add link when full. */
  full: boolean;
  max: number;
}

/** One checkbox of the Events fieldset. */
export interface WebhookEventChoice {
  id: string;
  name: string;
  /** "A registration is made", with the event's name beside it. */
  label: string;
  event: string;
  checked: boolean;
}

/** The Events fieldset: a checkbox per event, its error (at the fieldset) and its hint. */
export interface WebhookEventsView {
  choices: WebhookEventChoice[];
  error: string | null;
  hint: string;
}

/** The fields of the Add and Edit forms. */
export interface WebhookFormView {
  url: ConsoleFieldView;
  events: WebhookEventsView;
  description: ConsoleFieldView;
  /** The Edit form's Enabled checkbox; null on the Add form. */
  enabled: ConsoleFieldView | null;
  errors: ConsoleErrorItem[];
}

/** `@console-webhook-new`. */
export interface NewWebhookData {
  csrf: string;
  /** This form's one-time id: a submit the browser repeats adds one endpoint, not two. */
  formId: string;
  isAdmin: boolean;
  form: WebhookFormView;
}

/** A signing secret shown once: in the answer to the Add form, or to a rotation. */
export interface ShownSecretView {
  heading: string;
  secret: string;
  /** After a rotation: until when the previous secret also signs. */
  previousUntilText: string | null;
}

export interface DeliveryRowView {
  id: string;
  timeText: string;
  timeIso: string;
  eventText: string;
  event: string;
  status: WebhookStatusView;
  attempts: number;
  /** "HTTP 500", "timed out after 10 s", or '' before any attempt. */
  answerText: string;
}

/** `@console-webhook`. */
export interface WebhookPageData {
  csrf: string;
  id: string;
  base: string;
  zone: string;
  url: string;
  description: string | null;
  eventTexts: string[];
  status: WebhookStatusView;
  /** Shown when the endpoint is another organizer's (an admin looking at it). */
  owner: { name: string; email: string } | null;
  createdText: string;
  createdIso: string;
  /** After a rotation: until when the previous secret also signs; null once it stopped. */
  previousUntilText: string | null;
  previousUntilIso: string | null;
  /** The secret of this answer (Add form, rotation); never on a later page. */
  shown: ShownSecretView | null;
  /** Said at the top: the Add form or a rotation was sent twice, and what to do about its secret. */
  notice: string | null;
  edit: WebhookFormView;
  deliveries: DeliveryRowView[];
  /** Said under the log while the endpoint is disabled: what happens to its events. */
  logNote: string | null;
  olderHref: string | null;
  newestHref: string | null;
}

/** `@console-webhook-rotate`. */
export interface RotateWebhookData {
  csrf: string;
  id: string;
  base: string;
  url: string;
  /** This confirmation's one-time id: a repeated submit rotates once. */
  formId: string;
  /** A rotation made earlier whose previous secret still signs: it stops at once on another. */
  previousUntilText: string | null;
}

/** `@console-webhook-delete`. */
export interface DeleteWebhookData {
  csrf: string;
  id: string;
  base: string;
  url: string;
  description: string | null;
  eventTexts: string[];
}
