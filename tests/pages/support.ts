import type { LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import type { Test } from 'tap';
import type { App } from '../../src/app.js';
import { TEST_DATABASE_URL } from '../helpers/app.js';

/** The policy every page carries; /embed pages differ only in frame-ancestors. */
export function expectedCsp(frameAncestors = "'none'"): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/** Posts a urlencoded form, as a browser does. */
export function postForm(
  app: App,
  url: string,
  fields: Record<string, string> | Array<[string, string]>,
  headers: Record<string, string> = {},
  remoteAddress?: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString(),
    ...(remoteAddress ? { remoteAddress } : {}),
  });
}

/** An HTML page: status, type, the security headers, and nothing inline that the CSP would block. */
export function expectPage(
  t: Test,
  res: LightMyRequestResponse,
  status: number,
  label: string,
  options: { frameAncestors?: string; token?: boolean } = {},
): string {
  t.equal(res.statusCode, status, `${label}: status ${status}`);
  t.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/, `${label}: HTML`);
  t.equal(res.headers['content-security-policy'], expectedCsp(options.frameAncestors), `${label}: strict CSP`);
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${label}: nosniff`);
  t.equal(res.headers['referrer-policy'], options.token ? 'no-referrer' : 'strict-origin-when-cross-origin', `${label}: Referrer-Policy`);
  if (options.token) t.equal(res.headers['cache-control'], 'private, no-store', `${label}: token pages are never cached`);
  if (options.frameAncestors && options.frameAncestors !== "'none'") t.notOk(res.headers['x-frame-options'], `${label}: no X-Frame-Options on embeds`);
  else t.equal(res.headers['x-frame-options'], 'DENY', `${label}: X-Frame-Options DENY`);
  const body = res.body;
  t.match(body, /^<!doctype html>\n<html lang="en">/, `${label}: a complete document with a language`);
  t.notMatch(body, /<script(?![^>]*\bsrc=)[^>]*>/i, `${label}: no inline script`);
  t.notMatch(body, /<style\b/i, `${label}: no style element`);
  t.notMatch(body, /<[a-z][^>]*\sstyle\s*=/i, `${label}: no style attribute`);
  t.notMatch(body, /<[a-z][^>]*\son[a-z]+\s*=/i, `${label}: no event handler attribute`);
  return body;
}

/** The value of an input's attribute in the page, by the input's id. */
export function inputTag(body: string, id: string): string | null {
  const match = new RegExp(`<(?:input|textarea|select)[^>]*\\bid="${id}"[^>]*>`).exec(body);
  return match?.[0] ?? null;
}

export interface StoredCounts {
  attendees: number;
  registrations: number;
  notifications: number;
}

/** What the database holds for one address (normalised as the service does: lower-cased). */
export async function storedFor(pool: pg.Pool, email: string): Promise<StoredCounts> {
  const address = email.trim().toLowerCase();
  const { rows } = await pool.query<{ attendees: number; registrations: number; notifications: number }>(
    `SELECT
       (SELECT count(*)::int FROM attendees a WHERE a.email = $1) AS attendees,
       (SELECT count(*)::int FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE a.email = $1) AS registrations,
       (SELECT count(*)::int FROM notifications n JOIN registrations r ON r.id = n.registration_id JOIN attendees a ON a.id = r.attendee_id WHERE a.email = $1) AS notifications`,
    [address],
  );
  return rows[0]!;
}

/** A random address in 10.0.0.0/8, so rate-limit buckets of earlier runs never interfere. */
export function randomIp(): string {
  const byte = () => Math.floor(Math.random() * 254) + 1;
  return `10.${byte()}.${byte()}.${byte()}`;
}

/**
 * A database of this test file's own (created and migrated by buildTestApp), emptied of
 * sessions at the start: the list page shows the soonest sessions, and on the shared test
 * database those of every other file and earlier run would push ours off it.
 */
export function ownDatabaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `${url.pathname.replace(/^\//, '')}_pages_${name}`;
  return url.toString();
}

export async function emptySessions(pool: pg.Pool): Promise<void> {
  await pool.query('TRUNCATE sessions CASCADE');
}
