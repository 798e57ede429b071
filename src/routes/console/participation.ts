import { DateTime } from 'luxon';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock.js';
import { BadRequestError, ForbiddenError, type FieldError } from '../../errors.js';
import {
  defaultParticipationDates,
  PARTICIPATION_COLUMNS,
  PARTICIPATION_ZONE,
  participationCells,
  participationRange,
  type ParticipationRange,
  type ParticipationService,
} from '../../services/participation.service.js';
import { PARTICIPATION_TEMPLATES } from '../../web/console/participation-templates.js';
import type { ParticipationPageData } from '../../web/console/participation-views.js';
import { sendCsvDownload } from '../exports/participation.js';
import {
  addConsoleNavItem,
  addConsoleTemplates,
  consoleContext,
  errorSummary,
  field,
  focusFirstError,
  formText,
  renderConsoleTemplate,
  sendConsolePage,
  withFieldErrors,
} from './layout.js';

addConsoleTemplates(PARTICIPATION_TEMPLATES);

export interface ConsoleParticipationPagesOptions {
  participation: ParticipationService;
  clock: Clock;
}

/** The longest a typed bound may be (the API's limit). */
const BOUND_MAX_LENGTH = 40;

const STATUS_WORDS = { active: { text: 'Active', tone: 'good' }, lapsed: { text: 'Lapsed', tone: 'muted' } } as const;

/** The range's days as the caption says them, `to` included. */
function rangeText(range: ParticipationRange): string {
  const day = (date: Date) => DateTime.fromJSDate(date, { zone: PARTICIPATION_ZONE }).toISODate()!;
  const last = new Date(Math.max(range.from.getTime(), range.to.getTime() - 1));
  return `from ${day(range.from)} to ${day(last)} (${PARTICIPATION_ZONE})`;
}

/**
 * The participation page (admin; console.md): the report of `GET /api/v1/exports/participation.csv`
 * from the same service call, for a range typed as the API takes it (the last 12 months by
 * default, from the clock), and the same CSV (and `export.participation` audit entry) under the
 * console session. An organizer who is not an admin gets the API's answer, 403, as a page.
 */
export async function consoleParticipationPages(app: FastifyInstance, { participation, clock }: ConsoleParticipationPagesOptions): Promise<void> {
  addConsoleNavItem({ href: '/console/participation', text: 'Participation', section: 'participation', adminOnly: true });

  app.addHook('preValidation', async (request) => {
    if (consoleContext(request).organizer.role !== 'admin') throw new ForbiddenError('Only an admin may see the participation report.');
  });

  /** The dates as typed, or the default range when neither is given. */
  function typedDates(query: unknown): { from: string; to: string } {
    const from = formText(query, 'from').trim().slice(0, BOUND_MAX_LENGTH);
    const to = formText(query, 'to').trim().slice(0, BOUND_MAX_LENGTH);
    return from === '' && to === '' ? defaultParticipationDates(clock.now()) : { from, to };
  }

  /** The range, or the service's field errors. */
  function rangeOf(dates: { from: string; to: string }): { range: ParticipationRange } | { errors: FieldError[] } {
    try {
      return { range: participationRange(dates.from, dates.to) };
    } catch (error) {
      if (error instanceof BadRequestError) return { errors: error.errors ?? [{ path: '', message: error.detail }] };
      throw error;
    }
  }

  app.get('/participation', { schema: { hide: true } }, async (request, reply) => {
    const dates = typedDates(request.query);
    const hint = `A date (YYYY-MM-DD, ${PARTICIPATION_ZONE}) or a date-time with its offset (2026-12-04T20:00:00Z)`;
    const fields = [
      field({ name: 'from', id: 'f-from', label: 'From', kind: 'text', value: dates.from, maxlength: BOUND_MAX_LENGTH, autocomplete: 'off', hint: `${hint}: sessions starting then or later` }),
      field({ name: 'to', id: 'f-to', label: 'To', kind: 'text', value: dates.to, maxlength: BOUND_MAX_LENGTH, autocomplete: 'off', hint: `${hint}: a date includes its whole day` }),
    ];
    const read = rangeOf(dates);
    let report: ParticipationPageData['report'] = null;
    const unplaced = 'errors' in read ? withFieldErrors(fields, read.errors, { '/querystring/from': 'from', '/querystring/to': 'to' }) : [];
    if ('range' in read) {
      // The same call as the API's CSV.
      const result = await participation.report(read.range);
      const query = new URLSearchParams({ from: dates.from, to: dates.to }).toString();
      report = {
        summary: `${result.sessions} published ${result.sessions === 1 ? 'session starts' : 'sessions start'} in the range, ${rangeText(read.range)}.`,
        caption: `Member organisations by name, sessions ${rangeText(read.range)}`,
        columns: PARTICIPATION_COLUMNS,
        rows: result.rows.map((row) => {
          const [name, , ...figures] = participationCells(row);
          return { name: name!, statusText: STATUS_WORDS[row.status].text, statusTone: STATUS_WORDS[row.status].tone, figures };
        }),
        csvHref: `/console/participation.csv?${query}`,
      };
    }
    focusFirstError(fields);
    const errors = errorSummary(fields, unplaced);
    const data: ParticipationPageData = { fields, errors, zone: PARTICIPATION_ZONE, report };
    return sendConsolePage(request, reply, {
      title: `${errors.length > 0 ? 'Error: ' : ''}Participation`,
      bodyHtml: renderConsoleTemplate('@console-participation', data),
      status: errors.length > 0 ? 400 : 200,
      section: 'participation',
    });
  });

  // The API's CSV (same bytes, headers and audit entry), the console's admin as actor.
  app.get('/participation.csv', { schema: { hide: true } }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const dates = typedDates(request.query);
    return sendCsvDownload(reply, await participation.csv(participationRange(dates.from, dates.to), organizer));
  });
}
