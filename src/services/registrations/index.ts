import type { Database } from '../../../db/client.js';
import type { Clock } from '../../clock.js';
import type { OutboxRelay } from '../notifications/relay.js';
import type { Tokens } from '../tokens.js';
import { createOrganizerRegistrations } from './organizer.js';
import { createPublicRegistrations } from './public.js';
import { createRegistrationQueries } from './queries.js';

export type { OrganizerRegistrationInput, RegistrationInput } from './person.js';
export type { ManageView, RegisterOptions, RegistrationReceipt } from './public.js';
export type { ListFilter, RegistrationDetail, RegistrationPage } from './queries.js';

export interface RegistrationsServiceDeps {
  db: Database;
  clock: Clock;
  tokens: Tokens;
  outbox: OutboxRelay;
}

/** Registrations: the visitor's side (public.ts), the organizers' side (organizer.ts) and the reads (queries.ts). */
export function createRegistrationsService(deps: RegistrationsServiceDeps) {
  const queries = createRegistrationQueries({ db: deps.db });
  return {
    ...createPublicRegistrations({ ...deps, queries }),
    ...createOrganizerRegistrations({ ...deps, queries }),
    list: queries.list,
    get: queries.get,
    /** One registration of this session, with its e-mail and waitlist place (another session's: 404). */
    getOfSession: async (sessionId: string, registrationId: string) => queries.detail(await queries.registrationOfSession(sessionId, registrationId)),
  };
}

export type RegistrationsService = ReturnType<typeof createRegistrationsService>;
