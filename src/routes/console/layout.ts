/**
 * The console's layout and form pattern, for every console page (this folder and the pages of
 * other files registered inside the console plugin, src/routes/console/index.ts).
 *
 * What a console route can rely on (the plugin's hooks run before every route of the subtree):
 * - `request.organizer`: the signed-in organizer (src/services/organizers.service.ts `Organizer`);
 * - `request.consoleSession`: `{ id, organizer, csrf, createdAt, lastSeenAt }`; `csrf` goes in
 *   every POST form as `<input type="hidden" name="_csrf">` (partial `@console-csrf`);
 * - a POST reaches its handler only with the right `_csrf` and no foreign `Origin` (else 403 page);
 * - a request without a live console session never reaches it (303 to /console/login?next=...);
 * - errors thrown (domain errors from services, validation errors) become console pages in this
 *   layout (`consoleErrorPage`); a service's 404 is "Page not found".
 *
 * API:
 *   sendConsolePage(request, reply, { title, bodyHtml, status?, flash?, section? }): FastifyReply
 *       Sends `bodyHtml` (markup, e.g. from renderConsoleTemplate) inside the layout: header with
 *       the organizer's name, the nav (section = the nav entry to mark current) and Sign out.
 *   consoleContext(request): { organizer, csrf }       the caller and its CSRF token
 *   renderConsoleTemplate(name, data) / addConsoleTemplates({...})   (src/web/console/render.ts)
 *   field(view): ConsoleFieldView                      a field with defaults filled in
 *   withFieldErrors(fields, errors, paths)             service FieldErrors (`/title`) put at their fields
 *   errorSummary(fields, formErrors?)                  the summary items: field errors first, linked
 *   addConsoleNavItem({ href, text, section, adminOnly? })   a nav entry for a page that exists
 *   redirect303(reply, location)                       after every successful POST
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FieldError } from '../../errors.js';
import type { ErrorPage } from '../../plugins/errors.js';
import { pageCsp } from '../../plugins/security-headers.js';
import type { ConsoleSession } from '../../services/console-sessions.js';
import type { Organizer } from '../../services/organizers.service.js';
import { renderConsoleTemplate } from '../../web/console/render.js';
import type { ConsoleErrorItem, ConsoleFieldView, ConsoleFlash, ConsoleLayoutData, ConsoleNavItem } from '../../web/console/views.js';

export { addConsoleTemplates, renderConsoleTemplate } from '../../web/console/render.js';
export type { ConsoleErrorItem, ConsoleFieldView, ConsoleFlash } from '../../web/console/views.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The live console session of a console request (null on the login page and outside /console). */
    consoleSession: ConsoleSession | null;
  }
  interface FastifyContextConfig {
    /** A console route reachable without a session (the login page). */
    consolePublic?: boolean;
  }
}

interface NavEntry {
  href: string;
  text: string;
  section: string;
  adminOnly: boolean;
}

const NAV: NavEntry[] = [
  { href: '/console', text: 'Sessions', section: 'sessions', adminOnly: false },
  { href: '/console/account', text: 'Account', section: 'account', adminOnly: false },
];

/** Adds a nav entry (before Account). Only for pages that exist; admin-only entries are hidden from others. */
export function addConsoleNavItem(entry: { href: string; text: string; section: string; adminOnly?: boolean }): void {
  if (NAV.some((item) => item.href === entry.href)) return;
  NAV.splice(NAV.length - 1, 0, { adminOnly: false, ...entry });
}

function navFor(organizer: Organizer, section: string | undefined): ConsoleNavItem[] {
  return NAV.filter((item) => !item.adminOnly || organizer.role === 'admin').map((item) => ({
    href: item.href,
    text: item.text,
    current: item.section === section,
  }));
}

const CSP = pageCsp();

/** The headers of every console page: strict CSP, no frames, never stored, no Referer to other sites. */
function consoleHeaders(reply: FastifyReply, status: number): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'same-origin');
}

export interface ConsolePage {
  title: string;
  /** The page's markup (escaped by its template). */
  bodyHtml: string;
  status?: number;
  flash?: ConsoleFlash | null;
  /** The nav entry to mark as the current page ('sessions', 'account', ...). */
  section?: string;
}

export function sendConsolePage(request: FastifyRequest, reply: FastifyReply, page: ConsolePage): FastifyReply {
  const session = request.consoleSession;
  const organizer = session?.organizer ?? null;
  const data: ConsoleLayoutData = {
    pageTitle: page.title,
    organizer: organizer ? { name: organizer.name, email: organizer.email, role: organizer.role } : null,
    csrf: session?.csrf ?? null,
    nav: organizer ? navFor(organizer, page.section) : [],
    flash: page.flash ?? null,
    bodyHtml: page.bodyHtml,
  };
  // Encoded here, once: a page holding one character beyond Latin-1 (the dash of a time, a name)
  // is a two-byte string, which Node's socket write turns into bytes far more slowly than one
  // Buffer.from (0.8 against 0.3 ms for the 87 kB people table, more than rendering it; bench/console.ts).
  const html = renderConsoleTemplate('@console-layout', data);
  return consoleHeaders(reply, page.status ?? 200).send(Buffer.from(html, 'utf8'));
}

