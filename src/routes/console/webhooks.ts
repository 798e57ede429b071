import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebhookDeliveryRow, WebhookEvent } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, IdempotencyMismatchError, NotFoundError, type FieldError } from '../../errors.js';
import { isUuid } from '../../ids.js';
import { seesEverySession } from '../../services/hosts.js';
import { requestHash, type IdempotencyService } from '../../services/idempotency.js';
import type { OrganizersService } from '../../services/organizers.service.js';
import { MAX_WEBHOOK_URL_LENGTH } from '../../services/webhooks/address.js';
import {
  SUBSCRIBABLE_EVENTS,
  WEBHOOK_DESCRIPTION_MAX_LENGTH,
  WEBHOOK_ENDPOINTS_MAX,
  type WebhookChanges,
  type WebhookEndpoint,
  type WebhookEndpointsService,
} from '../../services/webhooks/endpoints.service.js';
import { WEBHOOKS_PAGE } from '../../services/links.js';
import { shortInstantText } from '../../text.js';
import { WEBHOOKS_TEMPLATES } from '../../web/console/webhooks-templates.js';
import type {
  DeleteWebhookData,
  DeliveryRowView,
  NewWebhookData,
  RotateWebhookData,
  ShownSecretView,
  WebhookFormView,
  WebhookPageData,
  WebhooksPageData,
  WebhookStatusView,
} from '../../web/console/webhooks-views.js';
import { IdParams } from '../schemas.js';
import { ADMIN_ZONE } from './admin.js';
import {
  addConsoleNavItem,
  addConsoleTemplates,
  consoleContext,
  field,
  formText,
  redirect303,
  renderConsoleTemplate,
  sendConsoleMessage,
  sendConsolePage,
  withFieldErrors,
  type ConsoleErrorItem,
  type ConsoleFlash,
} from './layout.js';

addConsoleTemplates(WEBHOOKS_TEMPLATES);

const LOG_PAGE_SIZE = 25;

export interface ConsoleWebhookPagesOptions {
  webhooks: WebhookEndpointsService;
  /** The owners' names on an admin's list. */
  organizers: OrganizersService;
  /** The one-time ids of the Add form and of the rotation's confirmation. */
  idempotency: IdempotencyService;
  clock: Clock;
}

/** Each event in plain words; the event's own name is shown beside it. */
const EVENT_WORDS: Record<WebhookEvent, string> = {
  'registration.created': 'A registration is made',
  'registration.confirmed': 'A registration is confirmed',
  'registration.waitlisted': 'A registration goes on the waitlist',
  'registration.cancelled': 'A registration is cancelled',
  'registration.checked_in': 'Someone is checked in',
  'session.published': 'A session is published',
  'session.updated': 'A session is changed',
  'session.cancelled': 'A session is cancelled',
  ping: 'Test event',
};

const DONE: Record<string, ConsoleFlash> = {
  saved: { tone: 'good', text: 'The endpoint is saved.' },
  unchanged: { tone: 'info', text: 'Nothing was changed.' },
  enabled: { tone: 'good', text: 'The endpoint is enabled: events are sent to it again, those waiting first.' },
  disabled: { tone: 'info', text: 'The endpoint is disabled: no event is sent to it until you enable it again.' },
  tested: { tone: 'good', text: 'A test event is on its way: see the delivery log.' },
  deleted: { tone: 'info', text: 'The endpoint is deleted: no event is sent to it any more.' },
};

const INCOMPLETE = 'The form was incomplete. Please send it again.';

const timeText = (at: Date) => shortInstantText(at, ADMIN_ZONE);
/** A time inside a sentence, with its zone (a table names it in its header instead). */
const zonedText = (at: Date) => `${timeText(at)} ${ADMIN_ZONE}`;
const eventText = (event: string) => EVENT_WORDS[event as WebhookEvent] ?? event;
const join = (first: string | null | undefined, next: string) => (first ? `${first}; ${next}` : next);

function eventTexts(events: readonly string[]): string[] {
  if (SUBSCRIBABLE_EVENTS.every((event) => events.includes(event))) return ['Every event'];
  // In the order of the form, whatever order they were chosen in.
  return SUBSCRIBABLE_EVENTS.filter((event) => events.includes(event)).map(eventText);
}

