import { IANAZone } from 'luxon';
import type { Audience, EmailTexts, Question, SessionRow, sessions, WaitlistMode } from '../../db/schema/index.js';
import { BadRequestError, type FieldError } from '../errors.js';
import { normalizeDomain } from './email-address.js';

/**
 * A session as organizers write it, and the rules that JSON schema cannot express, which turn it
 * into row values. Every broken rule is reported at once, each with the path of its field, so an
 * organizer fixes a form in one round.
 */

export interface SessionInput {
  title: string;
  slug?: string;
  summary?: string | null;
  description?: string | null;
  startsAt: string;
  endsAt: string;
  timezone: string;
  capacity?: number | null;
  /** `mode` 'offer': a freed seat is held for the next person for `offerMinutes` (1 to 10080). */
  waitlist?: { enabled: boolean; limit?: number | null; mode?: WaitlistMode; offerMinutes?: number };
  /** Public registrations wait for an organizer's approval. */
  approval?: boolean;
  registrationOpensAt?: string | null;
  registrationClosesAt?: string | null;
  audience?: { kind: 'public' | 'domains' | 'code' | 'members'; domains?: string[]; code?: string; perOrganisationLimit?: number };
  questions?: Array<{ id: string; label: string; type: Question['type']; required?: boolean; options?: string[] }>;
  reminders?: number[];
  joinUrl?: string | null;
  joinInstructions?: string | null;
  contact?: { name: string; email: string };
  followUp?: { message: string; recordingUrl?: string | null } | null;
  /** The organizer's own paragraph at the top of the confirmation, waitlist and reminder e-mails. */
  emailTexts?: EmailTexts;
}

/** The values of a session row that an input sets. */
export type SessionValues = Omit<
  typeof sessions.$inferInsert,
  | 'id'
  | 'status'
  | 'sequence'
  | 'createdAt'
  | 'updatedAt'
  | 'publishedAt'
  | 'cancelledAt'
  | 'cancelReason'
  | 'createdBy'
  | 'followUpSentAt'
>;

/** The writable fields of a row, in the input's shape, so a PATCH can be merged and checked whole. */
export function sessionInputOf(row: SessionRow): SessionInput {
  return {
    title: row.title,
    slug: row.slug,
    summary: row.summary,
    description: row.description,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    timezone: row.timezone,
    capacity: row.capacity,
    waitlist: { enabled: row.waitlistEnabled, limit: row.waitlistLimit, mode: row.waitlistMode, offerMinutes: row.offerMinutes },
    approval: row.approval,
    registrationOpensAt: row.registrationOpensAt?.toISOString() ?? null,
    registrationClosesAt: row.registrationClosesAt?.toISOString() ?? null,
    audience: row.audience,
    questions: row.questions,
    reminders: row.reminders,
    joinUrl: row.joinUrl,
    joinInstructions: row.joinInstructions,
    contact: { name: row.contactName, email: row.contactEmail },
    followUp: row.followUp,
    emailTexts: row.emailTexts,
  };
}

const DEFAULT_REMINDERS = [1440, 60];
export const DEFAULT_OFFER_MINUTES = 1440;
const MAX_SESSION_LENGTH_MS = 31 * 24 * 3600 * 1000;
const MAX_YEARS_AHEAD = 10;
export const SLUG_MAX_LENGTH = 80;

/** Each text trimmed; an empty one is no text (the e-mail then has none). */
function emailTextsOf(texts: EmailTexts): EmailTexts {
  const kept: EmailTexts = {};
  for (const key of ['confirmation', 'waitlisted', 'reminder'] as const) {
    const text = texts[key]?.trim();
    if (text) kept[key] = text;
  }
  return kept;
}

export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX_LENGTH)
    .replace(/-+$/g, '');
  return slug || 'session';
}

