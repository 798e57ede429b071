import { DateTime } from 'luxon';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditRow, OrganizerRole } from '../../../db/schema/index.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, type FieldError } from '../../errors.js';
import { fieldErrors, type AjvIssue } from '../../plugins/errors.js';
import { createAjv } from '../../plugins/validation.js';
import type { AuditFilter, AuditService } from '../../services/audit.service.js';
import { ORGANIZER_NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, type Organizer, type OrganizersService } from '../../services/organizers.service.js';
import { readLocalDateTime } from '../../services/zoned-input.js';
import { ADMIN_TEMPLATES } from '../../web/console/admin-templates.js';
import type { AuditPageData, AuditRowView, DisableOrganizerData, OrganizerRow, OrganizersPageData } from '../../web/console/admin-views.js';
import { AuditQuery } from '../audit/index.js';
import { NewOrganizerBody } from '../auth/index.js';
import { IdParams } from '../schemas.js';
import {
  addConsoleNavItem,
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
  type ConsoleErrorItem,
  type ConsoleFieldView,
  type ConsoleFlash,
} from './layout.js';

addConsoleTemplates(ADMIN_TEMPLATES);

export interface ConsoleAdminPagesOptions {
  organizers: OrganizersService;
  audit: AuditService;
}

/**
 * Organisation-wide pages belong to no session, and there is no configured zone of the
 * organisation: their times are in UTC, and the pages say so.
 */
export const ADMIN_ZONE = 'UTC';

/** Entries per page of the audit log. */
export const AUDIT_PAGE_SIZE = 50;

/** The API's limit on an e-mail (NewOrganizerBody), for the field's maxlength. */
const EMAIL_MAX_LENGTH = 254;

const ROLE_WORDS: Record<OrganizerRole, string> = { admin: 'Admin', organizer: 'Organizer' };
const ROLE_CHOICES = [
  { value: 'organizer', text: 'Organizer' },
  { value: 'admin', text: 'Admin' },
];

const DONE: Record<string, ConsoleFlash> = {
  added: { tone: 'good', text: 'The organizer is added. They sign in with the e-mail and password you chose, and can change the password on their Account page.' },
  role: { tone: 'good', text: 'The role is changed.' },
  disabled: { tone: 'info', text: 'The account is disabled: it is signed out everywhere and its API tokens no longer work.' },
  enabled: { tone: 'good', text: 'The account is enabled again; they sign in anew.' },
};

/** "2026-12-04 19:58:07": an instant in ADMIN_ZONE (the zone is named in the column's header). */
function adminTime(at: Date): string {
  return DateTime.fromJSDate(at, { zone: ADMIN_ZONE }).toFormat('yyyy-MM-dd HH:mm:ss');
}

/** Ajv's wording of the API's schemas, as the forms say it. */
const WORDS: Array<[RegExp, string]> = [
  [/must match format "email"/, 'must be an e-mail address, like name@example.org'],
  [/must be equal to one of the allowed values/, 'must be Admin or Organizer'],
  [/must match pattern "\^\[a-z_\.\]\+\$"/, 'must be lower-case letters, dots and underscores, like session.create'],
];
const worded = (message: string) => WORDS.reduce((text, [pattern, words]) => text.replace(pattern, words), message);

// The API's own schemas, so each form refuses exactly what the API refuses.
const validateNewOrganizer = createAjv({ coerceTypes: false }).compile(NewOrganizerBody);
const validateAuditQuery = createAjv({ coerceTypes: false }).compile(AuditQuery);

interface NewOrganizerValues {
  name: string;
  email: string;
  password: string;
  role: string;
}

/** The add form's values (the password is never shown again) and what the API's schema finds wrong with them. */
function readNewOrganizer(body: unknown): { values: NewOrganizerValues; errors: FieldError[] } {
  const raw = body && typeof body === 'object' ? (body as Record<string, unknown>).role : undefined;
  const values: NewOrganizerValues = {
    name: formText(body, 'name').trim(),
    email: formText(body, 'email').trim(),
    password: formText(body, 'password'),
    // Absent is the API's default; anything but one text (a repeated field) is refused below.
    role: raw === undefined ? 'organizer' : typeof raw === 'string' ? raw : '',
  };
  const errors: FieldError[] = [];
  // An empty field (or one sent as an array) gets one plain "is required", not every rule it also breaks.
  const empty = new Set((['name', 'email', 'password'] as const).filter((name) => values[name] === '').map((name) => `/${name}`));
  for (const path of empty) errors.push({ path, message: 'is required' });
  if (!validateNewOrganizer(values)) {
    for (const error of fieldErrors((validateNewOrganizer.errors ?? []) as AjvIssue[], 'body')) {
      if (!empty.has(error.path)) errors.push({ path: error.path, message: worded(error.message) });
    }
  }
  return { values, errors };
}

