import formbody from '@fastify/formbody';
import qs from 'qs';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { DbHandle } from '../db/client.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { BadRequestError } from './errors.js';
import { loggerOptions } from './logger.js';
import authPlugin from './plugins/auth.js';
import hostsGuard from './plugins/hosts.js';
import { registerErrorHandling, sendProblem } from './plugins/errors.js';
import { createLoginThrottle } from './plugins/login-throttle.js';
import { registerRateLimits } from './plugins/rate-limit.js';
import drainPlugin from './plugins/drain.js';
import securityHeaders from './plugins/security-headers.js';
import metricsPlugin from './plugins/metrics.js';
import openapiPlugin from './plugins/openapi.js';
import { registerValidation } from './plugins/validation.js';
import { apiKeyRoutes } from './routes/api-keys/index.js';
import { attendeeRoutes } from './routes/attendees/index.js';
import { auditRoutes } from './routes/audit/index.js';
import { authRoutes } from './routes/auth/index.js';
import { exportRoutes } from './routes/exports/index.js';
import { participationRoutes } from './routes/exports/participation.js';
import { ExportSlots } from './routes/exports/stream.js';
import { feedRoutes } from './routes/feeds/index.js';
import { feedTokenRoutes } from './routes/feeds/token.js';
import { joinRoutes } from './routes/join/index.js';
import { metricsAccess, opsRoutes } from './routes/ops/index.js';
import cookie from '@fastify/cookie';
import { consoleRoutes } from './routes/console/index.js';
import { pageRoutes } from './routes/pages/index.js';
import { seriesPages } from './routes/pages/series.js';
import { pageErrorPage, pageSender } from './routes/pages/reply.js';
import { organizerRegistrationRoutes } from './routes/registrations/organizer.js';
import { publicRegistrationRoutes } from './routes/registrations/public.js';
import { seriesRoutes } from './routes/series/index.js';
import { sessionRoutes } from './routes/sessions/index.js';
import { brandAssetRoutes } from './routes/settings/assets.js';
import { settingsRoutes } from './routes/settings/index.js';
import { webhookRoutes } from './routes/webhooks/index.js';
import { createServices, type Services } from './services/index.js';
import { createOutboxRelay } from './services/notifications/relay.js';
import { createReminderScheduler } from './services/reminders.service.js';
import { createOfferTimers } from './services/offer-timers.js';
import { messageRoutes } from './routes/messages/index.js';
import { organisationRoutes } from './routes/organisations/index.js';
import { createQueues } from './queues.js';

export interface AppDeps {
  config: Config;
  database: DbHandle;
  /** The producer connection: readiness and, later, queues. */
  redis: Redis;
  clock: Clock;
  /** A logger to use; when absent the app makes one from the configuration. */
  logger?: FastifyBaseLogger;
}

