import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError } from '../../errors.js';
import { CONSOLE_LIFETIME_MS, type ConsoleSessions } from '../../services/console-sessions.js';
import { redirect303 } from './layout.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A multipart/form-data route (@fastify/multipart reads its fields in a later preValidation
     * hook): requireConsole leaves the `_csrf` check to the route, which calls checkCsrf after that hook.
     */
    csrfAfterMultipart?: boolean;
  }
}

/**
 * Who is signed in to the console, and whether a POST may change anything. Applied once to the
 * whole /console subtree by src/routes/console/index.ts:
 * - `originGuard` (onRequest): a request that changes state and names another origin (the
 *   `Origin` header, or `Sec-Fetch-Site` when a browser sends no Origin) is 403. This covers the
 *   login form too (login CSRF), where no session exists yet to tie a token to;
 * - `requireConsole` (preValidation, after the form is parsed): the console session from the
 *   cookie, or 303 to the login page; then, for every method but GET and HEAD, the `_csrf` field
 *   must be the session's token, or 403.
 */

export interface ConsoleCookie {
  name: string;
  options: { path: '/'; httpOnly: true; sameSite: 'lax'; secure: boolean; maxAge: number };
}

/**
 * The cookie: `__Host-` prefixed over https (the browser then refuses it from a subdomain or
 * without Secure), `HttpOnly`, `SameSite=Lax`, `Path=/`, and kept for the sessions' lifetime
 * (the server ends it sooner when idle).
 */
export function consoleCookie(publicBaseUrl: string): ConsoleCookie {
  const secure = new URL(publicBaseUrl).protocol === 'https:';
  return {
    name: secure ? '__Host-convene-console' : 'convene-console',
    options: { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: Math.floor(CONSOLE_LIFETIME_MS / 1000) },
  };
}

const NEXT_MAX_LENGTH = 1000;

/**
 * A `next` that stays inside /console, or null. Only a path is taken: no scheme, no host, no
 * `//`, no backslash, no dot segments (plain or percent-encoded), no control characters.
 */
export function safeNext(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > NEXT_MAX_LENGTH) return null;
  if (value !== '/console' && !value.startsWith('/console/') && !value.startsWith('/console?')) return null;
  if (/[\\\u0000-\u001f\u007f]|\/\/|%(?:2f|5c|2e|00)/i.test(value)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return null;
  }
  const path = decoded.split('?')[0]!;
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) return null;
  const url = new URL(value, 'http://console.invalid');
  if (url.origin !== 'http://console.invalid' || !(url.pathname === '/console' || url.pathname.startsWith('/console/'))) return null;
  return `${url.pathname}${url.search}`;
}

/** The login page's address for a request that needs a session. */
export function loginLocation(request: FastifyRequest, ended: boolean): string {
  const query = new URLSearchParams();
  const next = request.method === 'GET' ? safeNext(request.url) : null;
  if (next && next !== '/console') query.set('next', next);
  if (ended) query.set('m', 'ended');
  const text = query.toString();
  return text ? `/console/login?${text}` : '/console/login';
}

const STATE_CHANGING = (method: string) => method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';

export function createOriginGuard(publicBaseUrl: string) {
  const expected = new URL(publicBaseUrl).origin;
  return async function originGuard(request: FastifyRequest): Promise<void> {
    if (!STATE_CHANGING(request.method)) return;
    const origin = request.headers.origin;
    const site = request.headers['sec-fetch-site'];
    const foreign = origin !== undefined ? origin !== expected : site !== undefined && site !== 'same-origin' && site !== 'none';
    if (foreign) throw new ForbiddenError('This form was sent from another site, so it was refused.');
  };
}

export function createRequireConsole(sessions: ConsoleSessions, cookie: ConsoleCookie) {
  return async function requireConsole(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
    const value = request.cookies[cookie.name];
    const session = await sessions.resolve(value);
    request.consoleSession = session;
    if (session) request.organizer = session.organizer;
    if (request.routeOptions.config.consolePublic) return;
    if (!session) {
      if (value !== undefined) reply.clearCookie(cookie.name, { path: '/' });
      return redirect303(reply, loginLocation(request, value !== undefined));
    }
    // A multipart form's fields are read after this hook: its route checks them with checkCsrf once read.
    if (!request.routeOptions.config.csrfAfterMultipart) checkCsrf(sessions, request);
  };
}

/** 403 unless a state-changing request's parsed body carries its console session's `_csrf`. */
export function checkCsrf(sessions: ConsoleSessions, request: FastifyRequest): void {
  if (!STATE_CHANGING(request.method)) return;
  const body = request.body as Record<string, unknown> | null | undefined;
  const session = request.consoleSession;
  if (!session || !sessions.csrfMatches(session, body && typeof body === 'object' ? body._csrf : undefined)) {
    throw new ForbiddenError('The form had expired or did not come from this console page, so nothing was changed. Go back, reload the page and try again.');
  }
}
