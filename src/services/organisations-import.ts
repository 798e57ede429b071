import { CsvError, parse } from 'csv-parse/sync';
import { BadRequestError } from '../errors.js';

/**
 * Reading the CSV of member organisations an admin imports (console: Organisations, Import from
 * CSV): a header line naming the columns `name` and `domains` (in any order; other columns are
 * ignored), then one organisation per line, its domains separated by spaces or semicolons (or
 * commas, inside a quoted cell). What the lines would change, and applying that, is
 * organisations.service.ts (`previewImport`, `applyImport`).
 */

/**
 * At most this much text. The preview carries the text to Apply in a hidden field, base64url
 * encoded (4/3 larger), which must fit the default form body limit (256 KB) with room to spare.
 */
export const IMPORT_CSV_MAX_BYTES = 64 * 1024;
/** At most this many organisations in one import (a network of cities has a few hundred). */
export const IMPORT_ROWS_MAX = 1000;

/** One organisation line of the CSV, as written (checked when the import is planned). */
export interface ImportLine {
  /** The line of the text where the record ends (1 is the header). */
  line: number;
  name: string;
  /** The domain cell split at spaces, semicolons and commas; empty when the cell is. */
  domains: string[];
}

const CSV_PATH = '/csv';

function refused(message: string): BadRequestError {
  return new BadRequestError(`The CSV cannot be read: ${message}`, [{ path: CSV_PATH, message }]);
}

/** The text of an uploaded file, which must be UTF-8 (a spreadsheet's "CSV UTF-8"): never guessed, never garbled. */
export function csvTextOf(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw refused('the file is not UTF-8 text: save it as "CSV UTF-8" and try again');
  }
}

/** The organisation lines of a CSV text, or a 400 at `/csv` saying what makes the text unreadable. */
export function parseOrganisationsCsv(text: string): ImportLine[] {
  if (Buffer.byteLength(text, 'utf8') > IMPORT_CSV_MAX_BYTES) throw refused(`it must be at most ${IMPORT_CSV_MAX_BYTES / 1024} KB`);
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, {
      bom: true,
      info: true,
      trim: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      max_record_size: IMPORT_CSV_MAX_BYTES,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines;
      throw refused(`${line ? `line ${line}: ` : ''}${error.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quote is not closed' : 'it is not valid CSV'}`);
    }
    throw error;
  }
  const [header, ...rows] = records;
  if (!header) throw refused('it is empty: the first line names the columns name,domains, then one organisation per line');
  const columns = header.record.map((cell) => cell.trim().toLowerCase());
  const nameAt = columns.indexOf('name');
  const domainsAt = columns.indexOf('domains');
  if (nameAt < 0 || domainsAt < 0) throw refused('the first line must name the columns: name,domains');
  if (rows.length === 0) throw refused('it has no organisation: one per line after the line name,domains');
  if (rows.length > IMPORT_ROWS_MAX) throw refused(`it may list at most ${IMPORT_ROWS_MAX} organisations at once (it lists ${rows.length})`);
  return rows.map(({ record, info }) => ({
    line: info.lines,
    name: record[nameAt] ?? '',
    domains: (record[domainsAt] ?? '').split(/[\s;,]+/).filter(Boolean),
  }));
}