function addFields(values: NewOrganizerValues | null): ConsoleFieldView[] {
  return [
    field({ name: 'name', id: 'f-new-name', label: 'Name', kind: 'text', value: values?.name ?? '', required: true, maxlength: ORGANIZER_NAME_MAX_LENGTH, autocomplete: 'off' }),
    field({ name: 'email', id: 'f-new-email', label: 'E-mail', kind: 'email', value: values?.email ?? '', required: true, maxlength: EMAIL_MAX_LENGTH, autocomplete: 'off' }),
    field({
      name: 'password',
      id: 'f-new-password',
      label: 'Password',
      kind: 'password',
      required: true,
      maxlength: PASSWORD_MAX_LENGTH,
      autocomplete: 'new-password',
      hint: `At least ${PASSWORD_MIN_LENGTH} characters. Pass it on safely; they can change it on their Account page.`,
    }),
    field({ name: 'role', id: 'f-new-role', label: 'Role', kind: 'select', value: values?.role ?? 'organizer', required: true, options: ROLE_CHOICES }),
  ];
}

interface AuditFilterValues {
  action: string;
  actor: string;
  from: string;
  to: string;
  cursor: string;
}

/** The filters as typed (times as `datetime-local` text in ADMIN_ZONE). */
function readAuditFilters(query: unknown): AuditFilterValues {
  const text = (name: string) => formText(query, name).trim();
  return { action: text('action'), actor: text('actor'), from: text('from'), to: text('to'), cursor: text('cursor') };
}

function auditQueryString(values: AuditFilterValues, cursor = ''): string {
  const query = new URLSearchParams();
  for (const name of ['action', 'actor', 'from', 'to'] as const) if (values[name]) query.set(name, values[name]);
  if (cursor) query.set('cursor', cursor);
  const text = query.toString();
  return text ? `?${text}` : '';
}

/**
 * The console's admin pages (console.md: `/console/organizers`, `/console/audit`): the same
 * service calls as `GET|POST /api/v1/organizers`, `PATCH /api/v1/organizers/{id}` and
 * `GET /api/v1/audit`, so the same rules hold (the last enabled admin, nobody disables
 * themselves, the API's schemas) and the same audit entries are written with the admin as actor.
 * An organizer who is not an admin gets the API's answer, 403, as a "Not allowed" page on every
 * route here, POSTs included, and does not see their nav entries.
 */
