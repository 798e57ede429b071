import { stringify, type Options as CsvOptions } from 'csv-stringify';
import { stringify as stringifySync } from 'csv-stringify/sync';
import { IANAZone } from 'luxon';

/**
 * The cell-level rules of the exports: formula-safe CSV cells, RFC 4180 output, and times in
 * a session's zone. Kept apart from the streaming so each rule can be tested on its own.
 */

/**
 * Characters that make Excel, LibreOffice or Numbers read a cell as a formula (or, for tab and
 * CR, that spreadsheets strip before reading it as one). Numbers also normalises the fullwidth
 * forms, so those count too.
 */
const FORMULA_TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20']);

/** A cell that a spreadsheet would evaluate gets a leading single quote (OWASP's advice). */
export function neutraliseCell(value: string): string {
  return value.length > 0 && FORMULA_TRIGGERS.has(value[0]!) ? `'${value}` : value;
}

/**
 * RFC 4180: comma, CRLF after every record, double quotes around a cell holding a comma, a
 * quote, CR or LF (quotes doubled). csv-stringify quotes a lone CR or LF too, not only CRLF.
 */
export const CSV_OPTIONS: CsvOptions = {
  delimiter: ',',
  quote: '"',
  escape: '"',
  record_delimiter: '\r\n',
  quote_record_delimiter: true,
  // We neutralise cells ourselves (neutraliseCell), for headers too, and exactly once.
  escape_formulas: false,
  // A cell starting with U+FEFF is quoted: first in a file, it would otherwise read as a BOM and vanish.
  quoted_match: /^\uFEFF/,
};

/** The streaming CSV writer of the exports: rows of strings in, UTF-8 text out. */
export function csvStringifier(options: { bom: boolean }) {
  return stringify({ ...CSV_OPTIONS, bom: options.bom });
}

/** The same writer, all at once: for tests and small outputs. Cells are neutralised here. */
export function csvText(records: string[][], options: { bom?: boolean } = {}): string {
  return stringifySync(
    records.map((record) => record.map(neutraliseCell)),
    { ...CSV_OPTIONS, bom: options.bom ?? false },
  );
}

const HOUR_MS = 3_600_000;
const MAX_CACHED_HOURS = 50_000;

/**
 * Formats instants as wall-clock time in one IANA zone. luxon computes the zone's offset; the
 * offset of each hour is cached, after checking that the hour's first and last millisecond
 * have the same offset (no transition inside it), since an export formats hundreds of
 * thousands of instants that cluster in a few days. An hour with a transition is computed
 * exactly, instant by instant.
 */
export class ZoneTime {
  private readonly zone: IANAZone;
  private readonly offsets = new Map<number, number | null>();

  constructor(readonly name: string) {
    this.zone = IANAZone.create(name);
    if (!this.zone.isValid) throw new Error(`not an IANA time zone: ${name}`);
  }

  /** The zone's offset from UTC at this instant, in minutes. */
  offsetMinutes(epochMs: number): number {
    const hour = Math.floor(epochMs / HOUR_MS);
    let cached = this.offsets.get(hour);
    if (cached === undefined) {
      const first = this.zone.offset(hour * HOUR_MS);
      const last = this.zone.offset(hour * HOUR_MS + HOUR_MS - 1);
      cached = first === last ? first : null;
      if (this.offsets.size >= MAX_CACHED_HOURS) this.offsets.clear();
      this.offsets.set(hour, cached);
    }
    return cached ?? this.zone.offset(epochMs);
  }

  /** A Date whose UTC fields are the wall-clock time in the zone (what a spreadsheet date holds). */
  wallClock(epochMs: number): Date {
    return new Date(epochMs + this.offsetMinutes(epochMs) * 60_000);
  }

  /** `2026-12-04 14:00:00`: the form Excel and LibreOffice read as a date and time. */
  format(epochMs: number): string {
    const local = this.wallClock(Math.floor(epochMs / 1000) * 1000);
    const year = local.getUTCFullYear();
    return `${year < 1000 ? String(year).padStart(4, '0') : year}-${two(local.getUTCMonth() + 1)}-${two(local.getUTCDate())} ${two(
      local.getUTCHours(),
    )}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}`;
  }
}

function two(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** Characters that XML 1.0 (and so an XLSX file) cannot hold: C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF. */
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function xmlSafe(value: string): string {
  return value.replace(XML_INVALID, '\ufffd');
}
