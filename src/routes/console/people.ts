import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ACTIVE_STATUSES, registrationStatus, type RegistrationStatus, type SessionRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, NotFoundError, type FieldError } from '../../errors.js';
import { DEFAULT_EXPORT_STATUSES, type ExportFormat, type ExportsService } from '../../services/exports.service.js';
import type { RegistrationDetail, RegistrationsService } from '../../services/registrations/index.js';
import { effectiveStatus, type SessionsService } from '../../services/sessions.service.js';
import { sessionTimeText, shortInstantText } from '../../text.js';
import { PEOPLE_TEMPLATES } from '../../web/console/people-templates.js';
import type { CancelPersonData, DeclinePersonData, PeoplePageData, PeopleRow } from '../../web/console/people-views.js';
import { createExportStreamer, type ExportSlots } from '../exports/stream.js';
import { IdParams } from '../schemas.js';
import {
  addConsoleTemplates,
  consoleContext,
  errorSummary,
  field,
  focusFirstError,
  formText,
  redirect303,
  renderConsoleTemplate,
  sendConsolePage,
  withFieldErrors,
  type ConsoleFieldView,
  type ConsoleFlash,
} from './layout.js';
import { isUuid } from '../../ids.js';

addConsoleTemplates(PEOPLE_TEMPLATES);

export interface ConsolePeoplePagesOptions {
  sessions: SessionsService;
  registrations: RegistrationsService;
  exports: ExportsService;
  /** The export slots shared with the API (src/app.ts). */
  exportSlots: ExportSlots;
  clock: Clock;
}

/** Rows per page of the people table. */
export const PEOPLE_PAGE_SIZE = 100;

const STATUS_WORDS: Record<RegistrationStatus, { text: string; tone: PeopleRow['statusTone'] }> = {
  confirmed: { text: 'Confirmed', tone: 'good' },
  waitlisted: { text: 'Waitlisted', tone: 'info' },
  cancelled: { text: 'Cancelled', tone: 'muted' },
  pending: { text: 'Awaiting approval', tone: 'info' },
  offered: { text: 'Seat offered', tone: 'info' },
  declined: { text: 'Declined', tone: 'muted' },
  expired: { text: 'Offer expired', tone: 'muted' },
};

const STATUS_CHOICES = [
  { value: '', text: 'Current registrations' },
  { value: 'confirmed', text: 'Confirmed' },
  { value: 'waitlisted', text: 'Waitlisted (in waitlist order)' },
  { value: 'pending', text: STATUS_WORDS.pending.text },
  { value: 'offered', text: STATUS_WORDS.offered.text },
  { value: 'cancelled', text: 'Cancelled' },
  { value: 'declined', text: STATUS_WORDS.declined.text },
  { value: 'expired', text: STATUS_WORDS.expired.text },
  { value: 'all', text: 'Everyone, whatever the status' },
];

/** What the default choice lists, said in the table's caption (too long for the select). */
const CURRENT_CAPTION = 'Confirmed, waitlisted, awaiting approval and offered';

/** The orders of the table ('' is the default, by registration time: the API's `sort`). */
const SORT_CHOICES = [
  { value: '', text: 'Registration time' },
  { value: 'name', text: 'Name' },
];

const ATTENDANCE_CHOICES = [
  { value: '', text: 'Any' },
  { value: 'attended', text: 'Attended (checked in or joined)' },
  { value: 'no-show', text: 'Confirmed, not checked in or joined' },
];

/** The statuses each choice of the status filter lists (the API's `status` parameter). */
const STATUSES_OF: Record<string, RegistrationStatus[]> = {
  '': [...ACTIVE_STATUSES],
  ...Object.fromEntries(registrationStatus.enumValues.map((status) => [status, [status]])),
  all: [...registrationStatus.enumValues],
};

/** The most requests one "Approve selected" takes: the API's limit on the ids of a bulk approval. */
export const BULK_APPROVE_MAX = 500;
/** The API's limit on a decline's reason. */
const DECLINE_REASON_MAX = 2000;

