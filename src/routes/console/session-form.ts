import type { Question, SessionRow, WaitlistMode } from '../../../db/schema/index.js';
import type { FieldError } from '../../errors.js';
import { fieldErrors, type AjvIssue } from '../../plugins/errors.js';
import { createAjv } from '../../plugins/validation.js';
import { DEFAULT_OFFER_MINUTES, slugify, type SessionInput } from '../../services/session-values.js';
import { isZone, readLocalDateTime, timeZoneNames, toLocalInput } from '../../services/zoned-input.js';
import { booleanWord } from '../../text.js';
import type { ConsoleErrorItem, ConsoleFieldView } from '../../web/console/views.js';
import { CreateSessionBody, EMAIL_TEXT_MAX_LENGTH, OFFER_MINUTES_MAX, OFFER_MINUTES_MIN } from '../sessions/schemas.js';
import { errorSummary, field, focusFirstError, formText } from './layout.js';

/**
 * The console's session form: what an organizer types (text in named fields, times as
 * `datetime-local` values in the chosen zone) turned into the API's session input, and back.
 * The rules stay with the API: the input is checked by the API's own schema (CreateSessionBody)
 * and then by the sessions service; this module only reads the form and words the answers.
 */

/** Empty question rows offered below the existing ones: enough without JavaScript. */
export const EMPTY_QUESTION_ROWS = 3;
const MAX_QUESTIONS = 30;

export const QUESTION_TYPES: Array<{ value: Question['type']; text: string }> = [
  { value: 'text', text: 'Short text' },
  { value: 'textarea', text: 'Long text' },
  { value: 'select', text: 'Choice from a list' },
  { value: 'checkbox', text: 'Checkbox' },
];

export const WAITLIST_MODES: Array<{ value: WaitlistMode; text: string }> = [
  { value: 'auto', text: 'Give a freed seat to the next person' },
  { value: 'offer', text: 'Offer a freed seat for a limited time' },
];

export const OFFER_UNITS = [
  { value: 'hours', text: 'hours' },
  { value: 'minutes', text: 'minutes' },
] as const;


/** An offer time as the form shows it: whole hours when it is some, else minutes. */
function offerDuration(minutes: number): { offerFor: string; offerUnit: 'hours' | 'minutes' } {
  return minutes % 60 === 0 ? { offerFor: String(minutes / 60), offerUnit: 'hours' } : { offerFor: String(minutes), offerUnit: 'minutes' };
}

export interface QuestionRowValues {
  /** The stored id of an existing question (answers are kept under it); '' for a new one. */
  id: string;
  label: string;
  type: string;
  required: boolean;
  /** One option per line (choice questions). */
  options: string;
}

/** The form as text, exactly as typed (or as a stored session shows in its zone). */
export interface SessionFormValues {
  title: string;
  summary: string;
  description: string;
  startsAt: string;
  endsAt: string;
  timezone: string;
  capacity: string;
  waitlist: boolean;
  waitlistLimit: string;
  /** 'auto' or 'offer' (WAITLIST_MODES). */
  waitlistMode: string;
  /** How long an offered seat is held, in `offerUnit`. */
  offerFor: string;
  offerUnit: string;
  approval: boolean;
  registrationOpensAt: string;
  registrationClosesAt: string;
  audience: string;
  audienceDomains: string;
  audienceCode: string;
  /** Members-only sessions: the most active registrations of one organisation; empty for no limit. */
  perOrganisationLimit: string;
  questions: QuestionRowValues[];
  reminders: string;
  joinUrl: string;
  joinInstructions: string;
  emailTextConfirmation: string;
  emailTextWaitlisted: string;
  emailTextReminder: string;
  contactName: string;
  contactEmail: string;
}

export function newSessionValues(timezone: string, contact: { name: string; email: string }): SessionFormValues {
  return {
    title: '',
    summary: '',
    description: '',
    startsAt: '',
    endsAt: '',
    timezone,
    capacity: '',
    waitlist: true,
    waitlistLimit: '',
    waitlistMode: 'auto',
    ...offerDuration(DEFAULT_OFFER_MINUTES),
    approval: false,
    registrationOpensAt: '',
    registrationClosesAt: '',
    audience: 'public',
    audienceDomains: '',
    audienceCode: '',
    perOrganisationLimit: '',
    questions: [],
    reminders: '1440, 60',
    joinUrl: '',
    joinInstructions: '',
    emailTextConfirmation: '',
    emailTextWaitlisted: '',
    emailTextReminder: '',
    contactName: contact.name,
    contactEmail: contact.email,
  };
}