function endpointStatus(endpoint: WebhookEndpoint): WebhookStatusView {
  if (!endpoint.enabled) {
    const reason = endpoint.disabledReason;
    return reason
      ? { text: `Disabled by Convene: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`, tone: 'stop', sinceIso: null }
      : { text: 'Disabled', tone: 'muted', sinceIso: null };
  }
  if (endpoint.failingSince) return { text: `Failing since ${zonedText(endpoint.failingSince)}`, tone: 'wait', sinceIso: endpoint.failingSince.toISOString() };
  return { text: 'Enabled', tone: 'good', sinceIso: null };
}

function deliveryStatus(row: WebhookDeliveryRow, endpointEnabled: boolean): WebhookStatusView {
  switch (row.status) {
    case 'succeeded':
      return { text: 'Delivered', tone: 'good', sinceIso: null };
    case 'failed':
      return { text: 'Failed', tone: 'stop', sinceIso: null };
    case 'sending':
      return { text: 'Sending', tone: 'info', sinceIso: null };
    case 'pending':
      // A disabled endpoint's events wait (a test event alone is sent all the same).
      if (!endpointEnabled && row.eventType !== 'ping') return { text: 'Waiting: the endpoint is disabled', tone: 'muted', sinceIso: null };
      if (row.attempts === 0) return { text: 'Waiting to be sent', tone: 'info', sinceIso: null };
      return { text: `Retrying at ${zonedText(row.nextAttemptAt)}`, tone: 'wait', sinceIso: row.nextAttemptAt.toISOString() };
  }
}

/** The receiver's last answer: "HTTP 500", the error of an attempt that got none ("timed out"), or that nothing came yet. */
function answerText(row: WebhookDeliveryRow): string {
  if (row.lastStatusCode !== null) {
    const code = `HTTP ${row.lastStatusCode}`;
    return row.lastError && row.lastError !== code ? `${code}: ${row.lastError}` : code;
  }
  return row.lastError ?? 'No answer yet';
}

function deliveryRow(row: WebhookDeliveryRow, endpointEnabled: boolean): DeliveryRowView {
  return {
    id: row.id,
    timeText: timeText(row.occurredAt),
    timeIso: row.occurredAt.toISOString(),
    eventText: eventText(row.eventType),
    event: row.eventType,
    status: deliveryStatus(row, endpointEnabled),
    attempts: row.attempts,
    answerText: answerText(row),
  };
}

/** What the Add or Edit form holds, as typed. */
interface WebhookValues {
  url: string;
  events: string[];
  description: string;
  enabled: boolean;
}

/** Each event is a checkbox of its own name (`event.registration.created`), so the form's body stays flat. */
const checkboxName = (event: string) => `event.${event}`;

function typedValues(body: unknown): WebhookValues {
  return {
    url: formText(body, 'url').trim(),
    events: SUBSCRIBABLE_EVENTS.filter((event) => formText(body, checkboxName(event)) === 'on'),
    description: formText(body, 'description').trim(),
    enabled: formText(body, 'enabled') === 'on',
  };
}

function valuesOf(endpoint: WebhookEndpoint): WebhookValues {
  return { url: endpoint.url, events: [...endpoint.events], description: endpoint.description ?? '', enabled: endpoint.enabled };
}

/** The service's URL problems read "the URL must ..."; at the field they name it. */
function urlMessage(message: string, typed: string): string {
  if (typed === '') return 'Enter the endpoint URL, such as https://crm.example.com/hooks/convene';
  return message.startsWith('the URL ') ? `The endpoint URL ${message.slice('the URL '.length)}` : `Endpoint URL ${message}`;
}

function enabledHint(editing: WebhookEndpoint): string {
  if (editing.enabled) return 'Uncheck it to stop sending: events that happen while the endpoint is disabled are not kept for it. Those already waiting are sent once it is enabled again.';
  const why = editing.disabledReason ? `Convene disabled it: ${editing.disabledReason}. ` : '';
  return `${why}Check it to send events again (a test event tells you first whether your receiver answers). Events that happened while it was disabled are not sent.`;
}

/**
 * The Add or Edit form's fields with the service's errors at them: `/url` at the URL, `/events`
 * and `/events/N` at the Events fieldset, `/description` at the description; others (and
 * `formErrors`) only in the summary.
 */
