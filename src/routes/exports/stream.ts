import type { FastifyReply, FastifyRequest } from 'fastify';
import { TooManyRequestsError } from '../../errors.js';
import type { ExportFormat, ExportPlan, ExportsService } from '../../services/exports.service.js';
import type { Organizer } from '../../services/organizers.service.js';

/**
 * The one streaming reply of attendee exports, for the API (src/routes/exports/index.ts) and the
 * console (src/routes/console/people.ts): the same bytes, headers, audit entry and concurrency
 * limit, whichever way the download was asked for.
 */

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  json: 'application/json; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** A download that stalls this long (nothing written or read) is cut, so it cannot hold a connection for ever. */
const STALLED_DOWNLOAD_MS = 120_000;

/**
 * At most `limit` exports at once in this process: each holds a database connection while it
 * streams. Admission control of the HTTP layer, like the rate limits, so the answer (429 with
 * Retry-After) is decided here and not in the exports service. One instance is shared by the
 * API and the console (src/app.ts), so the limit counts both.
 */
export class ExportSlots {
  private running = 0;
  constructor(readonly limit: number) {}

  /** A release function (calling it twice releases once), or a 429 when every slot is taken. */
  acquire(retryAfterSeconds = 10): () => void {
    if (this.running >= this.limit) {
      throw new TooManyRequestsError(retryAfterSeconds, `At most ${this.limit} exports run at once; try again shortly`);
    }
    this.running += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
    };
  }
}

export type ExportStreamer = (
  request: FastifyRequest,
  reply: FastifyReply,
  actor: Organizer,
  format: ExportFormat,
  plan: () => Promise<ExportPlan>,
  bom?: boolean,
) => Promise<FastifyReply>;

/**
 * Streams an export from the database cursor to the client, holding one of `slots` until the
 * stream ends; the export is written to the audit log then (with `actor`), with the number of
 * rows that went out and whether the client got them all.
 */
export function createExportStreamer(exports: ExportsService, slots: ExportSlots): ExportStreamer {
  return async function stream(request, reply, actor, format, plan, bom = false) {
    const release = slots.acquire();
    try {
      const chosen = await plan();
      const log = request.log;
      const body = await exports.start(chosen, format, { bom }, (result) => {
        release();
        if (result.error && result.completed === false && !/premature close|client went away/i.test(result.error.message)) {
          log.error({ err: result.error }, 'export failed');
        }
        exports.recordExport(actor, chosen, format, result).catch((error: unknown) => {
          log.error({ err: error }, 'could not record an export in the audit log');
        });
      });
      // Node's HTTP server destroys a socket idle this long; once the response ends, its own
      // keep-alive timeout replaces this one.
      const socket = request.raw.socket;
      if (socket && typeof socket.setTimeout === 'function') socket.setTimeout(STALLED_DOWNLOAD_MS);
      return reply
        .type(EXPORT_CONTENT_TYPES[format])
        .header('content-disposition', `attachment; filename="${chosen.filename}.${format}"`)
        .header('cache-control', 'private, no-store')
        .header('x-content-type-options', 'nosniff')
        .send(body);
    } catch (error) {
      release();
      throw error;
    }
  };
}