/** A stored session as the form shows it: times in the session's own zone. */
export function sessionFormValues(row: SessionRow): SessionFormValues {
  const local = (at: Date | null) => (at ? toLocalInput(at, row.timezone) : '');
  return {
    title: row.title,
    summary: row.summary ?? '',
    description: row.description ?? '',
    startsAt: local(row.startsAt),
    endsAt: local(row.endsAt),
    timezone: row.timezone,
    capacity: row.capacity === null ? '' : String(row.capacity),
    waitlist: row.waitlistEnabled,
    waitlistLimit: row.waitlistLimit === null ? '' : String(row.waitlistLimit),
    waitlistMode: row.waitlistMode,
    ...offerDuration(row.offerMinutes),
    approval: row.approval,
    registrationOpensAt: local(row.registrationOpensAt),
    registrationClosesAt: local(row.registrationClosesAt),
    audience: row.audience.kind,
    audienceDomains: row.audience.kind === 'domains' ? row.audience.domains.join(', ') : '',
    audienceCode: row.audience.kind === 'code' ? row.audience.code : '',
    perOrganisationLimit: row.audience.kind === 'members' && row.audience.perOrganisationLimit !== undefined ? String(row.audience.perOrganisationLimit) : '',
    questions: row.questions.map((question) => ({
      id: question.id,
      label: question.label,
      type: question.type,
      required: question.required,
      options: question.type === 'select' ? question.options.join('\n') : '',
    })),
    reminders: row.reminders.join(', '),
    joinUrl: row.joinUrl ?? '',
    joinInstructions: row.joinInstructions ?? '',
    emailTextConfirmation: row.emailTexts.confirmation ?? '',
    emailTextWaitlisted: row.emailTexts.waitlisted ?? '',
    emailTextReminder: row.emailTexts.reminder ?? '',
    contactName: row.contactName,
    contactEmail: row.contactEmail,
  };
}

const checked = (body: unknown, name: string) => booleanWord(formText(body, name)) === true;

/**
 * Reads a posted form (urlencoded, flat names). Question rows are `q<n>-label` and so on.
 * Browsers send a textarea's line breaks as CRLF: they are read as LF, as the API's clients
 * write them, so an edit that changes nothing does not look like a new description (and send
 * invite updates to everyone).
 */
export function readSessionForm(body: unknown): SessionFormValues {
  const text = (name: string) => formText(body, name).replace(/\r\n?/g, '\n');
  const questions: QuestionRowValues[] = [];
  for (let row = 0; row < MAX_QUESTIONS + EMPTY_QUESTION_ROWS; row += 1) {
    const prefix = `q${row}-`;
    const values = {
      id: text(`${prefix}id`),
      label: text(`${prefix}label`),
      type: text(`${prefix}type`) || 'text',
      required: checked(body, `${prefix}required`),
      options: text(`${prefix}options`),
    };
    // Rows left empty (the blank ones offered) are no question; dropping them here keeps the
    // rows' numbers the same for the errors and for the form shown again.
    const empty = !values.id && values.label.trim() === '' && values.options.trim() === '';
    if (!empty) questions.push(values);
  }
  return {
    title: text('title'),
    summary: text('summary'),
    description: text('description'),
    startsAt: text('startsAt'),
    endsAt: text('endsAt'),
    timezone: text('timezone'),
    capacity: text('capacity'),
    waitlist: checked(body, 'waitlist'),
    waitlistLimit: text('waitlistLimit'),
    waitlistMode: text('waitlistMode') || 'auto',
    offerFor: text('offerFor'),
    offerUnit: text('offerUnit') || 'hours',
    approval: checked(body, 'approval'),
    registrationOpensAt: text('registrationOpensAt'),
    registrationClosesAt: text('registrationClosesAt'),
    audience: text('audience') || 'public',
    audienceDomains: text('audienceDomains'),
    audienceCode: text('audienceCode'),
    perOrganisationLimit: text('perOrganisationLimit'),
    questions,
    reminders: text('reminders'),
    joinUrl: text('joinUrl'),
    joinInstructions: text('joinInstructions'),
    emailTextConfirmation: text('emailTextConfirmation'),
    emailTextWaitlisted: text('emailTextWaitlisted'),
    emailTextReminder: text('emailTextReminder'),
    contactName: text('contactName'),
    contactEmail: text('contactEmail'),
  };
}

