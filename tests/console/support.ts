import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.js';
import type { Organizer } from '../../src/services/organizers.service.js';
import { uniqueEmail } from '../helpers/app.js';

/** Console tests: organizers with known passwords, signing in through the login form, forms posted with the CSRF token. */

export const PASSWORD = 'a-long-console-password';
export const COOKIE = 'convene-console';

export async function makeOrganizer(app: App, role: Organizer['role'] = 'organizer', name = `Console ${role}`): Promise<Organizer> {
  return app.services.organizers.create({ email: uniqueEmail(`console-${role}`), name, password: PASSWORD, role });
}

export function form(fields: Record<string, string>): { payload: string; headers: Record<string, string> } {
  return { payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
}

/** The cookie's value from a Set-Cookie answer, or undefined. */
export function cookieFrom(setCookie: string | string[] | undefined, name = COOKIE): string | undefined {
  const lines = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  for (const line of lines) {
    const [pair] = line.split(';');
    const [key, ...value] = pair!.split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

export function csrfOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no _csrf field on the page');
  return token;
}

export interface ConsoleBrowser {
  organizer: Organizer;
  cookie: string;
  /** Cookie header for inject. */
  headers: { cookie: string };
  csrf: string;
  get(url: string): Promise<LightMyRequestResponse>;
  post(url: string, fields: Record<string, string>, extraHeaders?: Record<string, string>): Promise<LightMyRequestResponse>;
}

/** Signs in through POST /console/login and reads the CSRF token from the dashboard. */
export async function consoleSignIn(app: App, organizer: Organizer, password = PASSWORD): Promise<ConsoleBrowser> {
  const login = await app.inject({ method: 'POST', url: '/console/login', ...form({ email: organizer.email, password }) });
  if (login.statusCode !== 303) throw new Error(`sign-in failed: ${login.statusCode} ${login.body.slice(0, 400)}`);
  const cookie = cookieFrom(login.headers['set-cookie']);
  if (!cookie) throw new Error('no console cookie');
  const headers = { cookie: `${COOKIE}=${cookie}` };
  const dashboard = await app.inject({ method: 'GET', url: '/console', headers });
  const csrf = csrfOf(dashboard.body);
  return {
    organizer,
    cookie,
    headers,
    csrf,
    get: (url) => app.inject({ method: 'GET', url, headers }),
    post: (url, fields, extraHeaders = {}) => {
      const body = form({ _csrf: csrf, ...fields });
      return app.inject({ method: 'POST', url, payload: body.payload, headers: { ...body.headers, ...headers, ...extraHeaders } });
    },
  };
}

/**
 * The body rows of the console table with this class (people-table, admin-table, emails-table),
 * each row's cells as text: tags removed (`tagsAs` in their place), <br> a space, spaces collapsed.
 */
export function tableRows(html: string, tableClass: string, tagsAs = ''): string[][] {
  const start = html.indexOf(`<table class="${tableClass}`);
  if (start < 0) return [];
  const body = html.slice(html.indexOf('<tbody>', start), html.indexOf('</tbody>', start));
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) =>
      cell[1]!.replace(/<br>/g, ' ').replace(/<[^>]+>/g, tagsAs).replace(/\s+/g, ' ').trim(),
    ),
  );
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
export const unescape = (text: string) => text.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity]!);
const attr = (tag: string, name: string) => {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return match ? unescape(match[1]!) : null;
};

/** The fields a browser would send from the first POST form whose action is `action` (without pressing a named button). */
export function formFields(html: string, action: string): Record<string, string> {
  const start = html.indexOf(`action="${action}"`);
  if (start < 0) throw new Error(`no form posting to ${action}`);
  const body = html.slice(start, html.indexOf('</form>', start));
  const fields: Record<string, string> = {};
  for (const [tag] of body.matchAll(/<input\b[^>]*>/g)) {
    const name = attr(tag, 'name');
    const type = attr(tag, 'type') ?? 'text';
    if (!name) continue;
    if ((type === 'checkbox' || type === 'radio') && !/\schecked\b/.test(tag)) continue;
    fields[name] = attr(tag, 'value') ?? (type === 'checkbox' ? 'on' : '');
  }
  for (const match of body.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/g)) {
    const name = attr(match[1]!, 'name');
    if (name) fields[name] = unescape(match[2]!);
  }
  for (const match of body.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/g)) {
    const name = attr(match[1]!, 'name');
    const selected = /<option value="([^"]*)" selected>/.exec(match[2]!);
    const first = /<option value="([^"]*)"/.exec(match[2]!);
    if (name) fields[name] = unescape((selected ?? first)?.[1] ?? '');
  }
  return fields;
}