const DONE: Record<string, ConsoleFlash> = {
  added: { tone: 'good', text: 'The person is added and is being e-mailed their confirmation.' },
  'checked-in': { tone: 'good', text: 'Checked in.' },
  cancelled: { tone: 'info', text: 'The registration is cancelled and the person is being e-mailed; the first person waiting, if any, got the seat.' },
};

/** Messages after an action on one person, named by the registration's id in the query (its name is read back, never taken from the query). */
const DONE_FOR_PERSON: Record<string, (person: { name: string; waitlistPosition: number | null }) => ConsoleFlash> = {
  'approved-confirmed': (person) => ({ tone: 'good', text: `${person.name} is confirmed and is being e-mailed the confirmation with the calendar invite.` }),
  'approved-waitlisted': (person) => ({
    tone: 'info',
    text: `${person.name} joins the waitlist${person.waitlistPosition ? ` (place ${person.waitlistPosition})` : ''} and is being e-mailed: the session has no free seat, or others were waiting first.`,
  }),
  declined: (person) => ({ tone: 'info', text: `${person.name} is declined; they are e-mailed.` }),
};

/** What one "Approve selected" did, counted by outcome. */
interface BulkCounts {
  confirmed: number;
  waitlisted: number;
  full: number;
  skipped: number;
}

function bulkFlash(counts: BulkCounts): ConsoleFlash {
  const approved = [counts.confirmed ? `${counts.confirmed} confirmed` : '', counts.waitlisted ? `${counts.waitlisted} waitlisted` : ''].filter(Boolean);
  const sentences = [approved.length > 0 ? `Approved in the order of the table: ${approved.join(', ')}; each is being e-mailed.` : 'Nobody was approved.'];
  if (counts.full) sentences.push(`${counts.full} left awaiting approval because the session is full and its waitlist is closed.`);
  if (counts.skipped) sentences.push(`${counts.skipped} no longer awaiting approval, so left as they were.`);
  return { tone: counts.full || counts.skipped || approved.length === 0 ? 'info' : 'good', text: sentences.join(' ') };
}

/** The ticked ids of the bulk form as posted, in their order; null when the form was not understood. */
function postedIds(body: unknown): string[] | null {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>).ids : undefined;
  if (value === undefined) return [];
  const ids = typeof value === 'string' ? [value] : Array.isArray(value) ? value : null;
  if (!ids || !ids.every((id): id is string => typeof id === 'string' && isUuid(id))) return null;
  // A repeated id is approved once, where it first appears (the API refuses duplicates).
  return [...new Set(ids)];
}

/** A service's refusal ("This session has ended") said after a name: "Nothing changed for Ana Reyes: this session has ended." */
const continued = (detail: string) => `${detail.charAt(0).toLowerCase()}${detail.slice(1).replace(/\.$/, '')}`;

/** The API's limits on a person's fields (OrganizerRegisterBody), as the form's field errors. */
const PERSON_LIMITS: Array<{ name: string; label: string; max: number }> = [
  { name: 'name', label: 'Name', max: 200 },
  { name: 'email', label: 'E-mail', max: 254 },
  { name: 'organization', label: 'Organisation', max: 200 },
  { name: 'jobTitle', label: 'Job title', max: 200 },
];

const Q_MAX = 200;

/** The member organisation filter's choice for registrations that recorded none (the API's `organisationId=none`). */
const NO_ORGANISATION = 'none';

interface Filters {
  q: string;
  status: string;
  attendance: '' | 'attended' | 'no-show';
  /** '' (any), NO_ORGANISATION, or the id of a member organisation recorded by the session's registrations. */
  organisationId: string;
  sort: '' | 'name';
  cursor: string;
}

/**
 * The filters of a query string; an unknown choice is read as none (a hand-edited address is not
 * an error). An organisation id is checked against the session's own choices by the page.
 */
