import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock.js';
import { effectiveStatus, type HostedSession, type SessionsService } from '../../services/sessions.service.js';
import { sessionTimeText } from '../../text.js';
import type { DashboardGroup, DashboardRow } from '../../web/console/views.js';
import { consoleContext, renderConsoleTemplate, sendConsolePage } from './layout.js';

/** The most sessions the dashboard lists: every current one first, then the latest past ones; one query either way. */
export const DASHBOARD_LIMIT = 500;

const STATUS: Record<ReturnType<typeof effectiveStatus>, { text: string; tone: DashboardRow['statusTone'] }> = {
  draft: { text: 'Draft', tone: 'muted' },
  published: { text: 'Published', tone: 'good' },
  cancelled: { text: 'Cancelled', tone: 'stop' },
  finished: { text: 'Finished', tone: 'info' },
};

function rowOf(session: HostedSession, now: Date): DashboardRow {
  const status = STATUS[effectiveStatus(session, now)];
  return {
    href: `/console/sessions/${session.id}`,
    title: session.title,
    whenText: sessionTimeText(session.startsAt, session.endsAt, session.timezone),
    startIso: session.startsAt.toISOString(),
    statusText: status.text,
    statusTone: status.tone,
    confirmed: session.confirmedCount,
    capacity: session.capacity,
    waitlisted: session.waitlistedCount,
    pending: session.pendingCount,
    offered: session.offeredCount,
  };
}

/** A group of the dashboard; its table has the approval and offer columns only when one of its sessions has a request or an offer open. */
function groupOf(id: DashboardGroup['id'], title: string, empty: string, sessions: HostedSession[], now: Date): DashboardGroup {
  const rows = sessions.map((session) => rowOf(session, now));
  return { id, title, empty, rows, showPending: rows.some((row) => row.pending > 0), showOffered: rows.some((row) => row.offered > 0) };
}

export interface DashboardRoutesOptions {
  sessions: Pick<SessionsService, 'list'>;
  clock: Clock;
}

/**
 * `GET /console`: the caller's sessions (the sessions service's list, which applies the hosts
 * rule: an admin sees all) in three groups: upcoming (published, not ended; soonest first),
 * drafts (soonest first), and past (ended or cancelled; latest first). Counts come from the session rows'
 * counters, so the whole page is one query.
 */
export async function dashboardRoutes(app: FastifyInstance, { sessions, clock }: DashboardRoutesOptions): Promise<void> {
  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const now = clock.now();
    const list = await sessions.list({ limit: DASHBOARD_LIMIT, order: 'current-first' }, organizer);
    const upcoming: HostedSession[] = [];
    const drafts: HostedSession[] = [];
    const past: HostedSession[] = [];
    for (const session of list) {
      const status = effectiveStatus(session, now);
      if (status === 'draft') drafts.push(session);
      else if (status === 'published') upcoming.push(session);
      else past.push(session);
    }
    const groups: DashboardGroup[] = [
      groupOf('upcoming', 'Upcoming', 'No published session is coming up.', upcoming, now),
      groupOf('drafts', 'Drafts', 'No drafts.', drafts, now),
      groupOf('past', 'Past and cancelled', 'No past sessions yet.', past, now),
    ];
    const truncatedNote =
      list.length >= DASHBOARD_LIMIT ? `Showing ${DASHBOARD_LIMIT} sessions: the oldest past sessions are not listed.` : null;
    const bodyHtml = renderConsoleTemplate('@console-dashboard', { groups, truncatedNote });
    return sendConsolePage(request, reply, { title: 'Sessions', bodyHtml, section: 'sessions' });
  });
}