/** The form's values as hidden inputs, to carry a change through its confirmation page. */
export function hiddenFields(values: SessionFormValues): Array<{ name: string; value: string }> {
  const fields: Array<{ name: string; value: string }> = [];
  for (const [name, value] of Object.entries(values)) {
    if (name === 'questions') continue;
    if (typeof value === 'boolean') {
      if (value) fields.push({ name, value: 'on' });
    } else fields.push({ name, value: String(value) });
  }
  values.questions.forEach((question, row) => {
    fields.push({ name: `q${row}-id`, value: question.id }, { name: `q${row}-label`, value: question.label });
    fields.push({ name: `q${row}-type`, value: question.type }, { name: `q${row}-options`, value: question.options });
    if (question.required) fields.push({ name: `q${row}-required`, value: 'on' });
  });
  return fields;
}

/**
 * Errors found while reading the form carry either an input path (`/startsAt`) or, for a
 * question row that has no place in the input, `@` and the field's name (`@q2-label`).
 */
export interface ReadInput {
  input: SessionInput;
  errors: FieldError[];
  /** The form row of each question of the input (empty rows are left out). */
  questionRows: number[];
}

const optional = (value: string): string | null => (value.trim() === '' ? null : value);
const list = (value: string): string[] => value.split(/[\s,;]+/).filter((item) => item !== '');

function wholeNumber(value: string): number | null | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return null;
  return /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : undefined;
}

function questionId(label: string, used: Set<string>): string {
  let base = slugify(label).slice(0, 36);
  if (!/^[a-z]/.test(base)) base = `q-${base}`.slice(0, 36);
  let id = base;
  for (let n = 2; used.has(id); n += 1) id = `${base}-${n}`;
  used.add(id);
  return id;
}

/**
 * The offer time in minutes, or null when left empty (the session keeps its time, a new one gets
 * the default) or refused (the error is added here, in the unit the organizer typed).
 */
function offerMinutesOf(values: SessionFormValues, errors: FieldError[]): number | null {
  const amount = wholeNumber(values.offerFor);
  const unit = values.offerUnit === 'minutes' ? 'minutes' : 'hours';
  if (amount === null) return null;
  if (amount === undefined) {
    errors.push({ path: '/waitlist/offerMinutes', message: `Hold an offered seat for a whole number of ${unit}` });
    return null;
  }
  const minutes = unit === 'hours' ? amount * 60 : amount;
  if (minutes < OFFER_MINUTES_MIN || minutes > OFFER_MINUTES_MAX) {
    errors.push({ path: '/waitlist/offerMinutes', message: 'Hold an offered seat for 1 minute to 168 hours (7 days)' });
    return null;
  }
  return minutes;
}

/** The audience radio's values; anything else posted is read as the first (anyone). */
const AUDIENCE_KINDS = ['public', 'domains', 'code', 'members'] as const;
type AudienceKind = (typeof AUDIENCE_KINDS)[number];

/**
 * The audience the form describes. Only the chosen kind's own field is read: what is left typed
 * in another kind's field (domains, a code, a limit) is not part of the session.
 */
function audienceOfForm(values: SessionFormValues, errors: FieldError[]): NonNullable<SessionInput['audience']> {
  const kind: AudienceKind = (AUDIENCE_KINDS as readonly string[]).includes(values.audience) ? (values.audience as AudienceKind) : 'public';
  switch (kind) {
    case 'domains': {
      const domains = list(values.audienceDomains);
      return domains.length > 0 ? { kind, domains } : { kind };
    }
    case 'code': {
      const code = values.audienceCode.trim();
      return code ? { kind, code } : { kind };
    }
    case 'members': {
      const limit = wholeNumber(values.perOrganisationLimit);
      if (limit === undefined) errors.push({ path: '/audience/perOrganisationLimit', message: 'must be a whole number, or empty for no limit' });
      return typeof limit === 'number' ? { kind, perOrganisationLimit: limit } : { kind };
    }
    case 'public':
      return { kind };
  }
}

