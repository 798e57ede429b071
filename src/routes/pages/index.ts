import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock.js';
import type { RegistrationLimits } from '../../plugins/rate-limit.js';
import type { Services } from '../../services/index.js';
import { SCRIPT, SCRIPT_ETAG, SCRIPT_PATH, STYLESHEET, STYLESHEET_ETAG, STYLESHEET_PATH } from '../../web/assets.js';
import { managePages } from './manage.js';
import { pageErrorPage, pageSender } from './reply.js';
import { sessionPages } from './sessions.js';

export interface PageRoutesOptions {
  services: Services;
  clock: Clock;
  /** Origins allowed to frame /embed pages (EMBED_ORIGINS). */
  embedOrigins: string[];
  limits: RegistrationLimits;
  /** The site's absolute base URL (calendar links). */
  publicBaseUrl: string;
}

const hidden = { hide: true } as const;

/**
 * The public web pages: server-rendered HTML (src/web), plain forms that work without
 * JavaScript, and a strict CSP. Their errors go through the app's one error handler, which
 * answers them with pages (the route config's errorPage) where the API answers problem+json.
 */
export async function pageRoutes(app: FastifyInstance, { services, clock, embedOrigins, limits, publicBaseUrl }: PageRoutesOptions): Promise<void> {
  const send = pageSender(embedOrigins);
  const errorPage = pageErrorPage(send, services.settings.branding);
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, errorPage };
  });

  // The stylesheet and the script, at fixed paths.
  const asset = (path: string, body: string, type: string, etag: string) =>
    app.get(path, { schema: hidden }, async (request, reply) => {
      reply.header('cache-control', 'public, max-age=3600').header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(type).send(body);
    });
  asset(STYLESHEET_PATH, STYLESHEET, 'text/css; charset=utf-8', STYLESHEET_ETAG);
  asset(SCRIPT_PATH, SCRIPT, 'text/javascript; charset=utf-8', SCRIPT_ETAG);

  await sessionPages(app, { services, clock, limits, send, publicBaseUrl });
  await managePages(app, { services, clock, send, publicBaseUrl });
}