function formView(values: WebhookValues, editing: WebhookEndpoint | null, errors: FieldError[] = [], formErrors: string[] = []): WebhookFormView {
  const url = field({
    name: 'url',
    label: 'Endpoint URL',
    kind: 'url',
    value: values.url,
    required: true,
    maxlength: MAX_WEBHOOK_URL_LENGTH,
    autocomplete: 'off',
    hint: 'An https:// address on the public internet, such as https://crm.example.com/hooks/convene. Redirects are not followed.',
  });
  const description = field({
    name: 'description',
    label: 'Description',
    kind: 'textarea',
    value: values.description,
    rows: 3,
    maxlength: WEBHOOK_DESCRIPTION_MAX_LENGTH,
    hint: 'For you: what receives the events, such as “Our CRM”.',
  });
  const enabled = editing
    ? field({ name: 'enabled', label: 'Enabled: send events to this endpoint', kind: 'checkbox', checked: values.enabled, hint: enabledHint(editing) })
    : null;

  let eventsError: string | null = null;
  const rest: FieldError[] = [];
  for (const error of errors) {
    if (error.path === '/url') url.error = join(url.error, urlMessage(error.message, values.url));
    else if (error.path === '/events') eventsError = join(eventsError, error.message === 'must name at least one event' ? 'Choose at least one event' : `Events ${error.message}`);
    else if (error.path.startsWith('/events/')) eventsError = join(eventsError, `Events ${error.message}`);
    else rest.push(error);
  }
  const unplaced = withFieldErrors(enabled ? [description, enabled] : [description], rest, { '/description': 'description', '/enabled': 'enabled' });

  const choices = SUBSCRIBABLE_EVENTS.map((event) => ({
    id: `f-event-${event.replace(/[^A-Za-z0-9_-]/g, '-')}`,
    name: checkboxName(event),
    label: EVENT_WORDS[event],
    event,
    checked: values.events.includes(event),
  }));
  // Focus (the `autofocus` attribute) on the first field in error, in the form's order.
  const firstError = url.error ? url : eventsError ? null : description.error ? description : enabled?.error ? enabled : null;
  for (const f of [url, description, ...(enabled ? [enabled] : [])]) f.autofocus = f === firstError;
  const summary: ConsoleErrorItem[] = [
    ...(url.error ? [{ href: `#${url.id}`, text: url.error }] : []),
    ...(eventsError ? [{ href: `#${choices[0]!.id}`, text: eventsError }] : []),
    ...(description.error ? [{ href: `#${description.id}`, text: description.error }] : []),
    ...(enabled?.error ? [{ href: `#${enabled.id}`, text: enabled.error }] : []),
    ...[...unplaced, ...formErrors].map((text) => ({ href: null, text })),
  ];
  return {
    url,
    events: {
      choices,
      error: eventsError,
      hint: `Convene sends these for the sessions the endpoint’s owner hosts (an admin’s: every session). A test event is sent only when you ask for one.`,
    },
    description,
    enabled,
    errors: summary,
  };
}

/**
 * The console's webhook pages (console.md; issue #22): every organizer's own endpoints (an admin:
 * every organizer's, with their owner), through the same service calls and audit entries as
 * /api/v1/webhooks. A signing secret is shown once, in the answer to the form that made it (the
 * Add form, a rotation): never stored readable, never in a URL or a redirect, and console answers
 * are `Cache-Control: no-store`. Those two forms carry a one-time id, so a submit the browser
 * repeats adds one endpoint, or rotates once. Another organizer's endpoint is the 404 page, to
 * see and to change (the service looks only among the caller's).
 */
