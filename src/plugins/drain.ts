import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sendProblem } from './errors.js';

/**
 * Graceful close of the HTTP side. Once `app.close()` starts:
 * - a request on a connection the server already holds gets a 503 problem with `Retry-After` and
 *   `Connection: close` (the balancer sends it elsewhere);
 * - a request that was being answered gets its answer with `Connection: close`, so its keep-alive
 *   connection ends after it instead of holding the close open for the keep-alive timeout;
 * - before the server closes its idle connections, one turn of the event loop lets requests that
 *   had already arrived on them be read, so they are answered rather than reset.
 */
async function drainPlugin(app: FastifyInstance): Promise<void> {
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
    await new Promise((resolve) => setImmediate(resolve));
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!draining) return;
    reply.header('connection', 'close');
    return sendProblem(reply, 503, 'The service is restarting; try again shortly', undefined, { 'Retry-After': '1' });
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (draining) reply.header('connection', 'close');
    return payload;
  });
}

export default fp(drainPlugin, { name: 'convene-drain' });