export async function consoleAdminPages(app: FastifyInstance, { organizers, audit }: ConsoleAdminPagesOptions): Promise<void> {
  addConsoleNavItem({ href: '/console/organizers', text: 'Organizers', section: 'organizers', adminOnly: true });
  addConsoleNavItem({ href: '/console/audit', text: 'Audit log', section: 'audit', adminOnly: true });

  // After the console's own preValidation (session, `_csrf`) and before any schema of a route
  // here: a non-admin learns nothing, not even whether an id or a form was valid.
  app.addHook('preValidation', async (request) => {
    if (consoleContext(request).organizer.role !== 'admin') {
      throw new ForbiddenError('Only an admin may see or change the organizer accounts and the audit log.');
    }
  });

  const byId = { schema: { hide: true, params: IdParams } };
  type ById = FastifyRequest<{ Params: { id: string } }>;

  interface OrganizersPageState {
    add?: { values: NewOrganizerValues; errors: FieldError[]; conflict?: string };
    actionErrors?: string[];
    status?: number;
    flash?: ConsoleFlash | null;
  }

  async function organizersPage(request: FastifyRequest, reply: FastifyReply, state: OrganizersPageState = {}): Promise<FastifyReply> {
    const { organizer: me, csrf } = consoleContext(request);
    // The same list as GET /api/v1/organizers.
    const accounts = await organizers.list();
    const rows: OrganizerRow[] = accounts.map((account) => ({
      id: account.id,
      name: account.name,
      email: account.email,
      role: account.role,
      roleText: ROLE_WORDS[account.role],
      enabled: account.disabledAt === null,
      createdText: adminTime(account.createdAt),
      createdIso: account.createdAt.toISOString(),
      self: account.id === me.id,
    }));
    const fields = addFields(state.add?.values ?? null);
    const unplaced = withFieldErrors(fields, state.add?.errors, { '/name': 'name', '/email': 'email', '/password': 'password', '/role': 'role' });
    if (state.add?.conflict) fields[1]!.error = state.add.conflict;
    focusFirstError(fields);
    const actionErrors: ConsoleErrorItem[] = (state.actionErrors ?? []).map((text) => ({ href: null, text }));
    const data: OrganizersPageData = {
      csrf,
      actionErrors,
      rows,
      roleChoices: ROLE_CHOICES,
      zone: ADMIN_ZONE,
      add: { fields, errors: errorSummary(fields, unplaced) },
    };
    const hasErrors = data.add.errors.length > 0 || actionErrors.length > 0;
    return sendConsolePage(request, reply, {
      title: `${hasErrors ? 'Error: ' : ''}Organizers`,
      bodyHtml: renderConsoleTemplate('@console-organizers', data),
      status: state.status,
      flash: state.flash,
      section: 'organizers',
    });
  }

  /** A change the service refused (the last enabled admin, yourself): said at the top of the list. */
  async function refused(request: FastifyRequest, reply: FastifyReply, error: unknown): Promise<FastifyReply> {
    if (error instanceof ConflictError) return organizersPage(request, reply, { actionErrors: [error.detail], status: 409 });
    throw error;
  }

  app.get('/organizers', { schema: { hide: true } }, async (request, reply) => {
    const done = formText(request.query, 'done');
    return organizersPage(request, reply, { flash: Object.hasOwn(DONE, done) ? DONE[done]! : null });
  });

  // The same create (and `organizer.create` audit entry) as POST /api/v1/organizers.
  app.post('/organizers', { schema: { hide: true } }, async (request, reply) => {
    const { organizer: me } = consoleContext(request);
    const { values, errors } = readNewOrganizer(request.body);
    if (errors.length > 0) return organizersPage(request, reply, { add: { values, errors }, status: 400 });
    try {
      await organizers.create({ name: values.name, email: values.email, password: values.password, role: values.role as OrganizerRole }, me);
    } catch (error) {
      if (error instanceof ConflictError) return organizersPage(request, reply, { add: { values, errors: [], conflict: error.detail }, status: 409 });
      throw error;
    }
    return redirect303(reply, '/console/organizers?done=added');
  });

  // PATCH /api/v1/organizers/{id} with { role }.
  app.post('/organizers/:id/role', byId, async (request: ById, reply) => {
    const { organizer: me } = consoleContext(request);
    const role = formText(request.body, 'role');
    if (role !== 'admin' && role !== 'organizer') {
      return organizersPage(request, reply, { actionErrors: ['Choose a role: Admin or Organizer.'], status: 400 });
    }
    let changed: Organizer;
    try {
      changed = await organizers.update(request.params.id, { role }, me);
    } catch (error) {
      return refused(request, reply, error);
    }
    // An admin who made themselves an organizer can no longer see this page.
    if (changed.id === me.id && changed.role !== 'admin') return redirect303(reply, '/console');
    return redirect303(reply, '/console/organizers?done=role');
  });

  app.get('/organizers/:id/disable', byId, async (request: ById, reply) => {
    const { csrf } = consoleContext(request);
    const target = await organizers.findById(request.params.id);
    if (!target) throw new NotFoundError('No such organizer');
    if (target.disabledAt !== null) throw new ConflictError('This account is already disabled.');
    const data: DisableOrganizerData = { csrf, id: target.id, name: target.name, email: target.email, roleText: ROLE_WORDS[target.role] };
    return sendConsolePage(request, reply, {
      title: `Disable ${target.name}?`,
      bodyHtml: renderConsoleTemplate('@console-organizer-disable', data),
      section: 'organizers',
    });
  });

  // PATCH /api/v1/organizers/{id} with { disabled: true }: its tokens and console sessions end with it.
  app.post('/organizers/:id/disable', byId, async (request: ById, reply) => {
    const { organizer: me } = consoleContext(request);
    try {
      await organizers.update(request.params.id, { disabled: true }, me);
    } catch (error) {
      return refused(request, reply, error);
    }
    return redirect303(reply, '/console/organizers?done=disabled');
  });

  // PATCH /api/v1/organizers/{id} with { disabled: false }.
  app.post('/organizers/:id/enable', byId, async (request: ById, reply) => {
    const { organizer: me } = consoleContext(request);
    try {
      await organizers.update(request.params.id, { disabled: false }, me);
    } catch (error) {
      return refused(request, reply, error);
    }
    return redirect303(reply, '/console/organizers?done=enabled');
  });

  // The same list call (filters, keyset cursor, newest first) as GET /api/v1/audit.
  app.get('/audit', { schema: { hide: true } }, async (request, reply) => {
    const values = readAuditFilters(request.query);
    const fields = [
      field({ name: 'action', id: 'f-action', label: 'Action', kind: 'text', value: values.action, maxlength: 64, autocomplete: 'off', hint: 'For example session.create or organizer.update' }),
      field({ name: 'actor', id: 'f-actor', label: 'Actor', kind: 'text', value: values.actor, maxlength: EMAIL_MAX_LENGTH, autocomplete: 'off', hint: "An organizer's e-mail or id" }),
      field({ name: 'from', id: 'f-from', label: `From (${ADMIN_ZONE})`, kind: 'datetime-local', value: values.from, step: '1', hint: 'Entries at or after this time' }),
      field({ name: 'to', id: 'f-to', label: `Before (${ADMIN_ZONE})`, kind: 'datetime-local', value: values.to, step: '1', hint: 'Entries before this time' }),
    ];
    const filter: AuditFilter = { limit: AUDIT_PAGE_SIZE };
    if (values.action) filter.action = values.action;
    if (values.actor) filter.actor = values.actor;
    if (values.cursor) filter.cursor = values.cursor;
    for (const [name, index] of [['from', 2], ['to', 3]] as const) {
      if (!values[name]) continue;
      const reading = readLocalDateTime(values[name], ADMIN_ZONE);
      if (reading.ok) filter[name] = reading.instant.toISOString();
      else fields[index]!.error = reading.message;
    }
    const schemaErrors = validateAuditQuery(filter) ? [] : fieldErrors((validateAuditQuery.errors ?? []) as AjvIssue[], 'body');
    const unplaced = withFieldErrors(
      fields,
      schemaErrors.map((error) => ({ path: error.path, message: worded(error.message) })),
      { '/action': 'action', '/actor': 'actor' },
    );
    let formErrors = unplaced.length > 0 ? ['The page link is not valid: start again from the first page.'] : [];
    let page: Awaited<ReturnType<AuditService['list']>> | null = null;
    if (formErrors.length === 0 && !fields.some((f) => f.error)) {
      try {
        page = await audit.list(filter);
      } catch (error) {
        if (!(error instanceof BadRequestError)) throw error;
        formErrors = ['The page link is not valid: start again from the first page.'];
      }
    }
    focusFirstError(fields);
    const errors = errorSummary(fields, formErrors);
    const active = Boolean(values.action || values.actor || values.from || values.to);
    const described = [
      values.action ? `action ${values.action}` : '',
      values.actor ? `by ${values.actor}` : '',
      values.from ? `from ${values.from.replace('T', ' ')}` : '',
      values.to ? `before ${values.to.replace('T', ' ')}` : '',
    ].filter(Boolean);
    const data: AuditPageData = {
      zone: ADMIN_ZONE,
      filters: { fields, errors, active },
      caption: `Entries${described.length > 0 ? ` (${described.join(', ')})` : ''}, newest first`,
      rows: page ? page.items.map(auditRow) : null,
      nextHref: page?.nextCursor ? `/console/audit${auditQueryString(values, page.nextCursor)}` : null,
      firstHref: values.cursor ? `/console/audit${auditQueryString(values)}` : null,
    };
    return sendConsolePage(request, reply, {
      title: `${errors.length > 0 ? 'Error: ' : ''}Audit log`,
      bodyHtml: renderConsoleTemplate('@console-audit', data),
      status: errors.length > 0 ? 400 : 200,
      section: 'audit',
    });
  });
}

function auditRow(row: AuditRow): AuditRowView {
  const actor = row.actorId ?? row.actorEmail;
  return {
    atText: adminTime(row.at),
    atIso: row.at.toISOString(),
    actorText: row.actorEmail ?? row.actorId ?? 'System',
    actorHref: actor ? `/console/audit?${new URLSearchParams({ actor }).toString()}` : null,
    action: row.action,
    subjectType: row.subjectType,
    subjectId: row.subjectId ?? '',
    subjectHref: row.subjectType === 'session' && row.subjectId ? `/console/sessions/${row.subjectId}` : null,
    detailsText: Object.keys(row.details ?? {}).length > 0 ? JSON.stringify(row.details) : '',
  };
}
