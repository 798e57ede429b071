import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { and, asc, eq, gte, lt } from 'drizzle-orm';
import type pg from 'pg';
import QueryStream from 'pg-query-stream';
import type { Database } from '../../db/client.js';
import { sessions, type Answers, type RegistrationStatus, type SessionRow } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import { ERASED_ADDRESS_PATTERN } from './erasure.service.js';
import { visibleTo, type Viewer } from './hosts.js';
import { csvStringifier, neutraliseCell, xmlSafe, ZoneTime } from './export-format.js';

/**
 * Attendee list exports. Rows are streamed from Postgres through a cursor on a connection of
 * their own (pg-query-stream, a batch at a time), turned into cells and written to the
 * response as they come, so memory does not grow with the number of rows. When the client goes
 * away the pipeline is destroyed, which closes the cursor and gives the connection back.
 */

export type ExportFormat = 'csv' | 'json' | 'xlsx';
export const EXPORT_STATUSES: readonly RegistrationStatus[] = ['confirmed', 'waitlisted', 'pending', 'offered', 'cancelled', 'declined', 'expired'];
/** An attendee list is the people still coming or waiting, unless the caller asks for more. */
export const DEFAULT_EXPORT_STATUSES: readonly RegistrationStatus[] = ['confirmed', 'waitlisted'];

/** Rows fetched per round trip of the cursor. */
const BATCH_SIZE = 1_000;

type ColumnKind = 'text' | 'number' | 'time';

interface Column {
  header: string;
  kind: ColumnKind;
  /** Width in characters, for the workbook. */
  width: number;
}

/** One row as the cursor returns it: instants as epoch milliseconds (a float parses faster than a timestamp). */
interface RawRow {
  session_id: string;
  id: string;
  name: string;
  email: string;
  organization: string | null;
  organisation_id: string | null;
  organisation_name: string | null;
  job_title: string | null;
  status: RegistrationStatus;
  waitlist_position: number | null;
  offer_expires_at: number | null;
  registered_at: number;
  checked_in_at: number | null;
  first_joined_at: number | null;
  answers: Answers;
}

interface SessionLayout {
  row: SessionRow;
  zone: ZoneTime;
  /** Question id and the index of its column among the question columns. */
  questions: Array<{ id: string; column: number }>;
}

/** What one export will contain: its columns, the sessions it covers, and the query of its rows. */
export interface ExportPlan {
  kind: 'session' | 'range';
  /** File name without extension; only [a-z0-9-]. */
  filename: string;
  columns: Column[];
  /** How many of the columns are the fixed ones; the questions' follow. */
  fixedColumns: number;
  sessions: Map<string, SessionLayout>;
  statuses: RegistrationStatus[];
  /** For the audit entry. */
  scope: Record<string, unknown>;
  sql: string;
  params: unknown[];
}

export interface ExportResult {
  rows: number;
  /** false when the client went away or the stream failed before the end. */
  completed: boolean;
  error?: Error;
}

export interface ExportOptions {
  bom?: boolean;
}

const REGISTRATION_COLUMNS = (zoneLabel: string): Column[] => [
  { header: 'Registration ID', kind: 'text', width: 38 },
  { header: 'Name', kind: 'text', width: 28 },
  { header: 'E-mail', kind: 'text', width: 32 },
  { header: 'Organisation', kind: 'text', width: 28 },
  // The one recorded at registration by the address's domain, beside the one the person typed.
  { header: 'Member organisation', kind: 'text', width: 28 },
  { header: 'Job title', kind: 'text', width: 24 },
  { header: 'Status', kind: 'text', width: 12 },
  { header: 'Waitlist position', kind: 'number', width: 10 },
  { header: `Offer expires at (${zoneLabel})`, kind: 'time', width: 20 },
  { header: `Registered at (${zoneLabel})`, kind: 'time', width: 20 },
  { header: `Checked in at (${zoneLabel})`, kind: 'time', width: 20 },
  { header: `First joined at (${zoneLabel})`, kind: 'time', width: 20 },
];

/** In a cross-session export every row's times are in its own session's zone, named in this column. */
export const RANGE_ZONE_LABEL = 'local time';