/** Checks an input against itself and the clock and turns it into row values, or throws every broken rule. */
export function toSessionValues(input: SessionInput, now: Date): SessionValues {
  const errors: FieldError[] = [];
  const { startsAt, endsAt } = sessionTimes(input, now, errors);
  const { opensAt, closesAt } = registrationWindow(input, endsAt, errors);
  const audience = audienceOf(input.audience ?? { kind: 'public' }, errors);
  const questions = questionsOf(input.questions ?? [], errors);
  const reminders = remindersOf(input.reminders ?? DEFAULT_REMINDERS, errors);
  checkLinks(input, errors);
  if (errors.length > 0) throw new BadRequestError('The session is not valid', errors);

  const waitlist = input.waitlist ?? { enabled: true, limit: null };
  return {
    slug: input.slug ?? slugify(input.title),
    title: input.title.trim(),
    summary: input.summary ?? null,
    description: input.description ?? null,
    startsAt,
    endsAt,
    timezone: input.timezone,
    capacity: input.capacity ?? null,
    waitlistEnabled: waitlist.enabled,
    waitlistLimit: waitlist.limit ?? null,
    waitlistMode: waitlist.mode ?? 'auto',
    offerMinutes: waitlist.offerMinutes ?? DEFAULT_OFFER_MINUTES,
    approval: input.approval ?? false,
    registrationOpensAt: opensAt,
    registrationClosesAt: closesAt,
    audience,
    questions,
    reminders,
    joinUrl: input.joinUrl ?? null,
    joinInstructions: input.joinInstructions ?? null,
    contactName: input.contact?.name.trim() ?? '',
    contactEmail: input.contact?.email.trim().toLowerCase() ?? '',
    followUp: input.followUp ? { message: input.followUp.message.trim(), recordingUrl: input.followUp.recordingUrl ?? null } : null,
    emailTexts: emailTextsOf(input.emailTexts ?? {}),
  };
}

function sessionTimes(input: Pick<SessionInput, 'startsAt' | 'endsAt' | 'timezone'>, now: Date, errors: FieldError[]): { startsAt: Date; endsAt: Date } {
  const startsAt = new Date(input.startsAt);
  const endsAt = new Date(input.endsAt);
  if (!IANAZone.isValidZone(input.timezone)) {
    errors.push({ path: '/timezone', message: `"${input.timezone}" is not an IANA time zone (for example America/Chicago)` });
  }
  if (Number.isNaN(startsAt.getTime())) errors.push({ path: '/startsAt', message: 'must be a date-time with an offset' });
  if (Number.isNaN(endsAt.getTime())) errors.push({ path: '/endsAt', message: 'must be a date-time with an offset' });
  if (endsAt.getTime() <= startsAt.getTime()) errors.push({ path: '/endsAt', message: 'must be after startsAt' });
  else if (endsAt.getTime() - startsAt.getTime() > MAX_SESSION_LENGTH_MS) {
    errors.push({ path: '/endsAt', message: 'a session may last at most 31 days' });
  }
  const latest = new Date(now);
  latest.setUTCFullYear(latest.getUTCFullYear() + MAX_YEARS_AHEAD);
  if (startsAt.getTime() > latest.getTime()) {
    errors.push({ path: '/startsAt', message: `must be within ${MAX_YEARS_AHEAD} years from now` });
  }
  return { startsAt, endsAt };
}

/** When registration opens and closes: both optional, in order, and not after the session ends. */
function registrationWindow(
  input: Pick<SessionInput, 'registrationOpensAt' | 'registrationClosesAt'>,
  endsAt: Date,
  errors: FieldError[],
): { opensAt: Date | null; closesAt: Date | null } {
  const opensAt = input.registrationOpensAt ? new Date(input.registrationOpensAt) : null;
  const closesAt = input.registrationClosesAt ? new Date(input.registrationClosesAt) : null;
  if (opensAt && Number.isNaN(opensAt.getTime())) errors.push({ path: '/registrationOpensAt', message: 'must be a date-time with an offset' });
  if (closesAt && Number.isNaN(closesAt.getTime())) errors.push({ path: '/registrationClosesAt', message: 'must be a date-time with an offset' });
  if (opensAt && closesAt && closesAt.getTime() <= opensAt.getTime()) {
    errors.push({ path: '/registrationClosesAt', message: 'must be after registrationOpensAt' });
  }
  if (closesAt && closesAt.getTime() > endsAt.getTime()) {
    errors.push({ path: '/registrationClosesAt', message: 'must not be after the session ends' });
  }
  if (opensAt && opensAt.getTime() >= endsAt.getTime()) {
    errors.push({ path: '/registrationOpensAt', message: 'must be before the session ends' });
  }
  return { opensAt, closesAt };
}

