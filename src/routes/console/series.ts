import { DateTime } from 'luxon';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, type FieldError } from '../../errors.js';
import { fieldErrors, type AjvIssue } from '../../plugins/errors.js';
import { createAjv } from '../../plugins/validation.js';
import { SERIES_DESCRIPTION_MAX_LENGTH, SERIES_TITLE_MAX_LENGTH, type Series, type SeriesService } from '../../services/series.service.js';
import { effectiveStatus, type SessionsService } from '../../services/sessions.service.js';
import { sessionTimeText } from '../../text.js';
import { SERIES_TEMPLATES } from '../../web/console/series-templates.js';
import type { DeleteSeriesData, SeriesCandidateView, SeriesFormData, SeriesListRow } from '../../web/console/series-views.js';
import { IdParams } from '../schemas.js';
import { CreateSeriesBody, PatchSeriesBody } from '../series/schemas.js';
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
  type ConsoleFlash,
} from './layout.js';

addConsoleTemplates(SERIES_TEMPLATES);

/**
 * The most sessions the form offers. A form post is parsed with at most 100 fields (src/app.ts),
 * and each session has two (its box and its position): beyond this, ticks would be lost.
 */
export const SERIES_CANDIDATES_MAX = 40;

const STATUS: Record<ReturnType<typeof effectiveStatus>, { text: string; tone: SeriesCandidateView['statusTone'] }> = {
  draft: { text: 'Draft', tone: 'muted' },
  published: { text: 'Published', tone: 'good' },
  cancelled: { text: 'Cancelled', tone: 'stop' },
  finished: { text: 'Finished', tone: 'info' },
};

const ORDER_CHOICES = [
  { value: 'start', text: 'By start time' },
  { value: 'position', text: 'By the positions given' },
];

const DONE: Record<string, ConsoleFlash> = {
  created: { tone: 'good', text: 'The series is created. Its public page and its calendar feed are live for its published sessions.' },
  saved: { tone: 'good', text: 'The series is saved.' },
  deleted: { tone: 'info', text: 'The series is deleted. Its sessions and their registrations stay.' },
};

// The API's own schemas, so the form refuses exactly what the API refuses.
const validateCreate = createAjv({ coerceTypes: false }).compile(CreateSeriesBody);
const validatePatch = createAjv({ coerceTypes: false }).compile(PatchSeriesBody);

/** Where a field error of the API goes on the form. */
const FIELD_PATHS = { '/title': 'title', '/slug': 'slug', '/description': 'description' };

interface SeriesFormValues {
  title: string;
  slug: string;
  description: string;
  order: 'start' | 'position';
  /** The ticked sessions, in the order the form sent them. */
  ticked: string[];
  /** The position fields as typed, by session id. */
  positions: Map<string, string>;
}

/** The ticked boxes: one value, or several (qs makes an object of repeated names, see src/app.ts). */
function tickedIds(body: unknown): string[] {
  const raw = body && typeof body === 'object' ? (body as Record<string, unknown>).sessionIds : undefined;
  const values = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : [];
  return [...new Set(values.filter((value): value is string => typeof value === 'string').map((value) => value.toLowerCase()))];
}

function readForm(body: unknown): SeriesFormValues {
  const positions = new Map<string, string>();
  if (body && typeof body === 'object') {
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      if (name.startsWith('position-') && typeof value === 'string') positions.set(name.slice('position-'.length).toLowerCase(), value.trim());
    }
  }
  return {
    title: formText(body, 'title').trim(),
    slug: formText(body, 'slug').trim(),
    description: formText(body, 'description'),
    order: formText(body, 'order') === 'position' ? 'position' : 'start',
    ticked: tickedIds(body),
    positions,
  };
}

function valuesOf(row: Series): SeriesFormValues {
  return {
    title: row.title,
    slug: row.slug,
    description: row.description ?? '',
    order: 'position',
    ticked: row.sessions.map((session) => session.id),
    positions: new Map(row.sessions.map((session, index) => [session.id, String(index + 1)])),
  };
}

const POSITION = /^[1-9][0-9]{0,2}$/;

/**
 * The ticked sessions in the chosen order: by start time, or by their positions (ties by start
 * time). Returns the ids, and the ids whose position is not a whole number from 1 to 999.
 */
function orderedIds(values: SeriesFormValues, known: Map<string, SessionRow>): { ids: string[]; badPositions: string[] } {
  const start = (id: string) => known.get(id)?.startsAt.getTime() ?? Number.MAX_SAFE_INTEGER;
  if (values.order === 'start') return { ids: [...values.ticked].sort((a, b) => start(a) - start(b)), badPositions: [] };
  const badPositions = values.ticked.filter((id) => !POSITION.test(values.positions.get(id) ?? ''));
  const position = (id: string) => Number(values.positions.get(id));
  return { ids: [...values.ticked].sort((a, b) => position(a) - position(b) || start(a) - start(b)), badPositions };
}

export interface ConsoleSeriesPagesOptions {
  series: SeriesService;
  sessions: Pick<SessionsService, 'list'>;
  clock: Clock;
}