function readFilters(query: unknown): Filters {
  const text = (name: string) => formText(query, name);
  const status = Object.hasOwn(STATUSES_OF, text('status')) ? text('status') : '';
  const attendance = text('attendance') === 'attended' || text('attendance') === 'no-show' ? (text('attendance') as Filters['attendance']) : '';
  const organisation = text('organisationId').toLowerCase();
  const organisationId = organisation === NO_ORGANISATION || isUuid(organisation) ? organisation : '';
  const sort = text('sort') === 'name' ? 'name' : '';
  return { q: text('q').trim().slice(0, Q_MAX), status, attendance, organisationId, sort, cursor: text('cursor') };
}

function queryOf(filters: Filters, cursor = ''): string {
  const query = new URLSearchParams();
  if (filters.q) query.set('q', filters.q);
  if (filters.status) query.set('status', filters.status);
  if (filters.attendance) query.set('attendance', filters.attendance);
  if (filters.organisationId) query.set('organisationId', filters.organisationId);
  if (filters.sort) query.set('sort', filters.sort);
  if (cursor) query.set('cursor', cursor);
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** The status choice in the caption: "in waitlist order" is untrue of a table sorted by name. */
function captionStatus(statusText: string, sort: Filters['sort']): string {
  return sort === 'name' ? statusText.replace(/ \(in waitlist order\)$/, '') : statusText;
}

/** The values typed into the add-by-hand form, to show them again with their errors. */
interface AddValues {
  fields: Record<string, string>;
  answers: Record<string, string>;
  force: boolean;
}

const emptyAdd = (): AddValues => ({ fields: {}, answers: {}, force: false });

/**
 * The people of a session (console.md, `/console/sessions/{id}/registrations`): the table from
 * the same service call as `GET /api/v1/sessions/{id}/registrations` (one query per page), check
 * in and cancel (after a confirmation page) through the same calls as the API, adding someone
 * by hand (`force` beyond capacity, as the API allows any host), and the API's exports under the
 * console session. The hosts rule guards the whole /console/sessions/:id subtree (index.ts).
 */
export async function consolePeoplePages(app: FastifyInstance, { sessions, registrations, exports, exportSlots, clock }: ConsolePeoplePagesOptions): Promise<void> {
  const hidden = { hide: true } as const;
  const byId = { schema: { ...hidden, params: IdParams } };
  const byRegistration = {
    schema: {
      ...hidden,
      params: Type.Object({ id: Type.String({ format: 'uuid' }), registrationId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
    },
  };
  type ById = FastifyRequest<{ Params: { id: string } }>;
  type ByRegistration = FastifyRequest<{ Params: { id: string; registrationId: string } }>;
  const base = (id: string) => `/console/sessions/${id}`;
  const streamExport = createExportStreamer(exports, exportSlots);

  /** When an offer runs (or ran) out, or when a request was declined: said beside the status, in the session's zone. */
  function statusNote(row: RegistrationDetail, zone: string): PeopleRow['statusNote'] {
    const at = row.status === 'offered' || row.status === 'expired' ? row.offerExpiresAt : row.status === 'declined' ? row.declinedAt : null;
    if (!at) return null;
    const words = { offered: 'until', expired: 'ran out', declined: 'on' } as const;
    return { text: words[row.status as keyof typeof words], timeText: shortInstantText(at, zone), iso: at.toISOString() };
  }

  function personRow(row: RegistrationDetail, sessionBase: string, zone: string, back: string, decides: boolean): PeopleRow {
    const attendance = [
      row.checkedInAt ? `Checked in ${shortInstantText(row.checkedInAt, zone)}` : '',
      row.firstJoinedAt ? `Joined ${shortInstantText(row.firstJoinedAt, zone)}` : '',
    ].filter(Boolean);
    const awaiting = row.status === 'pending' && decides;
    const ended = row.status === 'cancelled' || row.status === 'declined' || row.status === 'expired';
    return {
      id: row.id,
      name: row.name,
      email: row.email,
      organization: row.organization ?? '',
      memberOrganisation: row.organisationName ?? '',
      statusText: STATUS_WORDS[row.status].text,
      statusTone: STATUS_WORDS[row.status].tone,
      statusNote: statusNote(row, zone),
      position: row.waitlistPosition === null ? '' : String(row.waitlistPosition),
      registeredText: shortInstantText(row.registeredAt, zone),
      registeredIso: row.registeredAt.toISOString(),
      attendanceText: attendance.join('; '),
      checkIn: row.status === 'confirmed' && row.checkedInAt === null,
      approve: awaiting,
      declineHref: awaiting ? `${sessionBase}/registrations/${row.id}/decline${back}` : null,
      // A request is declined rather than cancelled; an ended registration has nothing left to cancel.
      cancelHref: ended || row.status === 'pending' ? null : `${sessionBase}/registrations/${row.id}/cancel${back}`,
      forced: row.forced,
    };
  }

  function addForm(row: SessionRow, values: AddValues, errors: FieldError[], formErrors: string[]): NonNullable<PeoplePageData['add']> {
    const text = (name: string) => values.fields[name] ?? '';
    const fields = [
      field({ name: 'name', id: 'f-add-name', label: 'Name', kind: 'text', value: text('name'), required: true, maxlength: 200, autocomplete: 'off' }),
      field({ name: 'email', id: 'f-add-email', label: 'E-mail', kind: 'email', value: text('email'), required: true, maxlength: 254, autocomplete: 'off' }),
      field({ name: 'organization', id: 'f-add-organization', label: 'Organisation', kind: 'text', value: text('organization'), maxlength: 200, autocomplete: 'off' }),
      field({ name: 'jobTitle', id: 'f-add-jobTitle', label: 'Job title', kind: 'text', value: text('jobTitle'), maxlength: 200, autocomplete: 'off' }),
    ];
    const questions: ConsoleFieldView[] = row.questions.map((question) => {
      const name = `answer-${question.id}`;
      const value = values.answers[question.id] ?? '';
      const common = { name, id: `f-add-answer-${question.id}`, label: question.label, required: question.required };
      if (question.type === 'checkbox') return field({ ...common, kind: 'checkbox', checked: value !== '' });
      if (question.type === 'select') {
        return field({ ...common, kind: 'select', value, options: [{ value: '', text: 'Choose…' }, ...question.options.map((option) => ({ value: option, text: option }))] });
      }
      return field({ ...common, kind: question.type === 'textarea' ? 'textarea' : 'text', value, rows: 3 });
    });
    const force = field({
      name: 'force',
      id: 'f-add-force',
      label: 'Confirm even if the session is full (beyond capacity; recorded in the audit log)',
      kind: 'checkbox',
      checked: values.force,
    });
    const all = [...fields, ...questions, force];
    const paths: Record<string, string> = { '/name': 'name', '/email': 'email', '/organization': 'organization', '/jobTitle': 'jobTitle' };
    for (const question of row.questions) paths[`/answers/${question.id}`] = `answer-${question.id}`;
    const unplaced = withFieldErrors(all, errors, paths);
    focusFirstError(all);
    return { fields, questions, force, errors: errorSummary(all, [...unplaced, ...formErrors]) };
  }

  async function peoplePage(
    request: FastifyRequest,
    reply: FastifyReply,
    sessionId: string,
    typedFilters: Filters,
    add: { values: AddValues; errors: FieldError[]; formErrors: string[] } = { values: emptyAdd(), errors: [], formErrors: [] },
    status = 200,
    flash: ConsoleFlash | null = null,
  ): Promise<FastifyReply> {
    const { csrf } = consoleContext(request);
    // The filter offers the member organisations this session's people recorded; any other id is no filter.
    const recorded = await registrations.organisationsOf(sessionId);
    const chosenOrganisation = recorded.find((organisation) => organisation.id === typedFilters.organisationId) ?? null;
    const filters: Filters =
      chosenOrganisation || typedFilters.organisationId === NO_ORGANISATION ? typedFilters : { ...typedFilters, organisationId: '' };
    // The same call (and queries) as GET /api/v1/sessions/{id}/registrations; the session it
    // answers with is the one this page shows, so the page costs no read of its own.
    const page = await registrations.list(sessionId, {
      statuses: STATUSES_OF[filters.status],
      attendance: filters.attendance || undefined,
      organisationId: filters.organisationId === NO_ORGANISATION ? null : filters.organisationId || undefined,
      q: filters.q || undefined,
      sort: filters.sort === 'name' ? 'name' : 'registered',
      cursor: filters.cursor || undefined,
      limit: PEOPLE_PAGE_SIZE,
    });
    const row = page.session;
    const zone = row.timezone;
    const sessionBase = base(row.id);
    const back = queryOf(filters, filters.cursor);
    const sessionStatus = effectiveStatus(row, clock.now());
    const open = sessionStatus === 'draft' || sessionStatus === 'published';
    const rows = page.items.map((item) => personRow(item, sessionBase, zone, back, open));
    const statusText = filters.status === '' ? CURRENT_CAPTION : STATUS_CHOICES.find((choice) => choice.value === filters.status)!.text;
    const sortHref = (sort: Filters['sort']) => `${sessionBase}/registrations${queryOf({ ...filters, sort })}`;
    const data: PeoplePageData = {
      csrf,
      base: sessionBase,
      title: row.title,
      whenText: sessionTimeText(row.startsAt, row.endsAt, zone),
      zone,
      counts: {
        confirmed: row.confirmedCount,
        capacity: row.capacity,
        waitlisted: row.waitlistedCount,
        cancelled: row.cancelledCount,
        pending: row.pendingCount,
        offered: row.offeredCount,
      },
      filters: {
        q: field({ name: 'q', id: 'f-q', label: 'Search by name or e-mail', kind: 'search', value: filters.q, maxlength: Q_MAX, autocomplete: 'off' }),
        status: field({ name: 'status', id: 'f-status', label: 'Status', kind: 'select', value: filters.status, options: STATUS_CHOICES }),
        attendance: field({ name: 'attendance', id: 'f-attendance', label: 'Attendance', kind: 'select', value: filters.attendance, options: ATTENDANCE_CHOICES }),
        organisation: field({
          name: 'organisationId',
          id: 'f-organisation',
          label: 'Member organisation',
          kind: 'select',
          value: filters.organisationId,
          options: [
            { value: '', text: 'Any' },
            { value: NO_ORGANISATION, text: 'None (not a member’s address)' },
            ...recorded.map((organisation) => ({ value: organisation.id, text: organisation.name })),
          ],
        }),
        sort: field({ name: 'sort', id: 'f-sort', label: 'Sort by', kind: 'select', value: filters.sort, options: SORT_CHOICES }),
        active: Boolean(filters.q || filters.status || filters.attendance || filters.organisationId),
        // The order is no filter: clearing keeps it.
        clearHref: `${sessionBase}/registrations${queryOf({ q: '', status: '', attendance: '', organisationId: '', sort: filters.sort, cursor: '' })}`,
      },
      caption: `${captionStatus(statusText, filters.sort)}${filters.attendance ? `, ${ATTENDANCE_CHOICES.find((c) => c.value === filters.attendance)!.text.toLowerCase()}` : ''}${
        chosenOrganisation ? `, of ${chosenOrganisation.name}` : filters.organisationId === NO_ORGANISATION ? ', of no member organisation' : ''
      }${filters.q ? `, matching “${filters.q}”` : ''}, ${filters.sort === 'name' ? 'by name' : 'in order of registration'}`,
      sortedBy: filters.sort === 'name' ? 'name' : 'registered',
      sortHrefs: { name: sortHref('name'), registered: sortHref('') },
      rows,
      back,
      bulkApprove: rows.some((person) => person.approve) ? { action: `${sessionBase}/registrations/approve${back}` } : null,
      nextHref: page.nextCursor ? `${sessionBase}/registrations${queryOf(filters, page.nextCursor)}` : null,
      firstHref: filters.cursor ? `${sessionBase}/registrations${queryOf(filters)}` : null,
      exports: (['csv', 'xlsx', 'json'] as const).map((format) => ({
        href: `${sessionBase}/attendees.${format}`,
        text: format === 'csv' ? 'CSV' : format === 'xlsx' ? 'Excel' : 'JSON',
      })),
      add: open ? addForm(row, add.values, add.errors, add.formErrors) : null,
      addNote: open ? null : sessionStatus === 'cancelled' ? 'The session is cancelled: nobody can be added.' : 'The session has ended: nobody can be added.',
    };
    const hasErrors = (data.add?.errors.length ?? 0) > 0;
    return sendConsolePage(request, reply, {
      title: `${hasErrors ? 'Error: ' : ''}People · ${row.title}`,
      bodyHtml: renderConsoleTemplate('@console-people', data),
      status,
      flash,
      section: 'sessions',
    });
  }

  /** The person an action named (`who`), for its message; null for an id that is not one of this session's. */
  async function personNamed(sessionId: string, who: string): Promise<RegistrationDetail | null> {
    if (!isUuid(who)) return null;
    try {
      return await registrations.getOfSession(sessionId, who);
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }

  /** The message a redirect after an action asks for, by fixed words and numbers in the query. */
  async function flashOf(sessionId: string, query: unknown): Promise<ConsoleFlash | null> {
    const done = formText(query, 'done');
    if (Object.hasOwn(DONE, done)) return DONE[done]!;
    if (Object.hasOwn(DONE_FOR_PERSON, done)) {
      const person = await personNamed(sessionId, formText(query, 'who'));
      return DONE_FOR_PERSON[done]!(person ?? { name: 'The person', waitlistPosition: null });
    }
    if (done === 'approved-selected') {
      const count = (name: string) => {
        const text = formText(query, name);
        return /^\d{1,3}$/.test(text) ? Math.min(Number(text), BULK_APPROVE_MAX) : 0;
      };
      return bulkFlash({ confirmed: count('confirmed'), waitlisted: count('waitlisted'), full: count('full'), skipped: count('skipped') });
    }
    return null;
  }

  app.get('/sessions/:id/registrations', byId, async (request: ById, reply) => {
    const flash = await flashOf(request.params.id, request.query);
    return peoplePage(request, reply, request.params.id, readFilters(request.query), undefined, 200, flash);
  });

  // Add someone by hand: the same addByOrganizer (and audit entry) as POST /api/v1/sessions/{id}/registrations.
  app.post('/sessions/:id/registrations', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    const row = await sessions.get(request.params.id);
    const values: AddValues = { fields: {}, answers: {}, force: formText(request.body, 'force') !== '' };
    for (const { name } of PERSON_LIMITS) values.fields[name] = formText(request.body, name);
    for (const question of row.questions) {
      const value = formText(request.body, `answer-${question.id}`);
      if (value !== '') values.answers[question.id] = value;
    }
    const again = (errors: FieldError[], formErrors: string[], status: number) =>
      peoplePage(request, reply, row.id, readFilters({}), { values, errors, formErrors }, status);
    const tooLong: FieldError[] = PERSON_LIMITS.filter(({ name, max }) => values.fields[name]!.length > max).map(({ name, max }) => ({
      path: `/${name}`,
      message: `must be at most ${max} characters (it has ${values.fields[name]!.length})`,
    }));
    if (tooLong.length > 0) return again(tooLong, [], 400);
    try {
      await registrations.addByOrganizer(
        row.id,
        {
          name: values.fields.name!,
          email: values.fields.email!,
          organization: values.fields.organization || null,
          jobTitle: values.fields.jobTitle || null,
          answers: values.answers,
          force: values.force,
        },
        organizer.id,
        organizer,
      );
    } catch (error) {
      if (error instanceof BadRequestError) return again(error.errors ?? [], error.errors?.length ? [] : [error.detail], 400);
      if (error instanceof ConflictError) return again([], [error.detail.replace('with "force": true', 'with “Confirm even if the session is full” ticked')], 409);
      throw error;
    }
    return redirect303(reply, `${base(row.id)}/registrations?done=added`);
  });

  /** Back to the table as it was (its filters and page), with a message (`extra`: its fixed words and numbers). */
  const backTo = (request: ById, done: string, extra: Record<string, string> = {}) => {
    const filters = readFilters(request.query);
    const query = queryOf(filters, filters.cursor);
    const message = new URLSearchParams({ done, ...extra }).toString();
    return `${base(request.params.id)}/registrations${query ? `${query}&` : '?'}${message}`;
  };

  /** A refusal (409) said on the table as it was, rather than on an error page. */
  const refusedOnTable = (request: ById, reply: FastifyReply, text: string) =>
    peoplePage(request, reply, request.params.id, readFilters(request.query), undefined, 409, { tone: 'info', text });

  app.post('/sessions/:id/registrations/:registrationId/check-in', byRegistration, async (request: ByRegistration, reply) => {
    const { organizer } = consoleContext(request);
    await registrations.checkIn(request.params.id, request.params.registrationId, organizer);
    return redirect303(reply, backTo(request, 'checked-in'));
  });

  app.get('/sessions/:id/registrations/:registrationId/cancel', byRegistration, async (request: ByRegistration, reply) => {
    const { csrf } = consoleContext(request);
    const row = await sessions.get(request.params.id);
    const person = await registrations.getOfSession(row.id, request.params.registrationId);
    if (person.status === 'cancelled') throw new ConflictError('This registration is already cancelled');
    if (person.status === 'declined' || person.status === 'expired') throw new ConflictError(`This registration has ended (${STATUS_WORDS[person.status].text.toLowerCase()}): there is nothing to cancel`);
    const filters = readFilters(request.query);
    const consequence =
      person.status === 'confirmed'
        ? `${person.name} is e-mailed that the registration is cancelled, with a calendar cancellation; the seat goes to the first person on the waitlist, if any, who is e-mailed too.`
        : person.status === 'offered'
          ? `${person.name} is e-mailed that the registration is cancelled, and the seat on offer goes to the first person on the waitlist, if any, who is e-mailed too.`
          : person.status === 'pending'
            ? `${person.name} is e-mailed that the registration is cancelled; the request no longer awaits approval.`
            : `${person.name} is e-mailed that the registration is cancelled and leaves the waitlist (place ${person.waitlistPosition ?? '?'}).`;
    const data: CancelPersonData = {
      csrf,
      title: row.title,
      name: person.name,
      email: person.email,
      statusText: STATUS_WORDS[person.status].text,
      consequence,
      action: `${base(row.id)}/registrations/${person.id}/cancel`,
      backHref: `${base(row.id)}/registrations`,
      back: queryOf(filters, filters.cursor),
    };
    return sendConsolePage(request, reply, {
      title: `Cancel the registration of ${person.name}?`,
      bodyHtml: renderConsoleTemplate('@console-person-cancel', data),
      section: 'sessions',
    });
  });

  // The same cancelForSession (cancel, promote the first waiting, audit entry) as the API's cancel.
  app.post('/sessions/:id/registrations/:registrationId/cancel', byRegistration, async (request: ByRegistration, reply) => {
    const { organizer } = consoleContext(request);
    await registrations.cancelForSession(request.params.id, request.params.registrationId, organizer);
    return redirect303(reply, backTo(request, 'cancelled'));
  });

  // Approve one request: the same approveOne (and audit entry, the organizer as actor) as the API's approve.
  app.post('/sessions/:id/registrations/:registrationId/approve', byRegistration, async (request: ByRegistration, reply) => {
    const { organizer } = consoleContext(request);
    const { id, registrationId } = request.params;
    try {
      const outcome = await registrations.approveOne(id, registrationId, organizer);
      return redirect303(reply, backTo(request, `approved-${outcome}`, { who: registrationId }));
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const person = await registrations.getOfSession(id, registrationId);
      return refusedOnTable(request, reply, `Nothing changed for ${person.name}: ${continued(error.detail)}.`);
    }
  });

  /** Declining, confirmed first, with an optional reason for the e-mail. */
  async function declinePage(request: ByRegistration, reply: FastifyReply, reason: string, error: string | null, status = 200): Promise<FastifyReply> {
    const { csrf } = consoleContext(request);
    const row = await sessions.get(request.params.id);
    const person = await registrations.getOfSession(row.id, request.params.registrationId);
    if (person.status !== 'pending') throw new ConflictError('This registration is not waiting for approval');
    const filters = readFilters(request.query);
    const reasonField = field({
      name: 'reason',
      label: 'Reason (optional)',
      kind: 'textarea',
      value: reason,
      rows: 4,
      maxlength: DECLINE_REASON_MAX,
      hint: 'Sent to the person in the e-mail that says the request is declined; the audit log records only that a reason was given.',
      error,
    });
    const fields = [reasonField];
    focusFirstError(fields);
    const data: DeclinePersonData = {
      csrf,
      title: row.title,
      name: person.name,
      email: person.email,
      statusText: STATUS_WORDS[person.status].text,
      action: `${base(row.id)}/registrations/${person.id}/decline`,
      backHref: `${base(row.id)}/registrations`,
      back: queryOf(filters, filters.cursor),
      reason: reasonField,
      errors: errorSummary(fields),
    };
    return sendConsolePage(request, reply, {
      title: `${error ? 'Error: ' : ''}Decline the request of ${person.name}?`,
      bodyHtml: renderConsoleTemplate('@console-person-decline', data),
      status,
      section: 'sessions',
    });
  }

  app.get('/sessions/:id/registrations/:registrationId/decline', byRegistration, async (request: ByRegistration, reply) => declinePage(request, reply, '', null));

  // The same decline (e-mail with the reason, audit entry with the organizer as actor) as the API's decline.
  app.post('/sessions/:id/registrations/:registrationId/decline', byRegistration, async (request: ByRegistration, reply) => {
    const { organizer } = consoleContext(request);
    const { id, registrationId } = request.params;
    // Browsers send a textarea's line breaks as CRLF; the e-mail and the limit count them as one.
    const reason = formText(request.body, 'reason').replace(/\r\n?/g, '\n');
    if (reason.length > DECLINE_REASON_MAX) {
      return declinePage(request, reply, reason, `Reason must be at most ${DECLINE_REASON_MAX} characters (it has ${reason.length})`, 400);
    }
    try {
      await registrations.decline(id, registrationId, reason.trim() || null, organizer);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const person = await registrations.getOfSession(id, registrationId);
      return refusedOnTable(request, reply, `Nothing changed for ${person.name}: ${continued(error.detail)}.`);
    }
    return redirect303(reply, backTo(request, 'declined', { who: registrationId }));
  });

  // Approve the ticked requests in the table's order: the same approve (one transaction, one
  // audit entry per person) as the API's bulk approve, with as many ids as the API takes.
  app.post('/sessions/:id/registrations/approve', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    const ids = postedIds(request.body);
    const refused = (text: string) => peoplePage(request, reply, request.params.id, readFilters(request.query), undefined, 400, { tone: 'stop', text });
    if (ids === null) return refused('The selection was not understood: reload the page and tick the people again.');
    if (ids.length === 0) return refused('Nobody was approved: tick the people to approve first.');
    if (ids.length > BULK_APPROVE_MAX) return refused(`At most ${BULK_APPROVE_MAX} people can be approved at once; ${ids.length} were ticked.`);
    let results: Awaited<ReturnType<RegistrationsService['approve']>>;
    try {
      results = await registrations.approve(request.params.id, ids, organizer);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      return refusedOnTable(request, reply, `Nobody was approved: ${continued(error.detail)}.`);
    }
    const counts: BulkCounts = { confirmed: 0, waitlisted: 0, full: 0, skipped: 0 };
    for (const { outcome } of results) counts[outcome === 'not-pending' ? 'skipped' : outcome] += 1;
    const numbers = Object.fromEntries(Object.entries(counts).map(([name, n]) => [name, String(n)]));
    return redirect303(reply, backTo(request, 'approved-selected', numbers));
  });

  // The API's exports (same rows, columns, audit entry and concurrency limit), under the console session.
  const exportRoute = (format: ExportFormat) =>
    app.get(`/sessions/:id/attendees.${format}`, byId, async (request: ById, reply) => {
      const { organizer } = consoleContext(request);
      return streamExport(request, reply, organizer, format, () => exports.planSession(request.params.id, [...DEFAULT_EXPORT_STATUSES]));
    });
  exportRoute('csv');
  exportRoute('xlsx');
  exportRoute('json');
}
