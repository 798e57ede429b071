import type { Database } from '../../db/client.js';
import type { Clock } from '../clock.js';
import { createOrganizersService } from './organizers.service.js';
import { createSessionsService } from './sessions.service.js';

export interface ServiceDeps {
  db: Database;
  clock: Clock;
}

/** Every service, wired to the same dependencies. The HTTP layer and the workers both use this. */
export function createServices(deps: ServiceDeps) {
  return {
    organizers: createOrganizersService(deps),
    sessions: createSessionsService(deps),
  };
}

export type Services = ReturnType<typeof createServices>;