/** The columns before the registration's own: the session's title, start and zone (cross-session exports). */
const RANGE_COLUMNS: Column[] = [
  { header: 'Session', kind: 'text', width: 36 },
  { header: `Session start (${RANGE_ZONE_LABEL})`, kind: 'time', width: 20 },
  { header: 'Time zone', kind: 'text', width: 20 },
];

/**
 * The rows of the given sessions (`$1`, in export order) with the given statuses (`$2`).
 *
 * Waitlist positions in the same pass: the rank of each waiting registration by ticket within
 * its session (the number the registrations list shows), computed by a window over the
 * session's rows before the status filter, not a query per row. Every step is a scan or a sort
 * whatever the statistics say: a join with a separately ranked waitlist can be planned as a
 * nested loop on a freshly filled session and turn quadratic. The address is one primary-key
 * lookup per row, for the same reason.
 *
 * The offer's deadline as the API shows it: set once a seat was offered (held, accepted, declined
 * or lapsed), empty for anyone never offered one.
 *
 * The member organisation recorded at registration, by its current name: a primary-key lookup
 * per row that has one, like the address; none for an erased person (queries.ts says why).
 */
export const EXPORT_ROWS_SQL = `
  SELECT r.session_id, r.id, r.name, a.email,
    r.organization, CASE WHEN a.email NOT LIKE '${ERASED_ADDRESS_PATTERN}' THEN r.organisation_id END AS organisation_id,
    CASE WHEN r.organisation_id IS NOT NULL AND a.email NOT LIKE '${ERASED_ADDRESS_PATTERN}'
      THEN (SELECT o.name FROM organisations o WHERE o.id = r.organisation_id) END AS organisation_name,
    r.job_title, r.status::text AS status, r.waitlist_position,
    (extract(epoch FROM r.offer_expires_at) * 1000)::float8 AS offer_expires_at,
    (extract(epoch FROM r.registered_at) * 1000)::float8 AS registered_at,
    (extract(epoch FROM r.checked_in_at) * 1000)::float8 AS checked_in_at,
    (extract(epoch FROM r.first_joined_at) * 1000)::float8 AS first_joined_at,
    r.answers
  FROM (
    SELECT session_id, id, attendee_id, name, organization, organisation_id, job_title, status, offer_expires_at, registered_at, checked_in_at,
      first_joined_at, answers,
      CASE WHEN status = 'waitlisted'
        THEN row_number() OVER (PARTITION BY session_id, status = 'waitlisted' ORDER BY waitlist_ticket, id) END::int AS waitlist_position
    FROM registrations WHERE session_id = ANY($1::uuid[])
  ) r
  CROSS JOIN LATERAL (SELECT email FROM attendees WHERE attendees.id = r.attendee_id) a
  WHERE r.status = ANY($2::registration_status[])
  ORDER BY array_position($1::uuid[], r.session_id), r.registered_at, r.id`;

/**
 * Question columns, headed by their labels. A label that would repeat an earlier header gets
 * the question id in brackets, so no two columns share a header.
 */
function questionColumns(
  sessionRows: SessionRow[],
  fixedHeaders: string[],
  shareByLabel: boolean,
): { columns: Column[]; layouts: Map<string, Array<{ id: string; column: number }>> } {
  const columns: Column[] = [];
  const byLabel = new Map<string, number>();
  const taken = new Set(fixedHeaders);
  const layouts = new Map<string, Array<{ id: string; column: number }>>();
  for (const session of sessionRows) {
    const used = new Set<number>();
    const slots: Array<{ id: string; column: number }> = [];
    for (const question of session.questions) {
      let column = shareByLabel ? byLabel.get(question.label) : undefined;
      if (column === undefined || used.has(column)) {
        let header = question.label;
        if (taken.has(header)) header = `${question.label} [${question.id}]`;
        for (let n = 2; taken.has(header); n += 1) header = `${question.label} [${question.id} ${n}]`;
        taken.add(header);
        column = columns.length;
        columns.push({ header, kind: 'text', width: Math.min(Math.max(question.label.length, 12), 40) });
        if (!byLabel.has(question.label)) byLabel.set(question.label, column);
      }
      used.add(column);
      slots.push({ id: question.id, column });
    }
    layouts.set(session.id, slots);
  }
  return { columns, layouts };
}