// The API's own schema of a new session, so the form refuses exactly what the API refuses.
const validateCreate = createAjv({ coerceTypes: false }).compile(CreateSessionBody);

/**
 * The session input a form describes, and every error found on the way: the times read in the
 * chosen zone (a skipped hour or an unknown zone is an error at its field), then the API's schema.
 * The sessions service checks the rest (order of times, audience, question ids) when asked.
 */
export function sessionInputOfForm(values: SessionFormValues): ReadInput {
  const errors: FieldError[] = [];
  const zoneValid = isZone(values.timezone);
  if (!zoneValid) {
    errors.push({
      path: '/timezone',
      message: values.timezone ? `“${values.timezone}” is not a time zone we know: choose one from the list` : 'Choose a time zone',
    });
  }
  const time = (name: 'startsAt' | 'endsAt' | 'registrationOpensAt' | 'registrationClosesAt', required: boolean): string | null => {
    const value = values[name].trim();
    if (value === '') {
      if (required) errors.push({ path: `/${name}`, message: 'is required' });
      return null;
    }
    if (!zoneValid) return null;
    const reading = readLocalDateTime(value, values.timezone);
    if (!reading.ok) {
      errors.push({ path: `/${name}`, message: reading.message });
      return null;
    }
    return reading.instant.toISOString();
  };
  const startsAt = time('startsAt', true);
  const endsAt = time('endsAt', true);
  const registrationOpensAt = time('registrationOpensAt', false);
  const registrationClosesAt = time('registrationClosesAt', false);

  const capacity = wholeNumber(values.capacity);
  if (capacity === undefined) errors.push({ path: '/capacity', message: 'must be a whole number, or empty for unlimited' });
  const waitlistLimit = wholeNumber(values.waitlistLimit);
  if (waitlistLimit === undefined) errors.push({ path: '/waitlist/limit', message: 'must be a whole number, or empty for no limit' });
  const waitlistMode: WaitlistMode = values.waitlistMode === 'offer' ? 'offer' : 'auto';
  const offerMinutes = offerMinutesOf(values, errors);

  const reminders: number[] = [];
  for (const item of list(values.reminders)) {
    const minutes = wholeNumber(item);
    if (minutes === null || minutes === undefined) {
      errors.push({ path: '/reminders', message: `“${item}” is not a number of minutes` });
      break;
    }
    reminders.push(minutes);
  }

  const audience = audienceOfForm(values, errors);

  const used = new Set(values.questions.map((question) => question.id).filter(Boolean));
  const questions: NonNullable<SessionInput['questions']> = [];
  const questionRows: number[] = [];
  values.questions.forEach((row, index) => {
    const options = row.options.split(/\r?\n/).map((option) => option.trim()).filter(Boolean);
    if (row.label.trim() === '') {
      if (options.length > 0) errors.push({ path: `@q${index}-label`, message: 'is required for a question with options' });
      return;
    }
    const type = QUESTION_TYPES.some((known) => known.value === row.type) ? (row.type as Question['type']) : 'text';
    const question: NonNullable<SessionInput['questions']>[number] = {
      id: row.id || questionId(row.label, used),
      label: row.label.trim(),
      type,
      required: row.required,
    };
    // Without options the service says what a choice question lacks (the schema would only count them).
    if (type === 'select' && options.length > 0) question.options = options;
    questions.push(question);
    questionRows.push(index);
  });

  const input: SessionInput = {
    title: values.title,
    summary: optional(values.summary),
    description: optional(values.description),
    startsAt: startsAt ?? '',
    endsAt: endsAt ?? '',
    timezone: values.timezone,
    capacity: capacity ?? null,
    waitlist: { enabled: values.waitlist, limit: waitlistLimit ?? null, mode: waitlistMode, ...(offerMinutes === null ? {} : { offerMinutes }) },
    approval: values.approval,
    registrationOpensAt,
    registrationClosesAt,
    audience,
    questions,
    reminders,
    joinUrl: optional(values.joinUrl.trim()),
    joinInstructions: optional(values.joinInstructions),
    // Empty texts are dropped by the service: the e-mail then has none.
    emailTexts: { confirmation: values.emailTextConfirmation, waitlisted: values.emailTextWaitlisted, reminder: values.emailTextReminder },
    contact: { name: values.contactName.trim(), email: values.contactEmail.trim() },
  };

  if (!validateCreate(input)) {
    const reported = new Set(errors.map((error) => error.path));
    for (const error of fieldErrors((validateCreate.errors ?? []) as AjvIssue[], 'body')) {
      // A time already refused (or left unread for a bad zone) is not reported twice.
      if (reported.has(error.path) || (['/startsAt', '/endsAt'].includes(error.path) && !zoneValid)) continue;
      errors.push(error);
    }
  }
  return { input, errors, questionRows };
}

