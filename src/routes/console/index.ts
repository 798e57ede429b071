import type { FastifyInstance } from 'fastify';
import type { Executor } from '../../../db/client.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import hostsGuard from '../../plugins/hosts.js';
import type { LoginThrottle } from '../../plugins/login-throttle.js';
import type { Services } from '../../services/index.js';
import type { ExportSlots } from '../exports/stream.js';
import { accountRoutes } from './account.js';
import { consoleApiKeyPages } from './api-keys.js';
import { consoleAdminPages } from './admin.js';
import { consoleBrandingPages } from './branding.js';
import { dashboardRoutes } from './dashboard.js';
import { consoleEmailPages } from './emails.js';
import { consoleFollowUpPages } from './follow-up.js';
import { consoleMessagePages } from './messages.js';
import { consoleOrganisationPages } from './organisations.js';
import { consoleErrorPage, sendConsoleMessage } from './layout.js';
import { loginRoutes } from './login.js';
import { consolePeoplePages } from './people.js';
import { consoleParticipationPages } from './participation.js';
import { consoleCookie, createOriginGuard, createRequireConsole } from './session.js';
import { consoleSeriesPages } from './series.js';
import { consoleSessionPages } from './sessions.js';
import { consoleWebhookPages } from './webhooks.js';

export interface ConsoleRoutesOptions {
  services: Services;
  clock: Clock;
  /** The login throttle shared with POST /api/v1/auth/login. */
  throttle: LoginThrottle;
  /** For the hosts rule's lookup (src/plugins/hosts.ts). */
  db: Executor;
  config: Pick<Config, 'publicBaseUrl'>;
  /** The limit on exports running at once, shared with the API's exports (src/app.ts). */
  exportSlots: ExportSlots;
}

/**
 * The organizer console under /console (registered with that prefix from src/app.ts): server-
 * rendered pages on the same services as the API. Applied here once to every route of the
 * subtree, those of the pages registered below included:
 * - answers are never stored (`Cache-Control: no-store`, also on errors) and errors are console pages;
 * - a state-changing request naming a foreign `Origin` is 403 (src/routes/console/session.ts);
 * - without a live console session: 303 to the login page; a POST without the session's `_csrf`: 403.
 * Pages of other files register inside this plugin (after the hooks) to get all of that.
 */
export async function consoleRoutes(app: FastifyInstance, { services, clock, throttle, db, config, exportSlots }: ConsoleRoutesOptions): Promise<void> {
  app.decorateRequest('consoleSession', null);
  const sessionCookie = consoleCookie(config.publicBaseUrl);

  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, errorPage: consoleErrorPage };
  });
  app.addHook('onRequest', app.organizerAnswer);
  app.addHook('onRequest', createOriginGuard(config.publicBaseUrl));
  app.addHook('preValidation', createRequireConsole(services.consoleSessions, sessionCookie));
  // The hosts rule, as for the API: every page and action under /console/sessions/{id}, of any
  // file registered below, is a 404 page to an organizer who does not host that session.
  await app.register(hostsGuard, { db, subtree: '/console/sessions/:id' });

  app.setNotFoundHandler((request, reply) =>
    sendConsoleMessage(request, reply, 404, 'Page not found', 'There is nothing here, or it is not yours to see.'),
  );

  const { organizers, consoleSessions: sessions } = services;
  await app.register(loginRoutes, { organizers, sessions, throttle, cookie: sessionCookie });
  await app.register(dashboardRoutes, { sessions: services.sessions, clock });
  await app.register(accountRoutes, { organizers, sessions, throttle, cookie: sessionCookie });
  await app.register(consoleSessionPages, {
    sessions: services.sessions,
    organizers,
    clock,
    publicBaseUrl: config.publicBaseUrl,
    defaultTimezone: 'America/Chicago',
  });
  await app.register(consolePeoplePages, {
    sessions: services.sessions,
    registrations: services.registrations,
    exports: services.exports,
    exportSlots,
    clock,
  });
  await app.register(consoleAdminPages, { organizers, audit: services.audit });
  await app.register(consoleBrandingPages, { settings: services.settings, sessions });
  await app.register(consoleEmailPages, { sessions: services.sessions, notificationLog: services.notificationLog, messages: services.messages });
  await app.register(consoleFollowUpPages, { sessions: services.sessions, clock });
  await app.register(consoleMessagePages, { sessions: services.sessions, messages: services.messages, clock });
  await app.register(consoleSeriesPages, { series: services.series, sessions: services.sessions, clock });
  await app.register(consoleOrganisationPages, { organisations: services.organisations, sessions });
  // After Organisations: its nav entry follows theirs.
  await app.register(consoleParticipationPages, { participation: services.participation, clock });
  // Every organizer's own keys; its nav entry follows Participation's.
  await app.register(consoleApiKeyPages, { apiKeys: services.apiKeys });
  // Every organizer's own endpoints (an admin's: all); its nav entry follows API keys'.
  await app.register(consoleWebhookPages, { webhooks: services.webhooks, organizers, idempotency: services.idempotency, clock });
  // Pages of the sessions, people, e-mails and admin areas register here.
}
