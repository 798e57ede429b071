import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import t from 'tap';
import { csvText, neutraliseCell, xmlSafe, ZoneTime } from '../../src/services/export-format.js';

const TRIGGERS = ['=', '+', '-', '@', '\t', '\r'];

/** Any Unicode text, with the characters that matter to CSV and spreadsheets made likely. */
const anyText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom('"', ',', '\r', '\n', '\t', ' ', '=', '+', '-', '@', "'", 'é', '😀', '\u0000', '\ufeff'), maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...TRIGGERS), fc.string({ unit: 'binary', maxLength: 20 })).map(([first, rest]) => first + rest),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
);

t.test('neutraliseCell: a cell a spreadsheet would evaluate gets one leading quote, any other is untouched', async (t) => {
  fc.assert(
    fc.property(anyText, (value) => {
      const out = neutraliseCell(value);
      if (value.length > 0 && [...TRIGGERS, '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20'].includes(value[0]!)) {
        return out === `'${value}` && !TRIGGERS.includes(out[0]!);
      }
      return out === value;
    }),
    { numRuns: 2_000 },
  );
  t.equal(neutraliseCell('=HYPERLINK("http://evil.example","click")'), `'=HYPERLINK("http://evil.example","click")`);
  t.equal(neutraliseCell('@SUM(A1)'), "'@SUM(A1)");
  t.equal(neutraliseCell('\tx'), "'\tx");
  t.equal(neutraliseCell('\rx'), "'\rx");
  t.equal(neutraliseCell('+1 555 0100'), "'+1 555 0100");
  t.equal(neutraliseCell('Ana = Ana'), 'Ana = Ana', 'only the first character counts');
  t.equal(neutraliseCell(''), '');
});

t.test('CSV: any Unicode in any cell survives a round trip through csv-parse, rows and cells intact', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.array(anyText, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }).chain((rows) => {
        // Every record of a CSV file has the same number of cells.
        const width = rows[0]!.length;
        return fc.constant(rows.map((row) => Array.from({ length: width }, (_, i) => row[i] ?? '')));
      }),
      fc.boolean(),
      (rows, bom) => {
        const text = csvText(rows, { bom });
        // RFC 4180: CRLF after every record, including the last.
        if (!text.endsWith('\r\n')) return false;
        if (bom !== text.startsWith('\ufeff')) return false;
        const parsed = parse(text, { bom: true, relax_column_count: false, record_delimiter: '\r\n' }) as string[][];
        const expected = rows.map((row) => row.map(neutraliseCell));
        if (parsed.length !== rows.length) return false;
        for (let r = 0; r < rows.length; r += 1) {
          for (let c = 0; c < rows[r]!.length; c += 1) {
            const cell = parsed[r]![c]!;
            if (cell !== expected[r]![c]) return false;
            if (TRIGGERS.includes(cell[0] ?? '')) return false;
          }
        }
        return true;
      },
    ),
    { numRuns: 1_000 },
  );
  t.pass('1,000 random tables parsed back intact');
});

t.test('CSV: quoting follows RFC 4180', async (t) => {
  t.equal(csvText([['a', 'b,c', 'say "hi"', 'two\nlines', 'cr\ronly']]), 'a,"b,c","say ""hi""","two\nlines","cr\ronly"\r\n');
  t.equal(csvText([['x']], { bom: true }), '\ufeffx\r\n');
});

const ZONES = ['America/Chicago', 'Europe/Berlin', 'Australia/Lord_Howe', 'America/St_Johns', 'Asia/Kolkata', 'Pacific/Chatham', 'UTC', 'America/Sao_Paulo', 'Asia/Kathmandu'];

t.test('ZoneTime formats like luxon in every zone, across transitions', async (t) => {
  const zones = new Map(ZONES.map((zone) => [zone, new ZoneTime(zone)]));
  fc.assert(
    fc.property(fc.constantFrom(...ZONES), fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2060, 0, 1) }), (zone, ms) => {
      const expected = DateTime.fromMillis(ms, { zone }).toFormat('yyyy-MM-dd HH:mm:ss');
      return zones.get(zone)!.format(ms) === expected;
    }),
    { numRuns: 5_000 },
  );
  // Right around the 2026 transitions of Chicago: 2026-03-08 08:00Z and 2026-11-01 07:00Z.
  const chicago = new ZoneTime('America/Chicago');
  for (const at of [Date.UTC(2026, 2, 8, 7, 59, 59), Date.UTC(2026, 2, 8, 8, 0, 0), Date.UTC(2026, 10, 1, 6, 59, 59), Date.UTC(2026, 10, 1, 7, 0, 0)]) {
    t.equal(chicago.format(at), DateTime.fromMillis(at, { zone: 'America/Chicago' }).toFormat('yyyy-MM-dd HH:mm:ss'));
  }
  t.equal(chicago.format(Date.parse('2026-12-04T20:00:00Z')), '2026-12-04 14:00:00', 'the December 4 session starts at 14:00 in Chicago');
  t.throws(() => new ZoneTime('Mars/Olympus'));
});

t.test('xmlSafe replaces what XML cannot hold and keeps the rest', async (t) => {
  t.equal(xmlSafe('a\u0000b\u0008c\td\ne'), 'a\ufffdb\ufffdc\td\ne');
  t.equal(xmlSafe('😀 ok'), '😀 ok');
  t.equal(xmlSafe('lone \ud800 high'), 'lone \ufffd high');
});