/**
 * The console's series pages: `/console/series` (the series the organizer may see, as
 * `GET /api/v1/series`), New series and Edit (a form with the sessions it hosts to tick, in the
 * order of their start or of the positions given), Delete (confirmed). The same service calls as
 * the API's, so the same hosts rule, checks and audit entries, with the organizer as actor.
 */
export async function consoleSeriesPages(app: FastifyInstance, { series, sessions, clock }: ConsoleSeriesPagesOptions): Promise<void> {
  addConsoleNavItem({ href: '/console/series', text: 'Series', section: 'series' });

  const byId = { schema: { hide: true, params: IdParams } };
  type ById = FastifyRequest<{ Params: { id: string } }>;

  app.get('/series', { schema: { hide: true } }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const now = clock.now();
    const rows: SeriesListRow[] = (await series.list(organizer)).map((row) => {
      const counts = new Map<string, number>();
      for (const session of row.sessions) {
        const text = STATUS[effectiveStatus(session, now)].text.toLowerCase();
        counts.set(text, (counts.get(text) ?? 0) + 1);
      }
      const starts = row.sessions.map((session) => session.startsAt.getTime());
      const zone = row.sessions[0]?.timezone ?? 'UTC';
      const day = (at: number) => DateTime.fromMillis(at, { zone }).toFormat('LLL d, yyyy');
      const first = Math.min(...starts);
      const last = Math.max(...starts);
      return {
        id: row.id,
        title: row.title,
        slug: row.slug,
        pageHref: `/series/${encodeURIComponent(row.slug)}`,
        sessionCount: row.sessions.length,
        statusText: [...counts].map(([text, n]) => `${n} ${text}`).join(', '),
        datesText: starts.length === 0 ? '' : first === last ? day(first) : `${day(first)} – ${day(last)}`,
      };
    });
    const done = formText(request.query, 'done');
    return sendConsolePage(request, reply, {
      title: 'Series',
      bodyHtml: renderConsoleTemplate('@console-series-list', { rows }),
      flash: Object.hasOwn(DONE, done) ? DONE[done]! : null,
      section: 'series',
    });
  });

  interface FormState {
    values: SeriesFormValues;
    errors?: FieldError[];
    /** Positions that are not whole numbers. */
    badPositions?: string[];
    status?: number;
  }

  /** The sessions the form offers: those the organizer hosts that have not ended (drafts too), and the series' own. */
  async function candidatesFor(request: FastifyRequest, existing: Series | null): Promise<{ rows: SessionRow[]; cut: boolean }> {
    const { organizer } = consoleContext(request);
    const now = clock.now();
    const listed = await sessions.list({ limit: SERIES_CANDIDATES_MAX, order: 'current-first' }, organizer);
    const open = listed.filter((session) => ['draft', 'published'].includes(effectiveStatus(session, now)));
    const own = existing?.sessions.filter((session) => !open.some((other) => other.id === session.id)) ?? [];
    const rows = [...open, ...own].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
    return { rows, cut: listed.length >= SERIES_CANDIDATES_MAX };
  }

  async function formPage(request: FastifyRequest, reply: FastifyReply, existing: Series | null, state: FormState): Promise<FastifyReply> {
    const { csrf } = consoleContext(request);
    const now = clock.now();
    const { values } = state;
    const fields = [
      field({ name: 'title', label: 'Title', kind: 'text', value: values.title, required: true, maxlength: SERIES_TITLE_MAX_LENGTH }),
      field({
        name: 'slug',
        label: 'Address',
        kind: 'text',
        value: values.slug,
        maxlength: 80,
        autocomplete: 'off',
        hint: existing
          ? 'The page is at /series/ followed by this. Changing it breaks the links already shared.'
          : 'The page will be at /series/ followed by this: lower-case letters, digits and hyphens. Leave it empty to make it from the title.',
      }),
      field({ name: 'description', label: 'Description', kind: 'textarea', value: values.description, maxlength: SERIES_DESCRIPTION_MAX_LENGTH, hint: 'Shown on the public page.' }),
    ];
    const sessionErrors: string[] = [];
    const unplaced = withFieldErrors(
      fields,
      (state.errors ?? []).filter((error) => !error.path.startsWith('/sessionIds')),
      FIELD_PATHS,
    );
    for (const error of state.errors ?? []) if (error.path.startsWith('/sessionIds')) sessionErrors.push(error.message);
    const order = field({ name: 'order', label: 'Order in the series', kind: 'select', value: values.order, options: ORDER_CHOICES, hint: 'By the positions given: the Position column decides, 1 first.' });
    focusFirstError(fields);

    const { rows, cut } = await candidatesFor(request, existing);
    const badPositions = new Set(state.badPositions ?? []);
    const candidates: SeriesCandidateView[] = rows.map((session) => {
      const status = STATUS[effectiveStatus(session, now)];
      return {
        id: session.id,
        title: session.title,
        whenText: sessionTimeText(session.startsAt, session.endsAt, session.timezone),
        startIso: session.startsAt.toISOString(),
        statusText: status.text,
        statusTone: status.tone,
        checked: values.ticked.includes(session.id),
        position: values.positions.get(session.id) ?? '',
        positionError: badPositions.has(session.id) ? `Give ${session.title} a whole number from 1 to 999` : null,
      };
    });
    const sessionsError = sessionErrors.length > 0 ? [...new Set(sessionErrors)].join('; ') : null;
    const errors: ConsoleErrorItem[] = [
      ...errorSummary(fields, unplaced),
      ...(sessionsError ? [{ href: '#series-sessions', text: `Sessions: ${sessionsError}` }] : []),
      ...candidates.filter((c) => c.positionError).map((c) => ({ href: `#p-${c.id}`, text: c.positionError! })),
    ];
    const heading = existing ? `Edit ${existing.title}` : 'New series';
    const data: SeriesFormData = {
      csrf,
      heading,
      action: existing ? `/console/series/${existing.id}` : '/console/series',
      submitLabel: 'Save',
      fields,
      order,
      candidates,
      sessionsError,
      errors,
      candidatesNote: cut ? `Showing the sessions among your ${SERIES_CANDIDATES_MAX} soonest that have not ended.` : null,
      cancelHref: '/console/series',
    };
    return sendConsolePage(request, reply, {
      title: `${errors.length > 0 ? 'Error: ' : ''}${heading}`,
      bodyHtml: renderConsoleTemplate('@console-series-form', data),
      status: state.status,
      section: 'series',
    });
  }

  /** The API's body of the form's values (with the sessions in their order), or the form again with what is wrong. */
  async function save(request: FastifyRequest, reply: FastifyReply, existing: Series | null): Promise<FastifyReply> {
    const { organizer } = consoleContext(request);
    const values = readForm(request.body);
    const { rows } = await candidatesFor(request, existing);
    const { ids, badPositions } = orderedIds(values, new Map(rows.map((session) => [session.id, session])));
    const body: Record<string, unknown> = {
      title: values.title,
      ...(values.slug ? { slug: values.slug } : {}),
      description: values.description.trim() === '' ? null : values.description,
      sessionIds: ids,
    };
    const valid = existing ? validatePatch(body) : validateCreate(body);
    const schemaErrors = valid ? [] : fieldErrors(((existing ? validatePatch : validateCreate).errors ?? []) as AjvIssue[], 'body');
    // An empty title gets one plain "is required", not every rule it also breaks.
    const errors = schemaErrors
      .filter((error) => !(values.title === '' && error.path === '/title'))
      .map((error) => (error.path === '/sessionIds' && /fewer than 1/.test(error.message) ? { ...error, message: 'tick at least one session' } : error));
    if (values.title === '') errors.unshift({ path: '/title', message: 'is required' });
    if (errors.length > 0 || badPositions.length > 0) return formPage(request, reply, existing, { values, errors, badPositions, status: 400 });
    try {
      if (existing) await series.update(existing.id, body as never, organizer);
      else await series.create(body as never, organizer);
    } catch (error) {
      if (error instanceof BadRequestError) return formPage(request, reply, existing, { values, errors: error.errors ?? [], status: 400 });
      if (error instanceof ConflictError) return formPage(request, reply, existing, { values, errors: [{ path: '/slug', message: error.detail }], status: 409 });
      throw error;
    }
    return redirect303(reply, `/console/series?done=${existing ? 'saved' : 'created'}`);
  }

  const fresh: SeriesFormValues = { title: '', slug: '', description: '', order: 'start', ticked: [], positions: new Map() };

  app.get('/series/new', { schema: { hide: true } }, async (request, reply) => formPage(request, reply, null, { values: fresh }));

  // POST /api/v1/series.
  app.post('/series', { schema: { hide: true } }, async (request, reply) => save(request, reply, null));

  app.get('/series/:id/edit', byId, async (request: ById, reply) => {
    const row = await series.get(request.params.id, consoleContext(request).organizer);
    return formPage(request, reply, row, { values: valuesOf(row) });
  });

  // PATCH /api/v1/series/{id} with every field of the form.
  app.post('/series/:id', byId, async (request: ById, reply) => save(request, reply, await series.get(request.params.id, consoleContext(request).organizer)));

  app.get('/series/:id/delete', byId, async (request: ById, reply) => {
    const { organizer, csrf } = consoleContext(request);
    const row = await series.get(request.params.id, organizer);
    const data: DeleteSeriesData = { csrf, title: row.title, action: `/console/series/${row.id}/delete`, sessionCount: row.sessions.length };
    return sendConsolePage(request, reply, { title: `Delete ${row.title}?`, bodyHtml: renderConsoleTemplate('@console-series-delete', data), section: 'series' });
  });

  // DELETE /api/v1/series/{id}.
  app.post('/series/:id/delete', byId, async (request: ById, reply) => {
    await series.remove(request.params.id, consoleContext(request).organizer);
    return redirect303(reply, '/console/series?done=deleted');
  });
}
