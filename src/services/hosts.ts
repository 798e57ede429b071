import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { sessionHosts, sessions, type OrganizerRole } from '../../db/schema/index.js';

/**
 * Who may see or change a session: its hosts, and every admin. This file is the rule's one home;
 * src/plugins/hosts.ts applies it to every route under /api/v1/sessions/{id} and every console
 * page under /console/sessions/{id} (src/routes/console/index.ts), and lists and
 * cross-session exports filter with `visibleTo`.
 */

/** The caller as the rule needs it. */
export interface Viewer {
  id: string;
  role: OrganizerRole;
}

export function seesEverySession(viewer: Viewer): boolean {
  return viewer.role === 'admin';
}

/**
 * The ids of the hosts of the session row in scope, the creator first and then in the order they
 * were added: a column for a select (or RETURNING) on `sessions`, so the hosts cost no extra round trip.
 */
export function hostIdsColumn(): SQL<string[]> {
  return sql<string[]>`array(SELECT ${sessionHosts.organizerId} FROM ${sessionHosts} WHERE ${sessionHosts.sessionId} = ${sessions.id} ORDER BY ${sessionHosts.addedAt}, ${sessionHosts.organizerId})`;
}

/**
 * A condition on `sessions`: the sessions this viewer may see. Undefined for an admin, so it
 * drops out of `and(...)`.
 */
export function visibleTo(viewer: Viewer): SQL | undefined {
  if (seesEverySession(viewer)) return undefined;
  return sql`EXISTS (SELECT 1 FROM ${sessionHosts} WHERE ${sessionHosts.sessionId} = ${sessions.id} AND ${sessionHosts.organizerId} = ${viewer.id})`;
}

/**
 * Whether the viewer may see this session. One lookup on the primary key (session_id,
 * organizer_id), none for an admin. A missing session is simply not hosted, so the caller cannot
 * tell it from another organizer's.
 */
export async function maySeeSession(db: Executor, viewer: Viewer, sessionId: string): Promise<boolean> {
  if (seesEverySession(viewer)) return true;
  const [hosted] = await db
    .select({ sessionId: sessionHosts.sessionId })
    .from(sessionHosts)
    .where(and(eq(sessionHosts.sessionId, sessionId), eq(sessionHosts.organizerId, viewer.id)));
  return hosted !== undefined;
}
