import { domainToUnicode } from 'node:url';
import multipart from '@fastify/multipart';
import { DateTime } from 'luxon';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ORGANISATION_STATUSES, type OrganisationStatus } from '../../../db/schema/index.js';
import { BadRequestError, ConflictError, ForbiddenError, type FieldError } from '../../errors.js';
import type { ConsoleSessions } from '../../services/console-sessions.js';
import { csvTextOf, IMPORT_CSV_MAX_BYTES, IMPORT_ROWS_MAX } from '../../services/organisations-import.js';
import {
  ORGANISATION_DOMAINS_MAX,
  ORGANISATION_NAME_MAX_LENGTH,
  type ImportPlan,
  type ImportRowPlan,
  type Organisation,
  type OrganisationsService,
} from '../../services/organisations.service.js';
import { ORGANISATIONS_TEMPLATES } from '../../web/console/organisations-templates.js';
import type {
  DomainView,
  ImportFormData,
  ImportPreviewData,
  ImportRowView,
  OrganisationFormData,
  OrganisationsPageData,
} from '../../web/console/organisations-views.js';
import { IdParams } from '../schemas.js';
import { ADMIN_ZONE } from './admin.js';
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
  type ConsoleFieldView,
  type ConsoleFlash,
} from './layout.js';
import { checkCsrf } from './session.js';

addConsoleTemplates(ORGANISATIONS_TEMPLATES);

export interface ConsoleOrganisationPagesOptions {
  organisations: OrganisationsService;
  /** For the `_csrf` check of the import's multipart form, made once its fields are read. */
  sessions: ConsoleSessions;
}

export const ORGANISATIONS_PAGE = '/console/organisations';

const STATUS_WORDS: Record<OrganisationStatus, string> = { active: 'Active', lapsed: 'Lapsed' };
const STATUS_CHOICES = ORGANISATION_STATUSES.map((value) => ({ value, text: STATUS_WORDS[value] }));

const DONE: Record<string, ConsoleFlash> = {
  added: { tone: 'good', text: 'The organisation is added: its people count as members from now on.' },
  saved: { tone: 'good', text: 'The organisation is saved. Registrations made before keep the organisation they recorded.' },
};

// Short lines: the sample must fit a phone's width (a <pre> does not wrap).
const SAMPLE = 'name,domains\nCity of X,cityofx.gov\nTwin Towns,twina.gov twinb.gov\nMünchen,münchen.de;muenchen.de';

const OUTCOME_WORDS: Record<ImportRowPlan['outcome'], { text: string; tone: ImportRowView['outcomeTone'] }> = {
  new: { text: 'New organisation', tone: 'good' },
  changed: { text: 'Domains change', tone: 'info' },
  unchanged: { text: 'Unchanged', tone: 'muted' },
  refused: { text: 'Refused', tone: 'stop' },
};

/** A stored (ASCII) domain as people read it, with the stored form beside it when they differ. */
function domainView(ascii: string): DomainView {
  const text = domainToUnicode(ascii) || ascii;
  return { text, ascii: text === ascii ? null : ascii };
}

function changedTime(at: Date): string {
  return DateTime.fromJSDate(at, { zone: ADMIN_ZONE }).toFormat('yyyy-MM-dd HH:mm');
}

interface OrganisationValues {
  name: string;
  /** As typed: one per line, or separated by commas, semicolons or spaces. */
  domains: string;
  status: string;
}

function valuesOf(organisation: Organisation): OrganisationValues {
  return { name: organisation.name, domains: organisation.domains.map((domain) => domainView(domain).text).join('\n'), status: organisation.status };
}

function typedValues(body: unknown): OrganisationValues {
  return { name: formText(body, 'name'), domains: formText(body, 'domains'), status: formText(body, 'status') };
}

const domainList = (typed: string) => typed.split(/[\s,;]+/).filter(Boolean);

