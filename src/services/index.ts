import type { Database } from '../../db/client.js';
import type { Clock } from '../clock.js';
import { createIdempotencyService } from './idempotency.js';
import { createInviteService } from './invites.js';
import { createNotificationLog } from './notifications.service.js';
import { createOrganizersService } from './organizers.service.js';
import { noRelay, type OutboxRelay } from './outbox.js';
import { createRegistrationsService } from './registrations.service.js';
import { createSessionsService } from './sessions.service.js';
import { createTokens } from './tokens.js';

export interface ServiceDeps {
  db: Database;
  clock: Clock;
  tokenSecret: string;
  publicBaseUrl: string;
  mailFrom: string;
  /** Kicked after every change that wrote outbox rows; the worker's sweep covers processes without one. */
  outbox?: OutboxRelay;
}

/** Every service, wired to the same dependencies. The HTTP layer and the workers both use this. */
export function createServices({ db, clock, tokenSecret, publicBaseUrl, mailFrom, outbox = noRelay }: ServiceDeps) {
  const tokens = createTokens(tokenSecret);
  return {
    tokens,
    organizers: createOrganizersService({ db }),
    sessions: createSessionsService({ db, clock, outbox }),
    registrations: createRegistrationsService({ db, clock, tokens, outbox }),
    notificationLog: createNotificationLog({ db }),
    invites: createInviteService({ db, clock, tokens, publicBaseUrl, mailFrom }),
    idempotency: createIdempotencyService({ db, clock }),
  };
}

export type Services = ReturnType<typeof createServices>;