/** A row as typed cells, in column order; instants stay epoch milliseconds until a writer formats them. */
function cellsOf(plan: ExportPlan, layout: SessionLayout, row: RawRow, questionCount: number): Array<string | number | null> {
  const cells: Array<string | number | null> = [];
  if (plan.kind === 'range') cells.push(layout.row.title, layout.row.startsAt.getTime(), layout.row.timezone);
  cells.push(
    row.id,
    row.name,
    row.email,
    row.organization,
    row.organisation_name,
    row.job_title,
    row.status,
    row.waitlist_position,
    row.offer_expires_at,
    row.registered_at,
    row.checked_in_at,
    row.first_joined_at,
  );
  const base = cells.length;
  for (let i = 0; i < questionCount; i += 1) cells.push(null);
  for (const { id, column } of layout.questions) cells[base + column] = answerText(row.answers[id]);
  return cells;
}

function answerText(value: string | boolean | undefined): string | null {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return value;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Objects buffered between the stages of an export (the cursor buffers a batch of its own). */
const STAGE_HIGH_WATER_MARK = 64;
/** Bytes gathered before a write to the socket: one write per row would cost more than the row. */
const CHUNK_BYTES = 64 * 1024;

/** Gathers small chunks into writes of about CHUNK_BYTES. */
function coalesce(): Transform {
  let parts: Buffer[] = [];
  let length = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      length += chunk.length;
      if (length < CHUNK_BYTES) return callback();
      const joined = Buffer.concat(parts, length);
      parts = [];
      length = 0;
      callback(null, joined);
    },
    flush(callback) {
      callback(null, length > 0 ? Buffer.concat(parts, length) : undefined);
    },
  });
}

/** Counts rows as they pass, so the audit entry can say how many went out. */
class Counter {
  rows = 0;
}

export interface ExportsServiceDeps {
  db: Database;
  clock: Clock;
}

