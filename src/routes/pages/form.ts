import type { SessionRow } from '../../../db/schema/index.js';
import type { FieldError } from '../../errors.js';
import { fieldErrors, type AjvIssue } from '../../plugins/errors.js';
import { createAjv } from '../../plugins/validation.js';
import { CONSENT } from '../../services/consent.js';
import { normalizeEmail } from '../../services/email-address.js';
import { TEXT_ANSWER_MAX, TEXTAREA_ANSWER_MAX, validateAnswers } from '../../services/registrations/answers.js';
import type { RegistrationInput } from '../../services/registrations/index.js';
import { booleanWord } from '../../text.js';
import type { FieldView, FormView } from '../../web/views.js';
import { RegisterBody } from '../registrations/schemas.js';

/** The honeypot: hidden from people (CSS, aria-hidden, tabindex -1), filled by naive bots. */
export const HONEYPOT = 'website';

/** What a person typed, as text, to put back into the form. */
export interface FormValues {
  name: string;
  email: string;
  organization: string;
  jobTitle: string;
  accessCode: string;
  consent: boolean;
  answers: Record<string, string>;
}

export const EMPTY_FORM: FormValues = { name: '', email: '', organization: '', jobTitle: '', accessCode: '', consent: false, answers: {} };

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export interface ReadForm {
  values: FormValues;
  /** The body the JSON API would get for the same registration. */
  body: Record<string, unknown>;
  honeypotFilled: boolean;
}

/**
 * Turns a urlencoded form post (parsed by qs: `answers[city]` is a nested object) into the body
 * of the JSON API: empty optional fields are left out, as a JSON client would, and the consent
 * checkbox becomes a boolean. Everything else passes as it came, so the schema check below
 * refuses exactly what the API refuses.
 */
export function readForm(raw: unknown): ReadForm {
  const input: Record<string, unknown> = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {};
  const honeypotFilled = text(input[HONEYPOT]).trim() !== '';
  delete input[HONEYPOT];

  const rawAnswers = input.answers;
  const answers: Record<string, string> = {};
  if (rawAnswers !== null && typeof rawAnswers === 'object' && !Array.isArray(rawAnswers)) {
    for (const [key, value] of Object.entries(rawAnswers as Record<string, unknown>)) answers[key] = text(value);
  }
  const values: FormValues = {
    name: text(input.name),
    email: text(input.email),
    organization: text(input.organization),
    jobTitle: text(input.jobTitle),
    accessCode: text(input.accessCode),
    consent: input.consent === true || booleanWord(text(input.consent)) === true,
    answers,
  };

  const body: Record<string, unknown> = { ...input, consent: values.consent };
  for (const optional of ['organization', 'jobTitle', 'accessCode']) {
    if (input[optional] === '') delete body[optional];
  }
  // The zone our script puts in the hidden field is a hint: empty (no script) or sent twice, it is
  // left out rather than refused; the service keeps only a zone it knows.
  if (text(input.timezone) === '') delete body.timezone;
  if (input.answers === undefined) delete body.answers;
  if (input.name === undefined) body.name = '';
  if (input.email === undefined) body.email = '';
  return { values, body, honeypotFilled };
}

// The API's own body validator and error wording, but a form speaks of fields, and a type
// error there can only be a field sent twice.
const validateBody = createAjv({ coerceTypes: false }).compile(RegisterBody);
const FORM_WORDING = { unknown: 'is not an allowed field', type: () => 'must be a single value' };

/**
 * The API's schema check of the body: the input for the registration service, or the field
 * errors. The API stops at the schema's errors; a form also lists what the service would say
 * about the other fields (answers, consent, the address), so a person fixes everything at once.
 * Either way the registration is refused exactly when the API would refuse it.
 */
export function checkBody(
  session: SessionRow,
  body: Record<string, unknown>,
  values: FormValues,
): { input: RegistrationInput; errors: null } | { input: null; errors: FieldError[] } {
  if (validateBody(body)) return { input: body as unknown as RegistrationInput, errors: null };
  const errors = fieldErrors((validateBody.errors ?? []) as AjvIssue[], 'body', FORM_WORDING);
  const reported = new Set(errors.map((error) => error.path));
  const more: FieldError[] = [];
  if (!reported.has('/email') && normalizeEmail(values.email) === null) more.push({ path: '/email', message: 'must be an e-mail address' });
  if (!reported.has('/answers') && ![...reported].some((path) => path.startsWith('/answers/'))) {
    validateAnswers(session.questions, values.answers, more);
  }
  if (!values.consent) more.push({ path: '/consent', message: 'must be accepted to register' });
  const order = ['/name', '/email', '/organization', '/jobTitle', '/answers', '/accessCode', '/consent'];
  const rank = (path: string) => {
    const index = order.findIndex((prefix) => path === prefix || path.startsWith(`${prefix}/`));
    return index === -1 ? order.length : index;
  };
  return { input: null, errors: [...errors, ...more.filter((error) => !reported.has(error.path))].sort((a, b) => rank(a.path) - rank(b.path)) };
}

// ---------------------------------------------------------------------------------------------
// The form's fields

const FIELD_IDS: Record<string, string> = {
  '/name': 'f-name',
  '/email': 'f-email',
  '/organization': 'f-organization',
  '/jobTitle': 'f-jobTitle',
  '/accessCode': 'f-accessCode',
  '/consent': 'f-consent',
};

const questionFieldId = (questionId: string) => `f-q-${questionId}`;

function fieldIdOf(path: string, session: SessionRow): string | null {
  if (FIELD_IDS[path]) return FIELD_IDS[path]!;
  const answer = /^\/answers\/([^/]+)$/.exec(path)?.[1];
  if (answer && session.questions.some((question) => question.id === answer)) return questionFieldId(answer);
  return null;
}