function organisationFields(values: OrganisationValues): ConsoleFieldView[] {
  return [
    field({ name: 'name', label: 'Name', kind: 'text', value: values.name, required: true, maxlength: ORGANISATION_NAME_MAX_LENGTH, autocomplete: 'off' }),
    field({
      name: 'domains',
      label: 'E-mail domains',
      kind: 'textarea',
      value: values.domains,
      rows: 5,
      hint: `One per line, or separated by commas, like cityofx.gov. Subdomains belong to their domain (mail.cityofx.gov to cityofx.gov); at most ${ORGANISATION_DOMAINS_MAX}. A domain belongs to one organisation.`,
    }),
    field({
      name: 'status',
      label: 'Status',
      kind: 'select',
      value: values.status,
      required: true,
      options: STATUS_CHOICES,
      hint: 'Lapsed: its people may no longer register for members-only sessions, and keep the registrations they have.',
    }),
  ];
}

/**
 * The service's field errors put at the form's fields: `/name`, and every `/domains` error (a
 * typed value that is no domain, too many, one of another organisation) at the domains field.
 */
function placeErrors(fields: ConsoleFieldView[], errors: FieldError[]): string[] {
  const domainsField = fields.find((f) => f.name === 'domains')!;
  const rest: FieldError[] = [];
  for (const error of errors) {
    if (error.path !== '/domains' && !error.path.startsWith('/domains/')) {
      rest.push(error);
      continue;
    }
    // "may have at most 50 domains" reads after the label; '"x" is not a domain name' and "x belongs to ..." stand alone.
    const text = /^(may|must|is) /.test(error.message) ? `${domainsField.label} ${error.message}` : error.message;
    domainsField.error = domainsField.error ? `${domainsField.error}; ${text}` : text;
  }
  return withFieldErrors(fields, rest, { '/name': 'name', '/status': 'status' });
}

/** The uploaded file as @fastify/multipart's onFile below leaves it in the body. */
interface UploadedFile {
  bytes: Buffer;
  /** Longer than the limit: only the first IMPORT_CSV_MAX_BYTES were kept. */
  truncated: boolean;
}

function isUploadedFile(value: unknown): value is UploadedFile {
  return typeof value === 'object' && value !== null && Buffer.isBuffer((value as UploadedFile).bytes);
}

const TOO_LARGE = `must be at most ${IMPORT_CSV_MAX_BYTES / 1024} KB (about ${IMPORT_ROWS_MAX} organisations): import it in parts`;

/**
 * The console's Organisations pages: the list (every organizer reads it, as GET
 * /api/v1/organisations), and for admins the Add and Edit forms (the same service calls and
 * `organisation.create` / `organisation.update` audit entries as POST and PATCH
 * /api/v1/organisations) and the CSV import: a preview of what each line would change, written by
 * nothing, then Apply, which plans the same text again and writes it in one transaction only if
 * the plan is still the one previewed (else the new preview is shown).
 */
export async function consoleOrganisationPages(app: FastifyInstance, { organisations, sessions }: ConsoleOrganisationPagesOptions): Promise<void> {
  addConsoleNavItem({ href: ORGANISATIONS_PAGE, text: 'Organisations', section: 'organisations' });

  app.get('/organisations', { schema: { hide: true } }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const rows = await organisations.list();
    const data: OrganisationsPageData = {
      canChange: organizer.role === 'admin',
      zone: ADMIN_ZONE,
      rows: rows.map((organisation) => ({
        id: organisation.id,
        name: organisation.name,
        statusText: STATUS_WORDS[organisation.status],
        statusTone: organisation.status === 'active' ? 'good' : 'muted',
        domains: organisation.domains.map(domainView),
        updatedText: changedTime(organisation.updatedAt),
        updatedIso: organisation.updatedAt.toISOString(),
      })),
    };
    const flash = importedFlash(request.query) ?? DONE[formText(request.query, 'done')] ?? null;
    return sendConsolePage(request, reply, { title: 'Organisations', bodyHtml: renderConsoleTemplate('@console-organisations', data), flash, section: 'organisations' });
  });

  // Adding, editing and importing: admins only, as the API's POST and PATCH.
  await app.register(async (admin) => {
    // After the console's session hook, before anything of a form is read: a non-admin learns nothing.
    admin.addHook('preValidation', async (request) => {
      if (consoleContext(request).organizer.role !== 'admin') throw new ForbiddenError('Only an admin may add or change organisations.');
    });
    await registerAdminPages(admin, { organisations, sessions });
  });
}

