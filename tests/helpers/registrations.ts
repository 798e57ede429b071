import type { LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import type { Test } from 'tap';
import type { RegistrationStatus } from '../../db/schema/index.js';
import type { App } from '../../src/app.js';
import { sessionBody } from './app.js';

/** Session JSON as the organizer API returns it. */
export type SessionJson = Record<string, any> & { id: string; slug: string };

export const CITY_QUESTIONS = [
  { id: 'city', label: 'Your city', type: 'text', required: true },
  { id: 'role', label: 'Role', type: 'select', options: ['Mayor', 'Staff'], required: false },
  { id: 'agree', label: 'I agree to be recorded', type: 'checkbox', required: false },
];

/** Creates a session through the API and (by default) publishes it. */
export async function createSession(
  app: App,
  headers: Record<string, string>,
  overrides: Record<string, unknown> = {},
  options: { publish?: boolean; daysAhead?: number } = {},
): Promise<SessionJson> {
  return createSessionWithBody(app, headers, sessionBody(overrides, options.daysAhead ?? 14), options);
}

/** Creates a session with this exact body through the API and (by default) publishes it. */
export async function createSessionWithBody(
  app: App,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  options: { publish?: boolean } = {},
): Promise<SessionJson> {
  const created = await app.inject({ method: 'POST', url: '/api/v1/sessions', headers, payload: body });
  if (created.statusCode !== 201) throw new Error(`create session failed: ${created.statusCode} ${created.body}`);
  const session = created.json<SessionJson>();
  if (options.publish === false) return session;
  const published = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/publish`, headers });
  if (published.statusCode !== 200) throw new Error(`publish failed: ${published.statusCode} ${published.body}`);
  return published.json<SessionJson>();
}

export function registerJson(
  app: App,
  slug: string,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: `/api/v1/public/sessions/${slug}/registrations`,
    headers,
    payload: payload as Record<string, unknown>,
  });
}

/** Registers and insists on a 202: a setup step, not an assertion under test. */
export async function registered(app: App, slug: string, payload: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await registerJson(app, slug, { consent: true, ...payload });
  if (res.statusCode !== 202) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/**
 * Registers (insisting on a 202) and returns the status the registration got, from the
 * database: the answer is the same whatever happened, so that nobody learns who is registered.
 */
export async function registeredAs(
  app: App,
  pool: pg.Pool,
  session: { id: string; slug: string },
  payload: Record<string, unknown> & { email: string },
): Promise<string> {
  await registered(app, session.slug, payload);
  const { rows } = await pool.query<{ status: string }>(
    `SELECT r.status::text FROM registrations r JOIN attendees a ON a.id = r.attendee_id
     WHERE r.session_id = $1 AND a.email = $2 ORDER BY r.registered_at DESC LIMIT 1`,
    [session.id, payload.email.trim().toLowerCase()],
  );
  if (!rows[0]) throw new Error(`no registration of ${payload.email}`);
  return rows[0].status;
}

export async function registrationId(pool: pg.Pool, sessionId: string, email: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT r.id FROM registrations r JOIN attendees a ON a.id = r.attendee_id
     WHERE r.session_id = $1 AND a.email = $2 ORDER BY r.registered_at DESC LIMIT 1`,
    [sessionId, email.trim().toLowerCase()],
  );
  if (!rows[0]) throw new Error(`no registration of ${email}`);
  return rows[0].id;
}

export interface RegistrationDbRow {
  id: string;
  status: RegistrationStatus;
  email: string;
  name: string;
  waitlist_ticket: string | null;
  forced: boolean;
  checked_in_at: Date | null;
}

export async function registrationRows(pool: pg.Pool, sessionId: string): Promise<RegistrationDbRow[]> {
  const { rows } = await pool.query<RegistrationDbRow>(
    `SELECT r.id, r.status, a.email, r.name, r.waitlist_ticket, r.forced, r.checked_in_at
     FROM registrations r JOIN attendees a ON a.id = r.attendee_id
     WHERE r.session_id = $1 ORDER BY r.registered_at, r.id`,
    [sessionId],
  );
  return rows;
}

export interface NotificationDbRow {
  kind: string;
  registration_id: string | null;
  dedupe_key: string;
  payload: Record<string, unknown>;
}

export async function notificationRows(pool: pg.Pool, sessionId: string, kind?: string): Promise<NotificationDbRow[]> {
  const { rows } = await pool.query<NotificationDbRow>(
    `SELECT kind::text, registration_id, dedupe_key, payload FROM notifications
     WHERE session_id = $1 AND ($2::text IS NULL OR kind::text = $2) ORDER BY created_at, dedupe_key`,
    [sessionId, kind ?? null],
  );
  return rows;
}

