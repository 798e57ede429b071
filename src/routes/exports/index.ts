import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RegistrationStatus } from '../../../db/schema/index.js';
import type { Services } from '../../services/index.js';
import { DEFAULT_EXPORT_STATUSES, EXPORT_STATUSES, type ExportFormat, type ExportPlan } from '../../services/exports.service.js';
import { bearer, DateTime, IdParams, problems, StringEnum } from '../schemas.js';
import { createExportStreamer, type ExportSlots } from './stream.js';

export interface ExportRoutesOptions {
  services: Services;
  /** The exports streaming at once in this process (each holds a database connection), shared with the console. */
  slots: ExportSlots;
}

const ONE_STATUS = `(${EXPORT_STATUSES.join('|')})`;
const STATUS_LIST = `^${ONE_STATUS}(,${ONE_STATUS})*$`;
const Status = Type.String({
  pattern: STATUS_LIST,
  description: `comma-separated statuses to include (${EXPORT_STATUSES.join(', ')}); default \`${DEFAULT_EXPORT_STATUSES.join(',')}\``,
  examples: ['confirmed,waitlisted'],
});

const SessionExportQuery = Type.Object({ status: Type.Optional(Status) }, { additionalProperties: false });
const CsvExportQuery = Type.Object(
  {
    status: Type.Optional(Status),
    bom: Type.Optional(StringEnum(['0', '1', 'true', 'false'] as const, { description: '`1`: start with a UTF-8 byte order mark (for Excel)' })),
  },
  { additionalProperties: false },
);
const RangeExportQuery = Type.Object(
  {
    from: DateTime({ description: 'sessions starting at or after this instant' }),
    to: DateTime({ description: 'sessions starting before this instant' }),
    status: Type.Optional(Status),
    bom: CsvExportQuery.properties.bom,
  },
  { additionalProperties: false },
);

function statusesOf(value: string | undefined): RegistrationStatus[] {
  return value ? (value.split(',') as RegistrationStatus[]) : [...DEFAULT_EXPORT_STATUSES];
}

const COLUMNS_TEXT =
  'Columns: registration id, name, e-mail, organisation (as typed), member organisation (recorded at registration by the address\'s domain), job title, status, waitlist position, offer expires at (once a seat was offered from the waitlist), registered at, checked in at, first joined at (times in the session\'s zone, named in the header), then one column per question, headed by its label.';

/**
 * Attendee list exports (organizer). The bytes are streamed from the database cursor to the
 * client by the streaming reply shared with the console (./stream.ts): a per-process limit
 * bounds the exports running at once (429 with Retry-After beyond it), and every export is
 * written to the audit log when its stream ends, with the number of rows that went out.
 */
export const exportRoutes: FastifyPluginAsyncTypebox<ExportRoutesOptions> = async (app, { services, slots }) => {
  app.addHook('onRequest', app.authenticate);
  const common = { tags: ['exports'], security: bearer };
  const streamExport = createExportStreamer(services.exports, slots);
  const stream = (request: FastifyRequest, reply: FastifyReply, format: ExportFormat, plan: () => Promise<ExportPlan>, bom = false) =>
    streamExport(request, reply, request.organizer, format, plan, bom);

  app.get(
    '/sessions/:id/attendees.csv',
    {
      schema: {
        ...common,
        summary: 'The attendee list as CSV (RFC 4180, UTF-8, formula-safe), streamed',
        description: `${COLUMNS_TEXT} A cell starting with =, +, -, @, tab or CR gets a leading single quote. Recorded in the audit log.`,
        params: IdParams,
        querystring: CsvExportQuery,
        produces: ['text/csv'],
        response: { 200: Type.String({ description: 'text/csv; charset=utf-8' }), ...problems(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const bom = request.query.bom === '1' || request.query.bom === 'true';
      return stream(request, reply, 'csv', () => services.exports.planSession(request.params.id, statusesOf(request.query.status)), bom);
    },
  );

  app.get(
    '/sessions/:id/attendees.json',
    {
      schema: {
        ...common,
        summary: 'The attendee list as JSON, streamed',
        description:
          'The same rows as the CSV: `{ session, statuses, questions, items: [{ id, name, email, organization, organisationId, organisationName, jobTitle, status, waitlistPosition, offerExpiresAt, registeredAt, checkedInAt, firstJoinedAt, answers }] }`, timestamps in UTC. Recorded in the audit log.',
        params: IdParams,
        querystring: SessionExportQuery,
        produces: ['application/json'],
        response: { 200: Type.String({ description: 'application/json, streamed' }), ...problems(400, 401, 404, 429) },
      },
    },
    async (request, reply) =>
      stream(request, reply, 'json', () => services.exports.planSession(request.params.id, statusesOf(request.query.status))),
  );

  app.get(
    '/sessions/:id/attendees.xlsx',
    {
      schema: {
        ...common,
        summary: 'The attendee list as an Excel workbook, streamed',
        description: `${COLUMNS_TEXT} Times are date cells. Recorded in the audit log.`,
        params: IdParams,
        querystring: SessionExportQuery,
        produces: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
        response: { 200: Type.String({ description: 'an XLSX workbook' }), ...problems(400, 401, 404, 429) },
      },
    },
    async (request, reply) =>
      stream(request, reply, 'xlsx', () => services.exports.planSession(request.params.id, statusesOf(request.query.status))),
  );

  app.get(
    '/exports/registrations.csv',
    {
      schema: {
        ...common,
        summary: 'Registrations of every session starting in a range, as CSV, streamed',
        description:
          'Sessions starting in [from, to) that the caller hosts (an admin: every session), in start order. Columns: session, session start, time zone, then the columns of the attendee list; every time is in its own session\'s zone, named in the "Time zone" column; one column per distinct question label. Recorded in the audit log.',
        querystring: RangeExportQuery,
        produces: ['text/csv'],
        response: { 200: Type.String({ description: 'text/csv; charset=utf-8' }), ...problems(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const { from, to, status } = request.query;
      const bom = request.query.bom === '1' || request.query.bom === 'true';
      return stream(request, reply, 'csv', () => services.exports.planRange(from, to, statusesOf(status), request.organizer), bom);
    },
  );
};