// ---------------------------------------------------------------------------------------------
// The fields and where each error goes

export interface SessionFormView {
  fields: Record<string, ConsoleFieldView>;
  audience: string;
  /** The audience radio group's error, if any (its first radio is the summary's target). */
  audienceError: string | null;
  questionRows: Array<{ legend: string; idValue: string; fields: ConsoleFieldView[] }>;
  errors: ConsoleErrorItem[];
}

/** What the API's paths are called on the form. */
const WORDS: Array<[RegExp, string]> = [
  [/\bstartsAt\b/g, 'Starts'],
  [/\bendsAt\b/g, 'Ends'],
  [/\bregistrationOpensAt\b/g, 'Registration opens'],
  [/must match format "uri"/, 'must be a web address, like https://meet.example.org/abc'],
  [/must match format "email"/, 'must be an e-mail address, like name@example.org'],
  [/must match pattern "\\S"/, 'is required'],
  [/is required when audience\.kind is (domains|code)/, 'is required for this audience'],
  [/^a select question needs options$/, 'Enter the options of a choice from a list, one per line'],
  [/must be >= (\d+)/, 'must be $1 or more'],
  [/must be <= (\d+)/, 'must be $1 or less'],
  [/must NOT have more than (\d+) items/, 'may have at most $1 entries'],
];

function worded(message: string): string {
  return WORDS.reduce((text, [pattern, words]) => text.replace(pattern, words), message);
}

/** The form field (by name) that an error path belongs to. */
function fieldNameOf(path: string, questionRows: number[]): string | null {
  if (path.startsWith('@')) return path.slice(1);
  const question = /^\/questions\/(\d+)(?:\/(\w+))?/.exec(path);
  if (question) {
    const row = questionRows[Number(question[1])];
    if (row === undefined) return 'q0-label';
    return `q${row}-${question[2] === 'options' ? 'options' : 'label'}`;
  }
  if (path === '/questions') return 'q0-label';
  if (path.startsWith('/audience/domains')) return 'audienceDomains';
  if (path.startsWith('/audience/code')) return 'audienceCode';
  if (path.startsWith('/audience/perOrganisationLimit')) return 'perOrganisationLimit';
  if (path.startsWith('/audience')) return 'audience';
  if (path === '/waitlist/limit') return 'waitlistLimit';
  if (path === '/waitlist/mode') return 'waitlistMode';
  if (path === '/waitlist/offerMinutes') return 'offerFor';
  if (path.startsWith('/waitlist')) return 'waitlist';
  if (path.startsWith('/reminders')) return 'reminders';
  if (path === '/contact/name' || path === '/contact') return 'contactName';
  const emailText = /^\/emailTexts\/(confirmation|waitlisted|reminder)$/.exec(path);
  if (emailText) return `emailText${emailText[1]![0]!.toUpperCase()}${emailText[1]!.slice(1)}`;
  if (path === '/contact/email') return 'contactEmail';
  const name = path.slice(1);
  return /^[A-Za-z]+$/.test(name) ? name : null;
}

/** One of the organizer's own paragraphs at the top of an e-mail kind (`emailTexts`). */
function emailTextField(name: string, label: string, value: string, example: string): ConsoleFieldView {
  return field({
    name,
    label,
    kind: 'textarea',
    value,
    rows: 3,
    // No maxlength: a pasted text would be cut silently; the error says how long it is.
    hint: `${example} Plain text, web addresses become links; up to ${EMAIL_TEXT_MAX_LENGTH.toLocaleString('en-US')} characters. Empty: none.`,
  });
}

