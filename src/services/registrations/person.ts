import type { Answers, SessionRow } from '../../../db/schema/index.js';
import { BadRequestError, type FieldError } from '../../errors.js';
import { normalizeEmail } from '../email-address.js';
import { typedLine, validateAnswers } from './answers.js';

export interface RegistrationInput {
  name: string;
  email: string;
  organization?: string | null;
  jobTitle?: string | null;
  answers?: Record<string, string | boolean>;
  consent?: boolean;
  accessCode?: string;
  /** The IANA zone the browser reported (a hidden form field); kept when known, silently dropped otherwise. */
  timezone?: string;
}

export interface OrganizerRegistrationInput extends RegistrationInput {
  force?: boolean;
}

/** The person's details as they are stored. */
export interface Person {
  name: string;
  /** Normalised: the identity of the attendee. */
  email: string;
  organization: string | null;
  jobTitle: string | null;
  answers: Answers;
}

/** Checks the person's details; returns the normalised values or throws 400 with every problem. */
export function checkPerson(session: SessionRow, input: RegistrationInput, requireConsent: boolean): Person {
  const errors: FieldError[] = [];
  const name = typedLine(input.name);
  if (name === '') errors.push({ path: '/name', message: 'is required' });
  const email = normalizeEmail(input.email);
  if (!email) errors.push({ path: '/email', message: 'must be an e-mail address' });
  const organization = input.organization ? typedLine(input.organization) || null : null;
  const jobTitle = input.jobTitle ? typedLine(input.jobTitle) || null : null;
  const answers = validateAnswers(session.questions, input.answers ?? {}, errors);
  if (requireConsent && input.consent !== true) {
    errors.push({ path: '/consent', message: 'must be accepted to register' });
  }
  if (errors.length > 0) throw new BadRequestError('The registration is not valid', errors);
  return { name, email: email!, organization, jobTitle, answers };
}