export type App = FastifyInstance & { services: Services };

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, database, redis, clock } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: loggerOptions(config) }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // While closing, src/plugins/drain.ts answers 503 as problem details (Fastify's own 503 is plain JSON).
    return503OnClosing: false,
    requestIdHeader: false,
    // Errors raised before routing (a malformed or over-long path) get the same problem details.
    frameworkErrors: (error, _request, reply) => {
      const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
      const detail = status === 414 ? 'A part of the address is too long' : 'The address is not valid';
      return sendProblem(reply as never, status, detail);
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Fastify parses text/plain by default; the API takes JSON (and the web forms urlencoded),
  // so any other type is 415 rather than a string that fails validation with a confusing 400.
  app.removeContentTypeParser('text/plain');
  registerValidation(app);
  // Unknown addresses outside the API are the public pages' 404 page.
  registerErrorHandling(app, { notFoundPage: pageErrorPage(pageSender(config.embedOrigins), () => services.settings.branding()) });
  // Producers only: new outbox rows go to BullMQ right after their transaction commits.
  const queues = createQueues(redis, config.queuePrefix);
  const relay = createOutboxRelay(database.db, queues, { requeueAfterMs: config.outboxRequeueAfterMs, log: app.log as never });
  app.addHook('onClose', async () => {
    await relay.idle();
    await queues.close();
  });
  const reminders = createReminderScheduler({ queues, clock, log: app.log as never });
  const services = createServices({
    db: database.db,
    clock,
    config,
    outbox: relay,
    reminders,
    offerTimers: createOfferTimers({ queues, clock, log: app.log as never }),
  });

  // External plugins first, then ours, then routes.
  // Web forms send `answers[city]=...`: qs turns that into the nested object the schema expects.
  // Cookies for the console's session and the confirmation page's masked address.
  await app.register(cookie);
  await app.register(formbody, { parser: parseForm });
  await app.register(openapiPlugin, { publicBaseUrl: config.publicBaseUrl });
  // First of ours: while closing, its 503 comes before any other hook does work.
  await app.register(drainPlugin);
  await app.register(metricsPlugin);
  await app.register(authPlugin, { config, organizers: services.organizers, apiKeys: services.apiKeys });
  // Before any route: every route under /api/v1/sessions/{id} answers 404 to an organizer who does not host that session.
  await app.register(hostsGuard, { db: database.db, subtree: '/api/v1/sessions/:id' });
  await app.register(securityHeaders, { publicBaseUrl: config.publicBaseUrl });
  const limits = await registerRateLimits(app, {
    redis,
    perIpPerMinute: config.rateLimitRegisterPerIpPerMinute,
    perEmailPerHour: config.rateLimitRegisterPerEmailPerHour,
  });
  // One throttle for both ways in (the API's login and the console's): the same counters.
  const loginThrottle = createLoginThrottle(app, {
    redis,
    secret: config.tokenSecret,
    perIpPerMinute: config.rateLimitLoginPerIpPerMinute,
    maxFailures: config.loginMaxFailures,
    lockoutMinutes: config.loginLockoutMinutes,
  });

  await app.register(opsRoutes, { pool: database.pool, redis, metrics: metricsAccess(config) });
  await app.register(feedRoutes, { feeds: services.feeds, redis });
  await app.register(brandAssetRoutes, { settings: services.settings });
  await app.register(joinRoutes, { join: services.join, settings: services.settings });
  await app.register(pageRoutes, { services, clock, embedOrigins: config.embedOrigins, limits, publicBaseUrl: config.publicBaseUrl });
  await app.register(seriesPages, { services, clock, limits, publicBaseUrl: config.publicBaseUrl });
  // One limit on exports running at once, for the API's and the console's downloads together.
  const exportSlots = new ExportSlots(config.exportsMaxConcurrent);
  await app.register(consoleRoutes, { prefix: '/console', services, clock, throttle: loginThrottle, db: database.db, config, exportSlots });
  await app.register(
    async (api) => {
      await api.register(authRoutes, { organizers: services.organizers, throttle: loginThrottle });
      await api.register(apiKeyRoutes, { apiKeys: services.apiKeys });
      await api.register(sessionRoutes, { sessions: services.sessions, clock, publicBaseUrl: config.publicBaseUrl });
      await api.register(organizerRegistrationRoutes, { services });
      await api.register(messageRoutes, { services });
      await api.register(organisationRoutes, { organisations: services.organisations });
      await api.register(webhookRoutes, { webhooks: services.webhooks });
      await api.register(exportRoutes, { services, slots: exportSlots });
      await api.register(participationRoutes, { participation: services.participation });
      await api.register(auditRoutes, { audit: services.audit });
      await api.register(attendeeRoutes, { erasure: services.erasure });
      await api.register(publicRegistrationRoutes, { services, clock, publicBaseUrl: config.publicBaseUrl, limits });
      await api.register(seriesRoutes, { series: services.series, idempotency: services.idempotency, clock, publicBaseUrl: config.publicBaseUrl, limits });
      await api.register(feedTokenRoutes, { feeds: services.feeds });
      await api.register(settingsRoutes, { settings: services.settings });
    },
    { prefix: '/api/v1' },
  );

  app.decorate('services', services);
  return app as unknown as App;
}

/** More fields than any of our forms posts (the session form with 30 questions is about 200). */
const FORM_FIELDS_MAX = 1000;

/**
 * A web form's body. Over the limit it is refused rather than cut short: qs would otherwise keep
 * the first fields and drop the rest without a word, and a form saved with half its fields loses data.
 */
function parseForm(body: string): Record<string, unknown> {
  try {
    return qs.parse(body, { depth: 1, parameterLimit: FORM_FIELDS_MAX, arrayLimit: FORM_FIELDS_MAX, throwOnLimitExceeded: true });
  } catch (error) {
    if (error instanceof RangeError) throw new BadRequestError(`The form has more than ${FORM_FIELDS_MAX} fields`);
    throw error;
  }
}