const ONLY_FOR_DOMAINS: FieldError = { path: '/audience/domains', message: 'is only allowed when audience.kind is domains' };
const ONLY_FOR_CODE: FieldError = { path: '/audience/code', message: 'is only allowed when audience.kind is code' };
const ONLY_FOR_MEMBERS: FieldError = { path: '/audience/perOrganisationLimit', message: 'is only allowed when audience.kind is members' };

/**
 * Who may register: anyone, addresses of listed domains (stored in their ASCII form, once each),
 * holders of a code, or the people of active member organisations (at most n each).
 */
function audienceOf(raw: NonNullable<SessionInput['audience']>, errors: FieldError[]): Audience {
  if (raw.kind !== 'members' && raw.perOrganisationLimit !== undefined) errors.push({ ...ONLY_FOR_MEMBERS });
  if (raw.kind === 'members') {
    if (raw.domains !== undefined) errors.push({ ...ONLY_FOR_DOMAINS });
    if (raw.code !== undefined) errors.push({ ...ONLY_FOR_CODE });
    return raw.perOrganisationLimit === undefined ? { kind: 'members' } : { kind: 'members', perOrganisationLimit: raw.perOrganisationLimit };
  }
  if (raw.kind === 'domains') {
    const domains = (raw.domains ?? []).map((domain) => ({ domain, ascii: normalizeDomain(domain) }));
    if (domains.length === 0) errors.push({ path: '/audience/domains', message: 'is required when audience.kind is domains' });
    domains.forEach(({ domain, ascii }, index) => {
      if (!ascii) errors.push({ path: `/audience/domains/${index}`, message: `"${domain}" is not a domain name` });
    });
    if (raw.code !== undefined) errors.push({ ...ONLY_FOR_CODE });
    return { kind: 'domains', domains: [...new Set(domains.map(({ ascii }) => ascii ?? ''))] };
  }
  if (raw.kind === 'code') {
    if (!raw.code) errors.push({ path: '/audience/code', message: 'is required when audience.kind is code' });
    if (raw.domains !== undefined) errors.push({ ...ONLY_FOR_DOMAINS });
    return { kind: 'code', code: raw.code ?? '' };
  }
  if (raw.domains !== undefined) errors.push({ ...ONLY_FOR_DOMAINS });
  if (raw.code !== undefined) errors.push({ ...ONLY_FOR_CODE });
  return { kind: 'public' };
}

/** The registration form's questions: unique ids; options for select questions only, unique. */
function questionsOf(input: NonNullable<SessionInput['questions']>, errors: FieldError[]): Question[] {
  const seenIds = new Set<string>();
  return input.map((question, index) => {
    if (seenIds.has(question.id)) errors.push({ path: `/questions/${index}/id`, message: `duplicate question id "${question.id}"` });
    seenIds.add(question.id);
    const required = question.required ?? false;
    if (question.type === 'select') {
      const options = question.options ?? [];
      if (options.length === 0) errors.push({ path: `/questions/${index}/options`, message: 'a select question needs options' });
      if (new Set(options).size !== options.length) errors.push({ path: `/questions/${index}/options`, message: 'options must be unique' });
      return { id: question.id, label: question.label, type: 'select', options, required };
    }
    if (question.options !== undefined) errors.push({ path: `/questions/${index}/options`, message: 'only select questions have options' });
    return { id: question.id, label: question.label, type: question.type, required };
  });
}

/** Reminder offsets in minutes before the start, unique, stored latest first. */
function remindersOf(offsets: number[], errors: FieldError[]): number[] {
  if (new Set(offsets).size !== offsets.length) errors.push({ path: '/reminders', message: 'offsets must be unique' });
  return [...offsets].sort((a, b) => b - a);
}

/** Links that attendees open must be https; a meeting link must not carry credentials. */
function checkLinks(input: Pick<SessionInput, 'joinUrl' | 'followUp'>, errors: FieldError[]): void {
  if (input.joinUrl) {
    const url = safeUrl(input.joinUrl);
    if (!url || url.protocol !== 'https:') errors.push({ path: '/joinUrl', message: 'must be an https URL' });
    else if (url.username || url.password) errors.push({ path: '/joinUrl', message: 'must not contain credentials' });
  }
  if (input.followUp?.recordingUrl) {
    const url = safeUrl(input.followUp.recordingUrl);
    if (!url || url.protocol !== 'https:') errors.push({ path: '/followUp/recordingUrl', message: 'must be an https URL' });
  }
}

function safeUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}