export async function consoleWebhookPages(app: FastifyInstance, { webhooks, organizers, idempotency, clock }: ConsoleWebhookPagesOptions): Promise<void> {
  addConsoleNavItem({ href: WEBHOOKS_PAGE, text: 'Webhooks', section: 'webhooks' });
  type ById = FastifyRequest<{ Params: { id: string } }>;
  const byId = { schema: { hide: true, params: IdParams } };
  const base = (id: string) => `${WEBHOOKS_PAGE}/${id}`;
  const createScope = (organizerId: string) => `console:webhook-create:${organizerId}`;
  const rotateScope = (organizerId: string, id: string) => `console:webhook-rotate:${organizerId}:${id}`;

  async function ownerOf(organizerId: string, callerId: string): Promise<{ name: string; email: string } | null> {
    if (organizerId === callerId) return null;
    const owner = await organizers.findById(organizerId);
    return owner ? { name: owner.name, email: owner.email } : null;
  }

  app.get('/webhooks', { schema: { hide: true } }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const isAdmin = seesEverySession(organizer);
    const endpoints = await webhooks.list(organizer);
    const owners = isAdmin ? new Map((await organizers.list()).map((account) => [account.id, account])) : null;
    const data: WebhooksPageData = {
      isAdmin,
      zone: ADMIN_ZONE,
      rows: endpoints.map((endpoint) => {
        const owner = owners?.get(endpoint.organizerId);
        return {
          href: base(endpoint.id),
          url: endpoint.url,
          description: endpoint.description,
          eventTexts: eventTexts(endpoint.events),
          status: endpointStatus(endpoint),
          createdText: timeText(endpoint.createdAt),
          createdIso: endpoint.createdAt.toISOString(),
          owner: owner ? { name: owner.name, email: owner.email } : null,
        };
      }),
      full: endpoints.filter((endpoint) => endpoint.organizerId === organizer.id).length >= WEBHOOK_ENDPOINTS_MAX,
      max: WEBHOOK_ENDPOINTS_MAX,
    };
    return sendConsolePage(request, reply, {
      title: 'Webhooks',
      bodyHtml: renderConsoleTemplate('@console-webhooks', data),
      flash: formText(request.query, 'done') === 'deleted' ? DONE.deleted : null,
      section: 'webhooks',
    });
  });

  interface NewState {
    values?: WebhookValues;
    errors?: FieldError[];
    formErrors?: string[];
    status?: number;
  }

  /** The Add form, with a fresh one-time id each time it is shown (so a corrected form is a new submit). */
  function newPage(request: FastifyRequest, reply: FastifyReply, state: NewState = {}): FastifyReply {
    const { organizer, csrf } = consoleContext(request);
    const form = formView(state.values ?? { url: '', events: [], description: '', enabled: true }, null, state.errors, state.formErrors);
    const data: NewWebhookData = { csrf, formId: randomUUID(), isAdmin: seesEverySession(organizer), form };
    return sendConsolePage(request, reply, {
      title: `${form.errors.length > 0 ? 'Error: ' : ''}Add a webhook endpoint`,
      bodyHtml: renderConsoleTemplate('@console-webhook-new', data),
      status: state.status,
      section: 'webhooks',
    });
  }

  interface EndpointState {
    shown?: ShownSecretView | null;
    notice?: string | null;
    /** The Edit form as sent, with its errors. */
    edit?: { values: WebhookValues; errors: FieldError[] } | null;
    cursor?: string;
    status?: number;
    flash?: ConsoleFlash | null;
  }

  async function endpointPage(request: FastifyRequest, reply: FastifyReply, id: string, state: EndpointState = {}): Promise<FastifyReply> {
    const { organizer, csrf } = consoleContext(request);
    const endpoint = await webhooks.get(organizer, id);
    // A cursor that is not one of ours (a hand-edited address) is read as none, not as an error.
    const cursor = state.cursor && /^\d{1,18}$/.test(state.cursor) ? state.cursor : undefined;
    const [log, owner] = await Promise.all([
      webhooks.deliveries(organizer, id, { limit: LOG_PAGE_SIZE, ...(cursor ? { cursor } : {}) }),
      ownerOf(endpoint.organizerId, organizer.id),
    ]);
    const now = clock.now();
    const previousUntil = endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now ? endpoint.previousSecretExpiresAt : null;
    const edit = formView(state.edit?.values ?? valuesOf(endpoint), endpoint, state.edit?.errors ?? []);
    const data: WebhookPageData = {
      csrf,
      id: endpoint.id,
      base: base(endpoint.id),
      zone: ADMIN_ZONE,
      url: endpoint.url,
      description: endpoint.description,
      eventTexts: eventTexts(endpoint.events),
      status: endpointStatus(endpoint),
      owner,
      createdText: zonedText(endpoint.createdAt),
      createdIso: endpoint.createdAt.toISOString(),
      previousUntilText: previousUntil ? zonedText(previousUntil) : null,
      previousUntilIso: previousUntil?.toISOString() ?? null,
      shown: state.shown ?? null,
      notice: state.notice ?? null,
      edit,
      deliveries: log.items.map((row) => deliveryRow(row, endpoint.enabled)),
      logNote: endpoint.enabled
        ? null
        : 'The endpoint is disabled: events that happen now are not sent to it, and those already waiting stay until it is enabled again. A test event is sent all the same.',
      olderHref: log.nextCursor ? `${base(endpoint.id)}?cursor=${log.nextCursor}` : null,
      newestHref: cursor ? base(endpoint.id) : null,
    };
    return sendConsolePage(request, reply, {
      title: `${edit.errors.length > 0 ? 'Error: ' : ''}Webhook endpoint ${endpoint.url}`,
      bodyHtml: renderConsoleTemplate('@console-webhook', data),
      status: state.status,
      flash: state.flash ?? null,
      section: 'webhooks',
    });
  }

  app.get('/webhooks/new', { schema: { hide: true } }, async (request, reply) => newPage(request, reply));

  // POST /api/v1/webhooks, once per form id. The secret is in this answer and nowhere else: no
  // redirect, which would have to carry it in its URL or keep it on the server. A repeated submit
  // (the browser sent the form twice) gets the endpoint without its secret, and is told so.
  app.post('/webhooks', { schema: { hide: true } }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const values = typedValues(request.body);
    const formId = formText(request.body, 'formId');
    if (!isUuid(formId)) return newPage(request, reply, { values, formErrors: [INCOMPLETE], status: 400 });
    const input = { url: values.url, events: values.events, description: values.description || null };

    const made: { value?: { endpoint: WebhookEndpoint; secret: string } } = {};
    let stored;
    try {
      stored = await idempotency.run(createScope(organizer.id), formId, requestHash(input), async () => {
        try {
          made.value = await webhooks.create(organizer, input);
          // Only the id is kept for a repeated submit: never the secret.
          return { statusCode: 201, body: { id: made.value.endpoint.id } };
        } catch (error) {
          if (error instanceof BadRequestError || error instanceof ConflictError) return { statusCode: error.status, body: { errors: error.errors ?? [], detail: error.detail } };
          throw error;
        }
      });
    } catch (error) {
      // The same form id with other values: a form sent, then changed and sent again from the browser's history.
      if (error instanceof IdempotencyMismatchError) {
        return newPage(request, reply, { values, formErrors: ['This form has already added an endpoint. Check the values below, and send them to add another.'], status: 409 });
      }
      // The first submit is still being answered.
      if (error instanceof ConflictError) {
        return sendConsoleMessage(request, reply, 409, 'Already being added', 'This form is being sent already. Wait a moment, then find the endpoint in your list.', {
          href: WEBHOOKS_PAGE,
          text: 'Your webhook endpoints',
        });
      }
      throw error;
    }

    if (made.value) {
      return endpointPage(request, reply, made.value.endpoint.id, { shown: { heading: 'The endpoint is added: its signing secret', secret: made.value.secret, previousUntilText: null } });
    }
    const answer = JSON.parse(stored.bodyText) as { id?: string; errors?: FieldError[]; detail?: string };
    if (stored.statusCode === 201 && answer.id) {
      return endpointPage(request, reply, answer.id, {
        notice:
          'This form was sent twice: the endpoint was added once, by the first submit, and its signing secret was shown in the answer to that submit only. If you could not copy it, rotate the secret below to get a new one.',
      });
    }
    const errors = answer.errors ?? [];
    return newPage(request, reply, { values, errors, formErrors: errors.length > 0 ? [] : [answer.detail ?? INCOMPLETE], status: stored.statusCode });
  });

  app.get('/webhooks/:id', byId, async (request: ById, reply) => {
    const done = formText(request.query, 'done');
    return endpointPage(request, reply, request.params.id, {
      cursor: formText(request.query, 'cursor'),
      flash: done !== 'deleted' ? (DONE[done] ?? null) : null,
    });
  });

  // PATCH /api/v1/webhooks/{id} with what the form changed: an unchanged Enabled box must not
  // clear the reason Convene disabled the endpoint, which only enabling it again does.
  app.post('/webhooks/:id', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    const current = await webhooks.get(organizer, request.params.id);
    const values = typedValues(request.body);
    const changes: WebhookChanges = {};
    if (values.url !== current.url) changes.url = values.url;
    if (values.events.length !== current.events.length || values.events.some((event) => !current.events.includes(event as WebhookEvent))) changes.events = values.events;
    if ((values.description || null) !== current.description) changes.description = values.description || null;
    if (values.enabled !== current.enabled) changes.enabled = values.enabled;
    if (Object.keys(changes).length === 0) return redirect303(reply, `${base(current.id)}?done=unchanged`);
    try {
      await webhooks.update(organizer, current.id, changes);
    } catch (error) {
      if (error instanceof BadRequestError) return endpointPage(request, reply, current.id, { edit: { values, errors: error.errors ?? [{ path: '', message: error.detail }] }, status: 400 });
      throw error;
    }
    const done = changes.enabled === true ? 'enabled' : changes.enabled === false ? 'disabled' : 'saved';
    return redirect303(reply, `${base(current.id)}?done=${done}`);
  });

  // POST /api/v1/webhooks/{id}/test.
  app.post('/webhooks/:id/test', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    await webhooks.ping(organizer, request.params.id);
    return redirect303(reply, `${base(request.params.id)}?done=tested`);
  });

  async function rotatePage(request: FastifyRequest, reply: FastifyReply, id: string, status?: number): Promise<FastifyReply> {
    const { organizer, csrf } = consoleContext(request);
    const endpoint = await webhooks.get(organizer, id);
    const previousUntil = endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > clock.now() ? endpoint.previousSecretExpiresAt : null;
    const data: RotateWebhookData = {
      csrf,
      id: endpoint.id,
      base: base(endpoint.id),
      url: endpoint.url,
      formId: randomUUID(),
      previousUntilText: previousUntil ? zonedText(previousUntil) : null,
    };
    return sendConsolePage(request, reply, {
      title: 'Rotate the signing secret?',
      bodyHtml: renderConsoleTemplate('@console-webhook-rotate', data),
      status,
      section: 'webhooks',
    });
  }

  app.get('/webhooks/:id/rotate', byId, async (request: ById, reply) => rotatePage(request, reply, request.params.id));

  // POST /api/v1/webhooks/{id}/rotate-secret, once per confirmation: a second rotation would
  // stop the secret the receiver holds at once (only the latest two sign), for a secret nobody saw.
  app.post('/webhooks/:id/rotate', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    const id = request.params.id;
    await webhooks.get(organizer, id);
    const formId = formText(request.body, 'formId');
    if (!isUuid(formId)) return rotatePage(request, reply, id, 400);

    const made: { value?: { endpoint: WebhookEndpoint; secret: string } } = {};
    let stored;
    try {
      stored = await idempotency.run(rotateScope(organizer.id, id), formId, requestHash({}), async () => {
        made.value = await webhooks.rotateSecret(organizer, id);
        return { statusCode: 200, body: {} };
      });
    } catch (error) {
      if (error instanceof ConflictError) {
        return sendConsoleMessage(request, reply, 409, 'Already being rotated', 'This confirmation is being sent already. Wait a moment, then open the endpoint again.', {
          href: base(id),
          text: 'The endpoint',
        });
      }
      throw error;
    }
    if (made.value) {
      const { endpoint, secret } = made.value;
      return endpointPage(request, reply, id, {
        shown: {
          heading: 'The secret is rotated: the new signing secret',
          secret,
          previousUntilText: endpoint.previousSecretExpiresAt ? zonedText(endpoint.previousSecretExpiresAt) : null,
        },
      });
    }
    // Deleted between the check above and the rotation: the answer kept was a 404.
    if (stored.statusCode === 404) throw new NotFoundError('No such webhook endpoint');
    return endpointPage(request, reply, id, {
      notice:
        'This confirmation was sent twice: the secret was rotated once, by the first submit, and the new secret was shown in the answer to that submit only. The secret you had before still signs for 24 hours. If you could not copy the new one, rotate again: the secret you had before then stops signing at once.',
    });
  });

  app.get('/webhooks/:id/delete', byId, async (request: ById, reply) => {
    const { organizer, csrf } = consoleContext(request);
    const endpoint = await webhooks.get(organizer, request.params.id);
    const data: DeleteWebhookData = {
      csrf,
      id: endpoint.id,
      base: base(endpoint.id),
      url: endpoint.url,
      description: endpoint.description,
      eventTexts: eventTexts(endpoint.events),
    };
    return sendConsolePage(request, reply, { title: 'Delete this webhook endpoint?', bodyHtml: renderConsoleTemplate('@console-webhook-delete', data), section: 'webhooks' });
  });

  // DELETE /api/v1/webhooks/{id}: another organizer's endpoint, or one deleted already, is the 404 page.
  app.post('/webhooks/:id/delete', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    await webhooks.remove(organizer, request.params.id);
    return redirect303(reply, `${WEBHOOKS_PAGE}?done=deleted`);
  });
}
