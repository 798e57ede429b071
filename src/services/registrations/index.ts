import type { Database } from '../../../db/client.js';
import type { Clock } from '../../clock.js';
import type { OutboxRelay } from '../notifications/relay.js';
import { noOfferTimers, type OfferTimers } from '../offer-timers.js';
import type { Tokens } from '../tokens.js';
import { createAdmission } from './admission.js';
import { createOrganizerRegistrations } from './organizer.js';
import { createPublicRegistrations } from './public.js';
import { createRegistrationQueries } from './queries.js';
import { createRegistrationWorkflow } from './workflow.js';

export type { OrganizerRegistrationInput, RegistrationInput } from './person.js';
export type { ManageView, RegisterOptions, RegistrationReceipt } from './public.js';
export type { ListFilter, RecordedOrganisation, RegistrationDetail, RegistrationPage } from './queries.js';

export interface RegistrationsServiceDeps {
  db: Database;
  clock: Clock;
  tokens: Tokens;
  outbox: OutboxRelay;
  /** The expiry jobs of waitlist offers (the worker's sweep covers processes without Redis). */
  offerTimers?: OfferTimers;
}

/**
 * Registrations: the visitor's side (public.ts), the organizers' side (organizer.ts), approval
 * and waitlist offers (workflow.ts) and the reads (queries.ts).
 */
export function createRegistrationsService({ offerTimers = noOfferTimers, ...rest }: RegistrationsServiceDeps) {
  const deps = { ...rest, offerTimers };
  const queries = createRegistrationQueries({ db: deps.db });
  const workflow = createRegistrationWorkflow({ ...deps, queries });
  const admission = createAdmission(deps);
  return {
    ...createPublicRegistrations({ ...deps, queries, workflow, admission }),
    /** Public registrations of the session waiting for its next group admission. */
    admissionWaiting: admission.waiting,
    ...createOrganizerRegistrations({ ...deps, queries }),
    approve: workflow.approve,
    approveOne: workflow.approveOne,
    decline: workflow.decline,
    expireOffer: workflow.expireOffer,
    sweepExpiredOffers: workflow.sweepExpiredOffers,
    list: queries.list,
    organisationsOf: queries.organisationsOf,
    get: queries.get,
    /** One registration of this session, with its e-mail and waitlist place (another session's: 404). */
    getOfSession: async (sessionId: string, registrationId: string) => queries.detail(await queries.registrationOfSession(sessionId, registrationId)),
  };
}

export type RegistrationsService = ReturnType<typeof createRegistrationsService>;
