import type { Database } from '../../../db/client.js';
import { isUniqueViolation, isUnstorableText } from '../../../db/errors.js';
import type { SessionRow } from '../../../db/schema/index.js';
import { ServiceUnavailableError } from '../../errors.js';
import { admitGroup, type GroupMember, type SeatResult } from '../capacity.js';
import { groupedCalls } from '../coalesce.js';
import type { Tokens } from '../tokens.js';
import type { Person } from './person.js';
import { isAttendeeForeignKeyViolation, manageLinkResendAt, newRegistrationIds, organisationLimitOf, seatPerson, type SeatOptions } from './seat.js';

/**
 * At most this many registrations per commit. With 500 requests in flight at once (the burst
 * bench), one group running and one waiting hold them all, so none waits for more than the claim
 * ahead of its own; beyond that the queue stays first come, first served.
 */
export const ADMISSION_GROUP_MAX = 256;

interface Applicant {
  session: SessionRow;
  person: Person;
  options: SeatOptions;
  now: Date;
}

export interface AdmissionDeps {
  db: Database;
  tokens: Tokens;
}

/**
 * A failure that belongs to one member rather than to the group: a concurrent registration of the
 * same person (by another process, or by an organizer), an attendee erased under the statement,
 * text Postgres will not store. Each member then goes alone, so only its own request fails.
 */
function isMemberFault(error: unknown): boolean {
  return isUniqueViolation(error) || isAttendeeForeignKeyViolation(error) || isUnstorableText(error);
}

async function settled<R>(promise: Promise<R>): Promise<PromiseSettledResult<R>> {
  try {
    return { status: 'fulfilled', value: await promise };
  } catch (reason) {
    return { status: 'rejected', reason };
  }
}

/**
 * Group admission: the public registrations of one session that arrive while a claim for it runs
 * wait for the next claim, which admits them all in one transaction (capacity.ts admitGroup: the
 * row lock, one statement, one commit), so a crowd shares the disk's flush instead of queueing
 * for one flush each. Per process and session one claim runs at a time, in arrival order; across
 * processes the row lock orders the claims and the database applies the capacity rule, so no
 * number of API processes can oversell. A request alone (an idle session) takes the
 * one-statement path as before; so do organizers' additions and sessions with a limit per
 * organisation (seatPerson), which are rare and keep their own rules.
 */
export function createAdmission({ db, tokens }: AdmissionDeps) {
  async function admitTogether(sessionId: string, applicants: Applicant[]): Promise<PromiseSettledResult<SeatResult>[]> {
    const alone = (applicant: Applicant) => seatPerson({ db, tokens }, applicant.session, applicant.person, applicant.options, applicant.now);
    if (applicants.length === 1) return [await settled(alone(applicants[0]!))];
    const now = new Date(Math.max(...applicants.map((applicant) => applicant.now.getTime())));
    const members: GroupMember[] = applicants.map(({ person, options }) => {
      const ids = newRegistrationIds(tokens);
      return {
        ...person,
        registrationId: ids.registrationId,
        manageTokenHash: ids.manageTokenHash,
        joinTokenHash: ids.joinTokenHash,
        newAttendee: ids.newAttendee,
        consentVersion: options.consentVersion,
        attendeeTimezone: options.attendeeTimezone ?? null,
        organisationId: options.organisation?.id ?? null,
      };
    });
    try {
      const results = await admitGroup(db, { sessionId, now, manageLinkResend: manageLinkResendAt(now), members });
      return results.map((value) => ({ status: 'fulfilled', value }));
    } catch (error) {
      if (isMemberFault(error)) {
        // In arrival order, one after the other: the order of the seats stays the order of arrival.
        const outcomes: PromiseSettledResult<SeatResult>[] = [];
        for (const applicant of applicants) outcomes.push(await settled(alone(applicant)));
        return outcomes;
      }
      // The error handler logs the refusal with its cause: one line per request of the group.
      const refusal = new ServiceUnavailableError('Registration is busy at the moment; nothing was registered, please try again');
      refusal.cause = error;
      return applicants.map(() => ({ status: 'rejected', reason: refusal }));
    }
  }

  const admitInGroup = groupedCalls(admitTogether, ADMISSION_GROUP_MAX);

  /** Seats a public registration (or a waitlist place, or the request under approval): see createAdmission. */
  function admit(session: SessionRow, person: Person, options: SeatOptions, now: Date): Promise<SeatResult> {
    const grouped = options.source === 'public' && !options.force && organisationLimitOf(session) === null;
    if (!grouped) return seatPerson({ db, tokens }, session, person, options, now);
    return admitInGroup(session.id, { session, person, options, now });
  }

  /** Registrations of the session waiting for the next claim (metrics and tests). */
  const waiting = (sessionId: string) => admitInGroup.waiting(sessionId);

  return { admit, waiting };
}

export type Admission = ReturnType<typeof createAdmission>;
