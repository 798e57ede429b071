import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { PARTICIPATION_COLUMNS, PARTICIPATION_MAX_YEARS, participationRange, type ParticipationService } from '../../services/participation.service.js';
import { bearer, problems, StringEnum } from '../schemas.js';
import { EXPORT_CONTENT_TYPES } from './stream.js';

/** A date or a date-time; the service reads it and says what is wrong (src/services/participation.service.ts). */
const Bound = (description: string) =>
  Type.String({ minLength: 1, maxLength: 40, description, examples: ['2026-01-01', '2026-12-04T20:00:00Z'] });

export const ParticipationQuery = Type.Object(
  {
    from: Bound('sessions starting on this day (YYYY-MM-DD, UTC) or at or after this instant (a date-time with its offset)'),
    to: Bound('sessions starting on or before this day (YYYY-MM-DD, UTC: the whole day), or before this instant'),
    bom: Type.Optional(StringEnum(['0', '1', 'true', 'false'] as const, { description: '`1`: start with a UTF-8 byte order mark (for Excel)' })),
  },
  { additionalProperties: false },
);

/** A small CSV download with the headers of every export (./stream.ts): the API's and the console's participation CSV. */
export function sendCsvDownload(reply: FastifyReply, { filename, text }: { filename: string; text: string }): FastifyReply {
  return reply
    .type(EXPORT_CONTENT_TYPES.csv)
    .header('content-disposition', `attachment; filename="${filename}"`)
    .header('cache-control', 'private, no-store')
    .header('x-content-type-options', 'nosniff')
    .send(text);
}

/** The participation report per member organisation (admin), as CSV. */
export const participationRoutes: FastifyPluginAsyncTypebox<{ participation: ParticipationService }> = async (app, { participation }) => {
  app.get(
    '/exports/participation.csv',
    {
      onRequest: app.requireAdmin,
      schema: {
        tags: ['exports'],
        security: bearer,
        summary: 'Participation per member organisation over a date range, as CSV (admin)',
        description: [
          `Columns: ${PARTICIPATION_COLUMNS.join(', ')}; one row per organisation (those without a registration too), by name.`,
          'Over the published sessions starting in the range (drafts and cancelled sessions left out), each registration counted for the organisation it recorded when it was made:',
          'Registrations: every registration its people made, whatever became of it (cancelled ones included and also shown under Cancelled);',
          'Attended: confirmed and checked in or joined; No-shows: confirmed, the session ended, neither checked in nor joined;',
          'Sessions attended: the sessions at least one of its people attended.',
          `\`from\` may not be after \`to\`; the range spans at most ${PARTICIPATION_MAX_YEARS} years. RFC 4180, UTF-8, formula-safe cells. Recorded in the audit log (export.participation).`,
        ].join(' '),
        querystring: ParticipationQuery,
        produces: ['text/csv'],
        response: { 200: Type.String({ description: 'text/csv; charset=utf-8' }), ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { from, to, bom } = request.query;
      return sendCsvDownload(reply, await participation.csv(participationRange(from, to), request.organizer, { bom: bom === '1' || bom === 'true' }));
    },
  );
};