/** The caller and its CSRF token; only inside the console's session hook. */
export function consoleContext(request: FastifyRequest): { organizer: Organizer; csrf: string } {
  const session = request.consoleSession;
  if (!session) throw new Error('consoleContext outside a signed-in console route');
  return { organizer: session.organizer, csrf: session.csrf };
}

export function redirect303(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).header('location', location).header('cache-control', 'no-store').send();
}

/** A message page in the layout (errors, confirmations without a form). */
export function sendConsoleMessage(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  title: string,
  message: string,
  link: { href: string; text: string } | null = { href: '/console', text: 'Back to your sessions' },
): FastifyReply {
  const bodyHtml = renderConsoleTemplate('@console-message', { title, message, link });
  return sendConsolePage(request, reply, { title, bodyHtml, status });
}

function errorWords(status: number, detail: string | null, retryAfter: string | undefined): { title: string; message: string } {
  if (status === 404) return { title: 'Page not found', message: 'There is nothing here, or it is not yours to see.' };
  if (status === 403) return { title: 'Not allowed', message: detail ?? 'This request was refused. Go back, reload the page and try again.' };
  if (status === 429) return { title: 'Too many attempts', message: detail ?? `Please wait ${retryAfter ?? '60'} seconds and try again.` };
  if (status === 409) return { title: 'Not possible now', message: detail ?? 'This cannot be done right now.' };
  if (status === 413) return { title: 'Too much text', message: 'The form was too large to accept. Please shorten it and try again.' };
  if (status === 503) return { title: 'Temporarily unavailable', message: 'The service is busy right now. Please try again in a moment.' };
  if (status >= 400 && status < 500) return { title: 'Something is wrong with the request', message: detail ?? 'Please go back and try again.' };
  return { title: 'Something went wrong', message: 'Something went wrong on our side; the error has been logged. Please try again in a moment.' };
}

/** Errors of console routes are pages in the console layout (src/plugins/errors.ts sorts them). */
export const consoleErrorPage: ErrorPage = (request, reply, failure) => {
  const retryAfter = reply.getHeader('retry-after');
  const { title, message } = errorWords(failure.status, failure.fromDomain ? failure.detail : null, retryAfter === undefined ? undefined : String(retryAfter));
  return sendConsoleMessage(request, reply, failure.status, title, message);
};

// ---------------------------------------------------------------------------------------------
// Forms: errors summarised at the top (linked to their fields) and shown at each field.

/** A field view with its defaults; `id` defaults to `f-<name>`. */
export function field(view: Omit<ConsoleFieldView, 'id'> & { id?: string }): ConsoleFieldView {
  return {
    value: '',
    checked: false,
    required: false,
    options: [],
    hint: null,
    error: null,
    autocomplete: null,
    autofocus: false,
    maxlength: null,
    min: null,
    max: null,
    step: null,
    ...view,
    id: view.id ?? `f-${view.name.replace(/[^A-Za-z0-9_-]/g, '-')}`,
  };
}

/**
 * Puts a service's field errors (JSON-pointer paths such as `/title` or `/capacity`) at the
 * fields that `paths` names (path -> field name), each worded "<Label> <message>". Returns the
 * errors that no field holds, for the summary as plain text.
 */
export function withFieldErrors(fields: ConsoleFieldView[], errors: FieldError[] | undefined, paths: Record<string, string>): string[] {
  const unplaced: string[] = [];
  for (const error of errors ?? []) {
    const name = paths[error.path];
    const target = name === undefined ? undefined : fields.find((f) => f.name === name);
    if (!target) {
      unplaced.push(`${error.path.replace(/^\//, '').replace(/\//g, ' ') || 'The form'} ${error.message}`);
      continue;
    }
    const text = `${target.label} ${error.message}`;
    target.error = target.error ? `${target.error}; ${error.message}` : text;
  }
  return unplaced;
}

/** The summary at the top: each field's error linked to the field, in form order, then the form's own errors. */
export function errorSummary(fields: ConsoleFieldView[], formErrors: string[] = []): ConsoleErrorItem[] {
  return [
    ...fields.filter((f) => f.error).map((f) => ({ href: `#${f.id}`, text: f.error! })),
    ...formErrors.map((text) => ({ href: null, text })),
  ];
}

/** Focus goes to the first field in error (without JavaScript: the `autofocus` attribute). */
export function focusFirstError(fields: ConsoleFieldView[]): void {
  const first = fields.find((f) => f.error);
  for (const f of fields) f.autofocus = f === first;
}

/** A form value as a string ('' when absent or not a string: arrays from repeated names are refused). */
export function formText(body: unknown, name: string): string {
  if (!body || typeof body !== 'object') return '';
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}