export function sessionFormView(values: SessionFormValues, errors: FieldError[], questionRows: number[], formErrors: string[] = []): SessionFormView {
  const zones = timeZoneNames(values.timezone).map((zone) => ({ value: zone, text: zone.replace(/_/g, ' ') }));
  const localHint = 'In the time zone above.';
  const fields: Record<string, ConsoleFieldView> = {
    title: field({ name: 'title', label: 'Title', kind: 'text', value: values.title, required: true, maxlength: 200 }),
    summary: field({ name: 'summary', label: 'Summary', kind: 'text', value: values.summary, maxlength: 500, hint: 'One line shown in lists.' }),
    description: field({
      name: 'description',
      label: 'Description',
      kind: 'textarea',
      value: values.description,
      rows: 8,
      hint: 'Plain text; blank lines make paragraphs, lines starting with "- " make a list. At most 20,000 characters.',
    }),
    startsAt: field({ name: 'startsAt', label: 'Starts', kind: 'datetime-local', value: values.startsAt, required: true, hint: localHint }),
    endsAt: field({ name: 'endsAt', label: 'Ends', kind: 'datetime-local', value: values.endsAt, required: true, hint: localHint }),
    timezone: field({
      name: 'timezone',
      label: 'Time zone',
      kind: 'select',
      value: values.timezone,
      required: true,
      options: zones,
      hint: 'Starts, Ends and the registration window are read in this zone; attendees see it named.',
    }),
    capacity: field({ name: 'capacity', label: 'Capacity', kind: 'number', value: values.capacity, min: '0', step: '1', hint: 'Empty: unlimited.' }),
    waitlist: field({
      name: 'waitlist',
      label: 'Waitlist',
      kind: 'checkbox',
      checked: values.waitlist,
      hint: 'When the session is full, people may join a waitlist and get a seat that frees up, in order.',
    }),
    waitlistLimit: field({ name: 'waitlistLimit', label: 'Waitlist limit', kind: 'number', value: values.waitlistLimit, min: '0', step: '1', hint: 'Empty: no limit.' }),
    waitlistMode: field({
      name: 'waitlistMode',
      label: 'When a seat frees up',
      kind: 'select',
      value: values.waitlistMode,
      options: WAITLIST_MODES,
      hint: 'Offered: the first person waiting is e-mailed and holds the seat until the time below runs out, then it goes to the next. Close to the start, seats are given without an offer.',
    }),
    offerFor: field({
      name: 'offerFor',
      label: 'Hold an offered seat for',
      kind: 'number',
      value: values.offerFor,
      min: '1',
      step: '1',
      hint: 'From 1 minute to 168 hours (7 days).',
    }),
    offerUnit: field({ name: 'offerUnit', label: 'Unit of the offer time', kind: 'select', value: values.offerUnit, options: [...OFFER_UNITS] }),
    approval: field({
      name: 'approval',
      label: 'Require approval',
      kind: 'checkbox',
      checked: values.approval,
      hint: 'Each registration waits for a host to approve it in the People table; the person is told the request was received.',
    }),
    registrationOpensAt: field({ name: 'registrationOpensAt', label: 'Registration opens', kind: 'datetime-local', value: values.registrationOpensAt, hint: 'Empty: as soon as the session is published.' }),
    registrationClosesAt: field({ name: 'registrationClosesAt', label: 'Registration closes', kind: 'datetime-local', value: values.registrationClosesAt, hint: 'Empty: when the session ends.' }),
    audienceDomains: field({ name: 'audienceDomains', label: 'E-mail domains', kind: 'text', value: values.audienceDomains, hint: 'For “People at these e-mail domains”: separated by commas, like agency.gov, city.gov.' }),
    audienceCode: field({ name: 'audienceCode', label: 'Access code', kind: 'text', value: values.audienceCode, maxlength: 64, autocomplete: 'off', hint: 'For “People with an access code”: 4 to 64 characters.' }),
    perOrganisationLimit: field({
      name: 'perOrganisationLimit',
      label: 'Places per organisation',
      kind: 'number',
      value: values.perOrganisationLimit,
      min: '1',
      step: '1',
      hint: 'For “Members of the network”: the most people of one member organisation registered at once (waitlist and requests included). Empty: no limit.',
    }),
    reminders: field({ name: 'reminders', label: 'Reminders', kind: 'text', value: values.reminders, hint: 'Minutes before the start, separated by commas (1440 is a day before). Empty: no reminders. At most 5.' }),
    joinUrl: field({ name: 'joinUrl', label: 'Join URL', kind: 'url', value: values.joinUrl, maxlength: 2000, hint: 'The meeting link (https). Confirmed people get it shortly before the start.' }),
    joinInstructions: field({ name: 'joinInstructions', label: 'Join instructions', kind: 'textarea', value: values.joinInstructions, rows: 3, hint: 'Dial-in numbers, passcodes and the like.' }),
    emailTextConfirmation: emailTextField('emailTextConfirmation', 'Text for the confirmation', values.emailTextConfirmation, 'A welcome, what to prepare, where the slides will be.'),
    emailTextWaitlisted: emailTextField('emailTextWaitlisted', 'Text for the waitlist e-mail', values.emailTextWaitlisted, 'What waiting people should know.'),
    emailTextReminder: emailTextField('emailTextReminder', 'Text for the reminders', values.emailTextReminder, 'Said again before the start.'),
    contactName: field({ name: 'contactName', label: 'Contact name', kind: 'text', value: values.contactName, required: true, maxlength: 200, autocomplete: 'name' }),
    contactEmail: field({ name: 'contactEmail', label: 'Contact e-mail', kind: 'email', value: values.contactEmail, required: true, maxlength: 254, autocomplete: 'email' }),
  };
  // The audience is a radio group; an error for it sits on the group's first radio.
  const audienceField = field({ name: 'audience', id: 'f-audience-public', label: 'Audience', kind: 'text', value: values.audience });

  const rows = [...values.questions];
  const blanks = Math.max(0, Math.min(EMPTY_QUESTION_ROWS, MAX_QUESTIONS - rows.length));
  for (let n = 0; n < blanks; n += 1) rows.push({ id: '', label: '', type: 'text', required: false, options: '' });
  const questionRowsView = rows.map((row, index) => ({
    legend: row.id ? `Question ${index + 1}` : `Question ${index + 1} (new)`,
    idValue: row.id,
    fields: [
      field({ name: `q${index}-label`, label: 'Question', kind: 'text', value: row.label, maxlength: 200, hint: row.id ? 'Empty it to remove the question.' : 'Leave empty to skip.' }),
      field({ name: `q${index}-type`, label: 'Answer type', kind: 'select', value: row.type, options: QUESTION_TYPES }),
      field({ name: `q${index}-options`, label: 'Options', kind: 'textarea', value: row.options, rows: 3, hint: 'For a choice from a list: one option per line.' }),
      field({ name: `q${index}-required`, label: 'An answer is required', kind: 'checkbox', checked: row.required }),
    ],
  }));

  const all: ConsoleFieldView[] = [
    fields.title!, fields.summary!, fields.description!, fields.startsAt!, fields.endsAt!, fields.timezone!,
    fields.capacity!, fields.waitlist!, fields.waitlistLimit!, fields.waitlistMode!, fields.offerFor!, fields.offerUnit!, fields.approval!,
    fields.registrationOpensAt!, fields.registrationClosesAt!,
    audienceField, fields.audienceDomains!, fields.audienceCode!, fields.perOrganisationLimit!,
    ...questionRowsView.flatMap((row) => row.fields),
    fields.reminders!, fields.joinUrl!, fields.joinInstructions!,
    fields.emailTextConfirmation!, fields.emailTextWaitlisted!, fields.emailTextReminder!,
    fields.contactName!, fields.contactEmail!,
  ];
  const byName = new Map(all.map((f) => [f.name, f]));
  const unplaced = [...formErrors];
  for (const error of errors) {
    const name = fieldNameOf(error.path, questionRows);
    const target = name ? byName.get(name) : undefined;
    const message = worded(error.message);
    if (!target) {
      unplaced.push(`${error.path.replace(/^[/@]/, '').replace(/\//g, ' ')} ${message}`);
      continue;
    }
    // A message that is a sentence of its own stands alone; one that goes on from the field's name gets it.
    const text = /^[A-Z0-9“]/.test(message) ? message : `${target.label} ${message}`;
    if (target.error?.endsWith(message)) continue;
    target.error = target.error ? `${target.error}; ${message}` : text;
  }
  focusFirstError(all);
  return {
    fields,
    audience: values.audience,
    questionRows: questionRowsView,
    audienceError: audienceField.error ?? null,
    errors: errorSummary(all, unplaced),
  };
}
