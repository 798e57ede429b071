import type { FastifyInstance, FastifyRequest, preHandlerHookHandler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Executor } from '../../db/client.js';
import { NotFoundError, UnauthorizedError } from '../errors.js';
import { maySeeSession } from '../services/hosts.js';

export interface HostsGuardOptions {
  db: Executor;
  /** Every route at or under this URL is a session's organizer route, keyed by its `:id`. */
  subtree: string;
}

/** The same answer as a session id that does not exist, so a stranger learns nothing from it. */
export const NO_SUCH_SESSION = 'No session with this id';

/**
 * Applies the hosts rule (src/services/hosts.ts) once to a whole route subtree, the way
 * fastify/demo applies auth with autohooks: every route whose URL starts with `subtree`, in
 * whichever plugin it is declared, gets the check, so a route added later cannot forget it.
 *
 * It runs as the first preHandler: after the plugins' onRequest authentication and after the
 * schema has validated `:id` (a malformed id stays a 400), before any handler reads the session.
 */
async function hostsGuard(app: FastifyInstance, { db, subtree }: HostsGuardOptions): Promise<void> {
  async function requireHost(request: FastifyRequest): Promise<void> {
    // Organizer routes only: one reached without authentication is refused rather than opened.
    if (!request.organizer) throw new UnauthorizedError('A bearer token is required');
    const { id } = request.params as { id?: unknown };
    if (typeof id !== 'string') throw new NotFoundError(NO_SUCH_SESSION);
    if (!(await maySeeSession(db, request.organizer, id))) throw new NotFoundError(NO_SUCH_SESSION);
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.url !== subtree && !route.url.startsWith(`${subtree}/`)) return;
    const existing = route.preHandler ? [route.preHandler].flat() : [];
    route.preHandler = [requireHost as preHandlerHookHandler, ...existing];
  });
}

export default fp(hostsGuard, { name: 'convene-hosts' });