export function createExportsService({ db, clock }: ExportsServiceDeps) {
  const pool = db.$client as pg.Pool;

  async function planSession(sessionId: string, statuses: readonly RegistrationStatus[]): Promise<ExportPlan> {
    const [row] = await db.select().from(sessions).where(eq(sessions.id, sessionId));
    if (!row) throw new NotFoundError('No session with this id');
    const fixed = REGISTRATION_COLUMNS(row.timezone);
    const { columns, layouts } = questionColumns([row], fixed.map((column) => column.header), false);
    const chosen = [...new Set(statuses)];
    return {
      kind: 'session',
      filename: `${row.slug}-attendees`,
      columns: [...fixed, ...columns],
      fixedColumns: fixed.length,
      sessions: new Map([[row.id, { row, zone: new ZoneTime(row.timezone), questions: layouts.get(row.id) ?? [] }]]),
      statuses: chosen,
      scope: { sessionId: row.id, statuses: chosen },
      sql: EXPORT_ROWS_SQL,
      params: [[row.id], chosen],
    };
  }

  /** Registrations of every session the viewer may see that starts in [from, to), sessions in start order. */
  async function planRange(from: string, to: string, statuses: readonly RegistrationStatus[], viewer: Viewer): Promise<ExportPlan> {
    const start = new Date(from);
    const end = new Date(to);
    if (end.getTime() <= start.getTime()) {
      throw new BadRequestError('The range is not valid', [{ path: '/query/to', message: 'must be after from' }]);
    }
    const rows = await db
      .select()
      .from(sessions)
      .where(and(gte(sessions.startsAt, start), lt(sessions.startsAt, end), visibleTo(viewer)))
      .orderBy(asc(sessions.startsAt), asc(sessions.id));
    const fixed: Column[] = [...RANGE_COLUMNS, ...REGISTRATION_COLUMNS(RANGE_ZONE_LABEL)];
    const { columns, layouts } = questionColumns(rows, fixed.map((column) => column.header), true);
    const zones = new Map<string, ZoneTime>();
    const layoutMap = new Map<string, SessionLayout>();
    for (const row of rows) {
      let zone = zones.get(row.timezone);
      if (!zone) zones.set(row.timezone, (zone = new ZoneTime(row.timezone)));
      layoutMap.set(row.id, { row, zone, questions: layouts.get(row.id) ?? [] });
    }
    const chosen = [...new Set(statuses)];
    const day = (date: Date) => date.toISOString().slice(0, 10);
    return {
      kind: 'range',
      filename: `registrations-${day(start)}-to-${day(end)}`,
      columns: [...fixed, ...columns],
      fixedColumns: fixed.length,
      sessions: layoutMap,
      statuses: chosen,
      scope: { from: start.toISOString(), to: end.toISOString(), statuses: chosen, sessions: rows.length },
      sql: EXPORT_ROWS_SQL,
      params: [rows.map((row) => row.id), chosen],
    };
  }

  /**
   * Opens the cursor on a connection of its own. The connection goes back to the pool when the
   * stream closes, whether it ended, failed or was destroyed because the client went away; a
   * connection that failed is discarded rather than reused.
   */
  async function openRows(plan: ExportPlan): Promise<Readable> {
    const client = await pool.connect();
    let broken: Error | undefined;
    const onClientError = (error: Error) => {
      broken = error;
      rows.destroy(error);
    };
    client.on('error', onClientError);
    const rows = client.query(new QueryStream(plan.sql, plan.params, { batchSize: BATCH_SIZE }));
    rows.once('close', () => {
      client.off('error', onClientError);
      client.release(broken);
    });
    return rows;
  }

  function questionCount(plan: ExportPlan): number {
    return plan.columns.length - plan.fixedColumns;
  }

  function layoutOf(plan: ExportPlan, row: RawRow): SessionLayout {
    const layout = plan.sessions.get(row.session_id);
    if (!layout) throw new Error(`row of an unplanned session ${row.session_id}`);
    return layout;
  }

  function csvTransform(plan: ExportPlan, counter: Counter): Transform {
    const kinds = plan.columns.map((column) => column.kind);
    const questions = questionCount(plan);
    const transform = new Transform({
      objectMode: true,
      highWaterMark: STAGE_HIGH_WATER_MARK,
      transform(row: RawRow, _encoding, callback) {
        const layout = layoutOf(plan, row);
        const cells = cellsOf(plan, layout, row, questions);
        const out = new Array<string>(cells.length);
        for (let i = 0; i < cells.length; i += 1) {
          const value = cells[i];
          if (value === null || value === undefined) out[i] = '';
          else if (kinds[i] === 'time') out[i] = layout.zone.format(value as number);
          else if (typeof value === 'number') out[i] = String(value);
          else out[i] = neutraliseCell(value);
        }
        counter.rows += 1;
        callback(null, out);
      },
    });
    transform.push(plan.columns.map((column) => neutraliseCell(column.header)));
    return transform;
  }

  /** `{ session, questions, items: [...] }`, timestamps in UTC as everywhere in the JSON API. */
  function jsonTransform(plan: ExportPlan, counter: Counter): Transform {
    const [layout] = plan.sessions.values();
    const session = layout!.row;
    const questions = session.questions.map((question) => ({ id: question.id, label: question.label, type: question.type }));
    const head = {
      session: {
        id: session.id,
        slug: session.slug,
        title: session.title,
        startsAt: session.startsAt.toISOString(),
        endsAt: session.endsAt.toISOString(),
        timezone: session.timezone,
      },
      statuses: plan.statuses,
      questions,
    };
    const prefix = `${JSON.stringify(head).slice(0, -1)},"items":[`;
    let first = true;
    const transform = new Transform({
      writableObjectMode: true,
      writableHighWaterMark: STAGE_HIGH_WATER_MARK,
      transform(row: RawRow, _encoding, callback) {
        const answers: Record<string, string | boolean> = {};
        for (const question of questions) {
          const value = row.answers[question.id];
          if (value !== undefined) answers[question.id] = value;
        }
        const item = {
          id: row.id,
          name: row.name,
          email: row.email,
          organization: row.organization,
          organisationId: row.organisation_id,
          organisationName: row.organisation_name,
          jobTitle: row.job_title,
          status: row.status,
          waitlistPosition: row.waitlist_position,
          offerExpiresAt: iso(row.offer_expires_at),
          registeredAt: iso(row.registered_at),
          checkedInAt: iso(row.checked_in_at),
          firstJoinedAt: iso(row.first_joined_at),
          answers,
        };
        counter.rows += 1;
        const text = `${first ? '' : ','}\n${JSON.stringify(item)}`;
        first = false;
        callback(null, text);
      },
      flush(callback) {
        callback(null, `${first ? '' : '\n'}]}\n`);
      },
    });
    transform.push(prefix);
    return transform;
  }

  /**
   * exceljs's streaming writer: rows are committed as they come and zipped on the fly. Between
   * batches the loop waits while the response is not taking data, so a slow client does not
   * make the workbook pile up in memory.
   */
  function xlsxStream(plan: ExportPlan, rows: Readable, counter: Counter, done: (error?: Error) => void): Readable {
    const output = new PassThrough({ highWaterMark: 256 * 1024 });
    // Errors are reported through `done`; this keeps a late write after a disconnect from throwing.
    output.on('error', () => undefined);
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: output, useStyles: true, useSharedStrings: false });
    const sheet = workbook.addWorksheet('Attendees', { views: [{ state: 'frozen', ySplit: 1 }] });
    sheet.columns = plan.columns.map((column) => ({
      width: column.width,
      ...(column.kind === 'time' ? { style: { numFmt: 'yyyy-mm-dd hh:mm:ss' } } : {}),
    }));
    const kinds = plan.columns.map((column) => column.kind);
    const questions = questionCount(plan);
    let closed = false;
    output.once('close', () => {
      closed = true;
      rows.destroy();
    });

    const write = async () => {
      const header = sheet.addRow(plan.columns.map((column) => xmlSafe(column.header)));
      header.font = { bold: true };
      header.commit();
      for await (const row of rows as AsyncIterable<RawRow>) {
        if (closed) throw new Error('the client went away');
        const layout = layoutOf(plan, row);
        const cells = cellsOf(plan, layout, row, questions);
        const values = cells.map((value, i) => {
          if (value === null || value === undefined) return null;
          if (kinds[i] === 'time') return layout.zone.wallClock(Math.floor((value as number) / 1000) * 1000);
          return typeof value === 'number' ? value : xmlSafe(value);
        });
        sheet.addRow(values).commit();
        counter.rows += 1;
        if (counter.rows % 200 === 0) {
          while (!closed && output.readableLength >= output.readableHighWaterMark) {
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        }
      }
      sheet.commit();
      await workbook.commit();
    };
    write().then(
      () => done(),
      (error: Error) => {
        rows.destroy();
        output.destroy(error);
        done(error);
      },
    );
    return output;
  }

  /**
   * Starts an export: opens the cursor and returns the bytes as a stream. `onEnd` is called once,
   * when the stream has ended or failed, with the number of rows that went out.
   */
  async function start(plan: ExportPlan, format: ExportFormat, options: ExportOptions, onEnd: (result: ExportResult) => void): Promise<Readable> {
    if (format !== 'csv' && plan.kind !== 'session') throw new BadRequestError(`A ${format} export covers one session`);
    const rows = await openRows(plan);
    // The end is reported once the connection is back in the pool, not merely once the bytes are out.
    const rowsClosed = new Promise<void>((resolve) => rows.once('close', resolve));
    const counter = new Counter();
    let ended = false;
    const finish = (error?: Error | null) => {
      if (ended) return;
      ended = true;
      void rowsClosed.then(() => onEnd({ rows: counter.rows, completed: !error, ...(error ? { error } : {}) }));
    };
    if (format === 'xlsx') return xlsxStream(plan, rows, counter, finish);
    if (format === 'json') return pipeline(rows, jsonTransform(plan, counter), coalesce(), finish);
    return pipeline(rows, csvTransform(plan, counter), csvStringifier({ bom: options.bom === true }), coalesce(), finish);
  }

  /** The audit entry of an export: which, by whom, how many rows; never the rows themselves. */
  async function recordExport(actor: AuditActor, plan: ExportPlan, format: ExportFormat, result: ExportResult): Promise<void> {
    const session = plan.kind === 'session' ? [...plan.sessions.keys()][0] : null;
    await recordAudit(db, {
      at: clock.now(),
      actor,
      action: plan.kind === 'session' ? 'export.attendees' : 'export.registrations',
      subjectType: plan.kind === 'session' ? 'session' : 'export',
      subjectId: session ?? null,
      details: { format, ...plan.scope, rows: result.rows, completed: result.completed },
    });
  }

  return { planSession, planRange, start, recordExport };
}

export type ExportsService = ReturnType<typeof createExportsService>;