export async function count(pool: pg.Pool, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) AS counted`, params);
  return rows[0]!.n;
}

/** The waiting registrations of a session, first in line first. */
export async function waitingInOrder(pool: pg.Pool, sessionId: string): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM registrations WHERE session_id = $1 AND status = 'waitlisted' ORDER BY waitlist_ticket`,
    [sessionId],
  );
  return rows.map((row) => row.id);
}

/** The counters on the session row agree with a count of its registration rows. */
export async function assertCounters(t: Test, pool: pg.Pool, sessionId: string, label = ''): Promise<{ confirmed: number; waitlisted: number; cancelled: number }> {
  const { rows } = await pool.query<{
    confirmed_count: number;
    waitlisted_count: number;
    cancelled_count: number;
    pending_count: number;
    offered_count: number;
    capacity: number | null;
    starts_at: Date;
  }>(
    'SELECT confirmed_count, waitlisted_count, cancelled_count, pending_count, offered_count, capacity, starts_at FROM sessions WHERE id = $1',
    [sessionId],
  );
  const session = rows[0]!;
  const { rows: counted } = await pool.query<{ status: string; n: number }>(
    'SELECT status::text, count(*)::int AS n FROM registrations WHERE session_id = $1 GROUP BY status',
    [sessionId],
  );
  const of = (status: string) => counted.find((row) => row.status === status)?.n ?? 0;
  const actual = { confirmed: of('confirmed'), waitlisted: of('waitlisted'), cancelled: of('cancelled') };
  const where = label ? ` (${label})` : '';
  t.same(
    {
      confirmed: session.confirmed_count,
      waitlisted: session.waitlisted_count,
      cancelled: session.cancelled_count,
      pending: session.pending_count,
      offered: session.offered_count,
    },
    { ...actual, pending: of('pending'), offered: of('offered') },
    `session counters equal the rows${where}`,
  );
  // Waitlist tickets of the waiting people are distinct, so positions 1..n have no gaps.
  const { rows: tickets } = await pool.query<{ n: number; distinct_n: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT waitlist_ticket)::int AS distinct_n
     FROM registrations WHERE session_id = $1 AND status = 'waitlisted'`,
    [sessionId],
  );
  t.equal(tickets[0]!.distinct_n, tickets[0]!.n, `distinct waitlist tickets${where}`);
  // Only an organizer's force may exceed the capacity, so the seats taken without it (confirmed
  // or held by an offer) fit; and no seat is held past the start.
  const { rows: seats } = await pool.query<{ held: number; late_offers: number }>(
    `SELECT count(*) FILTER (WHERE (status = 'confirmed' AND NOT forced) OR status = 'offered')::int AS held,
       count(*) FILTER (WHERE status = 'offered' AND (offer_expires_at IS NULL OR offer_expires_at > $2))::int AS late_offers
     FROM registrations WHERE session_id = $1`,
    [sessionId, session.starts_at],
  );
  if (session.capacity !== null) t.ok(seats[0]!.held <= session.capacity, `confirmed + offered within the capacity${where}`);
  t.equal(seats[0]!.late_offers, 0, `every offer ends by the start${where}`);
  return actual;
}

/** Every key of a JSON value, recursively, for "no token, no other attendee" checks. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value);
}

/** A registration's manage token: the one its e-mails carry (tokens.ts derives it from the id). */
export function manageTokenFor(app: App, registrationId: string): string {
  return app.services.tokens.derive('manage', registrationId, 0);
}

/** The registrations of a session as the organizer API shows them, by id. */
export async function registrationsById(app: App, headers: Record<string, string>, sessionId: string): Promise<Map<string, Record<string, any>>> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${sessionId}/registrations`, headers, query: { limit: '200' } });
  if (res.statusCode !== 200) throw new Error(`list registrations failed: ${res.statusCode} ${res.body}`);
  return new Map(res.json<{ items: Array<Record<string, any>> }>().items.map((item) => [item.id as string, item]));
}

/** A session's counts as the organizer API shows them. */
export async function sessionCounts(
  app: App,
  headers: Record<string, string>,
  sessionId: string,
): Promise<{ confirmed: number; waitlisted: number; cancelled: number; pending: number; offered: number }> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${sessionId}`, headers });
  if (res.statusCode !== 200) throw new Error(`get session failed: ${res.statusCode} ${res.body}`);
  return res.json<SessionJson>().counts;
}

/** The kinds of the outbox rows of one registration, oldest first. */
export async function kindsOf(pool: pg.Pool, sessionId: string, registrationId: string): Promise<string[]> {
  return (await notificationRows(pool, sessionId)).filter((row) => row.registration_id === registrationId).map((row) => row.kind);
}