function importedFlash(query: unknown): ConsoleFlash | null {
  if (formText(query, 'done') !== 'imported') return null;
  const count = (name: string) => {
    const value = Number.parseInt(formText(query, name), 10);
    return Number.isInteger(value) && value >= 0 && value <= IMPORT_ROWS_MAX ? value : 0;
  };
  const added = count('added');
  const changed = count('changed');
  return {
    tone: 'good',
    text: `The import is applied: ${added} ${added === 1 ? 'organisation' : 'organisations'} added, ${changed} changed.`,
  };
}

async function registerAdminPages(app: FastifyInstance, { organisations, sessions }: ConsoleOrganisationPagesOptions): Promise<void> {
  type ById = FastifyRequest<{ Params: { id: string } }>;
  const byId = { schema: { hide: true, params: IdParams } };

  interface FormState {
    values: OrganisationValues;
    errors?: FieldError[];
    status?: number;
  }

  function formPage(request: FastifyRequest, reply: FastifyReply, editing: Organisation | null, state: FormState): FastifyReply {
    const { csrf } = consoleContext(request);
    const fields = organisationFields(state.values);
    const unplaced = placeErrors(fields, state.errors ?? []);
    focusFirstError(fields);
    const heading = editing ? `Edit ${editing.name}` : 'Add organisation';
    const data: OrganisationFormData = {
      csrf,
      heading,
      action: editing ? `${ORGANISATIONS_PAGE}/${editing.id}` : ORGANISATIONS_PAGE,
      submitText: editing ? 'Save' : 'Add organisation',
      fields,
      errors: errorSummary(fields, unplaced),
    };
    return sendConsolePage(request, reply, {
      title: `${data.errors.length > 0 ? 'Error: ' : ''}${heading}`,
      bodyHtml: renderConsoleTemplate('@console-organisation-form', data),
      status: state.status,
      section: 'organisations',
    });
  }

  /** A refusal of the service (400 invalid, 409 a domain or the name of another organisation) shown on the form. */
  function refusedOnForm(request: FastifyRequest, reply: FastifyReply, editing: Organisation | null, values: OrganisationValues, error: unknown): FastifyReply {
    if (error instanceof BadRequestError || error instanceof ConflictError) {
      const errors = error.errors && error.errors.length > 0 ? error.errors : [{ path: '', message: error.detail }];
      return formPage(request, reply, editing, { values, errors, status: error.status });
    }
    throw error;
  }

  /** The status as chosen, or a field error (a select sends one of its options unless tampered with). */
  function statusOf(values: OrganisationValues): { status: OrganisationStatus | null; errors: FieldError[] } {
    const status = ORGANISATION_STATUSES.find((value) => value === values.status) ?? null;
    return { status, errors: status ? [] : [{ path: '/status', message: 'must be Active or Lapsed' }] };
  }

  app.get('/organisations/new', { schema: { hide: true } }, async (request, reply) =>
    formPage(request, reply, null, { values: { name: '', domains: '', status: 'active' } }),
  );

  // POST /api/v1/organisations.
  app.post('/organisations', { schema: { hide: true } }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const values = typedValues(request.body);
    const { status, errors } = statusOf(values);
    if (!status) return formPage(request, reply, null, { values, errors, status: 400 });
    try {
      await organisations.create({ name: values.name, domains: domainList(values.domains), status }, organizer);
    } catch (error) {
      return refusedOnForm(request, reply, null, values, error);
    }
    return redirect303(reply, `${ORGANISATIONS_PAGE}?done=added`);
  });

  app.get('/organisations/:id/edit', byId, async (request: ById, reply) => {
    const organisation = await organisations.get(request.params.id);
    return formPage(request, reply, organisation, { values: valuesOf(organisation) });
  });

  // PATCH /api/v1/organisations/{id} with every field of the form.
  app.post('/organisations/:id', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    const organisation = await organisations.get(request.params.id);
    const values = typedValues(request.body);
    const { status, errors } = statusOf(values);
    if (!status) return formPage(request, reply, organisation, { values, errors, status: 400 });
    try {
      await organisations.update(organisation.id, { name: values.name, domains: domainList(values.domains), status }, organizer);
    } catch (error) {
      return refusedOnForm(request, reply, organisation, values, error);
    }
    return redirect303(reply, `${ORGANISATIONS_PAGE}?done=saved`);
  });

  // ---- Import from CSV -----------------------------------------------------------------------

  interface ImportFormState {
    text?: string;
    textError?: string;
    fileError?: string;
    status?: number;
  }

  function importFormPage(request: FastifyRequest, reply: FastifyReply, state: ImportFormState = {}): FastifyReply {
    const { csrf } = consoleContext(request);
    const file = field({
      name: 'file',
      id: 'f-file',
      label: 'CSV file',
      kind: 'text',
      hint: `UTF-8 text (in a spreadsheet: save as "CSV UTF-8"), at most ${IMPORT_CSV_MAX_BYTES / 1024} KB.`,
      error: state.fileError ?? null,
    });
    const text = field({
      name: 'csv',
      id: 'f-csv',
      label: 'Or paste the CSV text',
      kind: 'textarea',
      value: state.text ?? '',
      rows: 8,
      hint: 'Used when no file is chosen.',
      error: state.textError ?? null,
    });
    focusFirstError([file, text]);
    const data: ImportFormData = { csrf, file, text, errors: errorSummary([file, text]), sample: SAMPLE };
    return sendConsolePage(request, reply, {
      title: `${data.errors.length > 0 ? 'Error: ' : ''}Import organisations`,
      bodyHtml: renderConsoleTemplate('@console-organisations-import', data),
      status: state.status,
      section: 'organisations',
    });
  }

  function previewPage(request: FastifyRequest, reply: FastifyReply, csv: string, plan: ImportPlan, notice: string | null): FastifyReply {
    const { csrf } = consoleContext(request);
    const { counts } = plan;
    const rows: ImportRowView[] = plan.rows.map((row) => ({
      line: row.line,
      name: row.name,
      existingName: row.existingName !== null && row.existingName !== row.name ? row.existingName : null,
      outcomeText: OUTCOME_WORDS[row.outcome].text,
      outcomeTone: OUTCOME_WORDS[row.outcome].tone,
      // A new organisation's domains are its list, not a change to one.
      added: row.outcome === 'new' ? [] : row.added.map(domainView),
      removed: row.removed.map(domainView),
      kept: row.outcome === 'refused' ? [] : row.domains.filter((domain) => row.outcome === 'new' || !row.added.includes(domain)).map(domainView),
      reasons: row.reasons,
    }));
    const lines = plan.rows.length;
    const data: ImportPreviewData = {
      csrf,
      notice: notice ? [{ href: null, text: notice }] : [],
      summary:
        `${lines} ${lines === 1 ? 'line' : 'lines'}: ${counts.new} new ${counts.new === 1 ? 'organisation' : 'organisations'}, ` +
        `${counts.changed} changed, ${counts.unchanged} unchanged, ${counts.refused} refused. Nothing is changed yet.`,
      rows,
      changes: counts.new + counts.changed,
      refused: counts.refused,
      csv: Buffer.from(csv, 'utf8').toString('base64url'),
      digest: plan.digest,
    };
    return sendConsolePage(request, reply, {
      title: `${notice ? 'Error: ' : ''}Import preview`,
      bodyHtml: renderConsoleTemplate('@console-organisations-import-preview', data),
      status: notice ? 409 : 200,
      section: 'organisations',
    });
  }

  app.get('/organisations/import', { schema: { hide: true } }, async (request, reply) => importFormPage(request, reply));

  // A file needs multipart/form-data without JavaScript, which only this route takes (the pasted
  // text alone may also come urlencoded). The preview writes nothing.
  await app.register(async (upload) => {
    await upload.register(multipart, {
      attachFieldsToBody: 'keyValues',
      // An oversized file or text is cut, not an error: the form then says how large it may be.
      throwFileSizeLimit: false,
      limits: { files: 1, fileSize: IMPORT_CSV_MAX_BYTES, fields: 4, fieldSize: IMPORT_CSV_MAX_BYTES + 1, parts: 6, headerPairs: 100 },
      async onFile(part) {
        const chunks: Buffer[] = [];
        for await (const chunk of part.file) chunks.push(chunk as Buffer);
        const file: UploadedFile = { bytes: Buffer.concat(chunks), truncated: part.file.truncated };
        (part as unknown as { value: UploadedFile }).value = file;
      },
    });
    // @fastify/multipart read the fields in its own preValidation hook, just above: now `_csrf` is in the body.
    upload.addHook('preValidation', async (request) => checkCsrf(sessions, request));

    upload.post('/organisations/import', { schema: { hide: true }, config: { csrfAfterMultipart: true } }, async (request, reply) => {
      const body = request.body as Record<string, unknown> | undefined;
      const file = isUploadedFile(body?.file) && body.file.bytes.length > 0 ? body.file : null;
      const pasted = formText(body, 'csv');
      const hasText = pasted.trim() !== '';
      if (file && hasText) return importFormPage(request, reply, { text: pasted, fileError: 'Choose a file or paste the text, not both', status: 400 });
      if (!file && !hasText) return importFormPage(request, reply, { fileError: 'Choose a CSV file, or paste its text below', status: 400 });
      if (file?.truncated) return importFormPage(request, reply, { fileError: `The file ${TOO_LARGE}`, status: 413 });
      if (!file && Buffer.byteLength(pasted, 'utf8') > IMPORT_CSV_MAX_BYTES) {
        return importFormPage(request, reply, { textError: `The text ${TOO_LARGE}`, status: 413 });
      }
      let csv = pasted;
      try {
        if (file) csv = csvTextOf(file.bytes);
        return previewPage(request, reply, csv, await organisations.previewImport(csv), null);
      } catch (error) {
        if (!(error instanceof BadRequestError)) throw error;
        const message = `The CSV cannot be read: ${error.errors?.[0]?.message ?? error.detail}`;
        return importFormPage(request, reply, file ? { fileError: message, status: 400 } : { text: pasted, textError: message, status: 400 });
      }
    });
  });

  // Plans the previewed text again and applies it if the plan is the one previewed.
  app.post('/organisations/import/apply', { schema: { hide: true } }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const csv = csvTextOf(Buffer.from(formText(request.body, 'csv'), 'base64url'));
    const digest = formText(request.body, 'digest');
    let result;
    try {
      result = await organisations.applyImport(csv, digest, organizer);
    } catch (error) {
      // A domain or name taken by a change made at the same moment: nothing was written.
      if (!(error instanceof ConflictError)) throw error;
      return previewPage(request, reply, csv, await organisations.previewImport(csv), changedMeanwhile);
    }
    if (!result.applied) return previewPage(request, reply, csv, result.plan, changedMeanwhile);
    const query = new URLSearchParams({ done: 'imported', added: String(result.plan.counts.new), changed: String(result.plan.counts.changed) });
    return redirect303(reply, `${ORGANISATIONS_PAGE}?${query.toString()}`);
  });
}

const changedMeanwhile =
  'The organisations changed since the preview, so nothing was imported. This is what the import would do now: check it, then apply it again.';
