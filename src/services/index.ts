import type { Database } from '../../db/client.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { createApiKeysService } from './api-keys.service.js';
import { createAuditService } from './audit.service.js';
import { createConsoleSessions } from './console-sessions.js';
import { createErasureService } from './erasure.service.js';
import { createExportsService } from './exports.service.js';
import { createFeedsService } from './feeds.service.js';
import { createIdempotencyService } from './idempotency.js';
import { createInviteService } from './invites.js';
import { createJoinService } from './join.service.js';
import { createLinks } from './links.js';
import { createMessagesService } from './messages.service.js';
import { createNotificationLog } from './notifications/log.js';
import { createOrganisationsService } from './organisations.service.js';
import { createOrganizersService } from './organizers.service.js';
import { createParticipationService } from './participation.service.js';
import { noRelay, type OutboxRelay } from './notifications/relay.js';
import { createPasswordHasher } from './passwords.js';
import { noReminders, type ReminderScheduler } from './reminders.service.js';
import { noOfferTimers, type OfferTimers } from './offer-timers.js';
import { createRegistrationsService } from './registrations/index.js';
import { createSeriesService } from './series.service.js';
import { createSessionChanges } from './session-changes.js';
import { createSessionsService } from './sessions.service.js';
import { createSettingsService } from './settings.service.js';
import { createTokens } from './tokens.js';
import { createWebhookEndpointsService } from './webhooks/endpoints.service.js';
import { secretsKey } from './webhooks/signing.js';

export interface ServiceDeps {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'tokenSecret' | 'publicBaseUrl' | 'mailFrom' | 'joinWindowMinutes' | 'passwordHashConcurrency' | 'passwordHashQueueLimit' | 'webhookAllowPrivate'>;
  /** Kicked after every change that wrote outbox rows; the worker's sweep covers processes without one. */
  outbox?: OutboxRelay;
  /** Keeps each published session's reminder jobs in step with it. */
  reminders?: ReminderScheduler;
  /** The expiry jobs of waitlist offers (the worker's sweep expires what they miss). */
  offerTimers?: OfferTimers;
}

/** Every service, wired to the same dependencies. The HTTP layer and the workers both use this. */
export function createServices({ db, clock, config, outbox = noRelay, reminders = noReminders, offerTimers = noOfferTimers }: ServiceDeps) {
  const { publicBaseUrl, mailFrom, joinWindowMinutes } = config;
  const tokens = createTokens(config.tokenSecret);
  const settings = createSettingsService({ db, publicBaseUrl, mailFrom });
  const registrations = createRegistrationsService({ db, clock, tokens, outbox, offerTimers });
  const organizers = createOrganizersService({
    db,
    passwords: createPasswordHasher({ concurrency: config.passwordHashConcurrency, queueLimit: config.passwordHashQueueLimit }),
  });
  return {
    tokens,
    links: createLinks({ tokens, publicBaseUrl, joinWindowMinutes }),
    organizers,
    organisations: createOrganisationsService({ db, clock }),
    participation: createParticipationService({ db, clock }),
    sessions: createSessionsService({ db, clock, outbox, reminders, offerTimers }),
    registrations,
    // A series form registers through the public registration of each of its sessions.
    series: createSeriesService({ db, clock, outbox, registrations }),
    notificationLog: createNotificationLog({ db }),
    messages: createMessagesService({ db, clock, outbox, branding: settings.branding, config: { publicBaseUrl, joinWindowMinutes, mailFrom } }),
    invites: createInviteService({ db, clock, tokens, publicBaseUrl, mailFrom, settings }),
    feeds: createFeedsService({ db, clock, tokens, publicBaseUrl, settings }),
    join: createJoinService({ db, clock, tokens, joinWindowMinutes }),
    sessionChanges: createSessionChanges({ db }),
    idempotency: createIdempotencyService({ db, clock }),
    audit: createAuditService({ db }),
    apiKeys: createApiKeysService({ db, clock }),
    consoleSessions: createConsoleSessions({ db, clock, secret: config.tokenSecret, organizers }),
    exports: createExportsService({ db, clock }),
    erasure: createErasureService({ db, clock }),
    webhooks: createWebhookEndpointsService({ db, clock, secretsKey: secretsKey(config.tokenSecret), allowPrivate: config.webhookAllowPrivate }),
    settings,
  };
}

export type Services = ReturnType<typeof createServices>;