function field(partial: Partial<FieldView> & Pick<FieldView, 'id' | 'name' | 'label' | 'kind'>): FieldView {
  return {
    value: '',
    checked: false,
    required: false,
    options: [],
    hint: null,
    error: null,
    autocomplete: null,
    autofocus: false,
    maxlength: null,
    ...partial,
  };
}

export interface FormOptions {
  action: string;
  submitLabel: string;
  values: FormValues;
  errors: FieldError[];
}

/**
 * Who may register, said under the e-mail field (the address is what decides). A members-only
 * session names no member: the list is the network's, and the refusal names none either.
 */
function whoMayRegister(audience: SessionRow['audience']): string {
  switch (audience.kind) {
    case 'domains':
      return ` Open to addresses at ${audience.domains.join(', ')}.`;
    case 'members': {
      const limit = audience.perOrganisationLimit;
      const places = limit === undefined ? '' : ` At most ${limit} ${limit === 1 ? 'place' : 'places'} per organisation.`;
      return ` Open to people of the network's member organisations: register with your work address.${places}`;
    }
    default:
      return '';
  }
}

/** The registration form of a session, with the values typed so far and the errors next to their fields. */
export function formView(session: SessionRow, { action, submitLabel, values, errors }: FormOptions): FormView {
  const audience = session.audience;
  const fields: FieldView[] = [
    field({ id: 'f-name', name: 'name', label: 'Full name', kind: 'text', value: values.name, required: true, autocomplete: 'name', maxlength: 200 }),
    field({
      id: 'f-email',
      name: 'email',
      label: 'E-mail address',
      kind: 'email',
      value: values.email,
      required: true,
      autocomplete: 'email',
      maxlength: 254,
      hint: `We send your invite and your personal link here.${whoMayRegister(audience)}`,
    }),
    field({ id: 'f-organization', name: 'organization', label: 'Organisation', kind: 'text', value: values.organization, autocomplete: 'organization', maxlength: 200 }),
    field({ id: 'f-jobTitle', name: 'jobTitle', label: 'Job title', kind: 'text', value: values.jobTitle, autocomplete: 'organization-title', maxlength: 200 }),
  ];
  for (const question of session.questions) {
    const value = values.answers[question.id] ?? '';
    const base = { id: questionFieldId(question.id), name: `answers[${question.id}]`, label: question.label, required: question.required };
    if (question.type === 'checkbox') fields.push(field({ ...base, kind: 'checkbox', checked: booleanWord(value) === true }));
    else if (question.type === 'select') fields.push(field({ ...base, kind: 'select', value, options: question.options }));
    else if (question.type === 'textarea') fields.push(field({ ...base, kind: 'textarea', value, maxlength: TEXTAREA_ANSWER_MAX }));
    else fields.push(field({ ...base, kind: 'text', value, maxlength: TEXT_ANSWER_MAX }));
  }
  if (audience.kind === 'code') {
    fields.push(
      field({
        id: 'f-accessCode',
        name: 'accessCode',
        label: 'Access code',
        kind: 'text',
        value: values.accessCode,
        required: true,
        autocomplete: 'off',
        maxlength: 64,
        hint: 'The code from your invitation.',
      }),
    );
  }
  const consent = field({
    id: 'f-consent',
    name: 'consent',
    label: CONSENT.text,
    kind: 'checkbox',
    checked: values.consent,
    required: true,
  });

  const all = [...fields, consent];
  const byId = new Map(all.map((f) => [f.id, f]));
  const summary: FormView['errors'] = [];
  for (const error of errors) {
    const id = fieldIdOf(error.path, session);
    const target = id ? byId.get(id) : undefined;
    if (!target) {
      summary.push({ href: null, text: `${error.path.replace(/^\//, '') || 'The form'} ${error.message}` });
      continue;
    }
    const message = friendly(target, target === consent, error.message);
    if (target.error === null) {
      target.error = message;
      summary.push({ href: `#${target.id}`, text: message });
    }
  }
  // Focus goes to the first field with an error, in the order of the form.
  const first = all.find((f) => f.error !== null);
  if (first) first.autofocus = true;
  return { action, submitLabel, fields, consent, honeypotName: HONEYPOT, errors: summary, focusSummary: summary.length > 0 && !first };
}

/** Says what to do, in the words of the form (the API's messages name JSON paths). */
function friendly(target: FieldView, isConsent: boolean, message: string): string {
  const missing = message === 'is required' || message.startsWith('must be at least');
  if (isConsent) return 'Tick the box to agree, so that we can register you';
  switch (target.id) {
    case 'f-name':
      return missing ? 'Enter your full name' : `Full name ${message}`;
    case 'f-email':
      if (message.startsWith('must be at most')) return `E-mail address ${message}`;
      if (missing || message === 'must be an e-mail address' || message === 'must be a single value') {
        return 'Enter an e-mail address, like name@example.org';
      }
      return message;
    case 'f-accessCode':
      return missing ? 'Enter the access code from your invitation' : message;
    default:
      break;
  }
  if (target.kind === 'checkbox' && (message === 'must be checked' || missing)) return `Tick “${target.label}”`;
  if (missing) return target.kind === 'select' ? `Choose an answer for “${target.label}”` : `Answer “${target.label}”`;
  return `${target.label}: ${message}`;
}

/** A message that is not about one field (full, closed ...), shown in the error summary. */
export function formWithMessage(view: FormView, message: string): FormView {
  return { ...view, errors: [{ href: null, text: message }, ...view.errors], focusSummary: !view.fields.some((f) => f.autofocus) };
}
