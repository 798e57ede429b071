import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import http from 'node:http';
import t from 'tap';
import { neutraliseCell } from '../../src/services/export-format.js';
import { buildTestApp, manualClock, signIn, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { CITY_QUESTIONS, createSession, registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import { bulkRegistrations, removeBulk } from './support.js';

const ZONE = 'America/Chicago';
const HEADER = [
  'Registration ID',
  'Name',
  'E-mail',
  'Organisation',
  'Member organisation',
  'Job title',
  'Status',
  'Waitlist position',
  `Offer expires at (${ZONE})`,
  `Registered at (${ZONE})`,
  `Checked in at (${ZONE})`,
  `First joined at (${ZONE})`,
  'Your city',
  'Role',
  'I agree to be recorded',
];

const local = (iso: string | null, zone = ZONE) => (iso ? DateTime.fromISO(iso, { zone }).toFormat('yyyy-MM-dd HH:mm:ss') : '');

function parseCsv(body: string | Buffer): string[][] {
  return parse(body, { bom: true, record_delimiter: '\r\n' }) as string[][];
}

interface ExportedItem {
  id: string;
  name: string;
  email: string;
  organization: string | null;
  organisationId: string | null;
  organisationName: string | null;
  jobTitle: string | null;
  status: string;
  waitlistPosition: number | null;
  offerExpiresAt: string | null;
  registeredAt: string;
  checkedInAt: string | null;
  firstJoinedAt: string | null;
  answers: Record<string, string | boolean>;
}

t.test('attendee exports', async (t) => {
  const { app, database } = await buildTestApp(t);
  const { headers, organizer } = await signIn(app);
  const admin = await signIn(app, 'admin');
  const session: SessionJson = await createSession(app, headers, { capacity: 2, waitlist: { enabled: true }, questions: CITY_QUESTIONS });

  // Hostile and awkward names; two seats, two waiting, one forced seat, one cancelled, one checked in.
  const people = [
    { name: '=HYPERLINK("http://evil.example","x")', email: uniqueEmail('formula'), answers: { city: '-Springfield', role: 'Mayor', agree: true } },
    { name: 'Zoë "Q" Müller, Jr.', email: uniqueEmail('zoe'), organization: '@City of Ünïcode', answers: { city: 'Zürich, CH' } },
    { name: '+Plus Person', email: uniqueEmail('plus'), jobTitle: '=1+1', answers: { city: 'Oslo' } },
    { name: 'Waiting Two 😀', email: uniqueEmail('wait'), answers: { city: '東京' } },
    { name: 'Cancelled Person', email: uniqueEmail('gone'), answers: { city: 'Lima' } },
  ];
  for (const person of people) await registered(app, session.slug, person);
  const forced = await app.inject({
    method: 'POST',
    url: `/api/v1/sessions/${session.id}/registrations`,
    headers,
    payload: { name: 'Forced Guest', email: uniqueEmail('forced'), answers: { city: 'Rome' }, force: true },
  });
  t.equal(forced.statusCode, 201, 'forced addition');
  const cancelledId = await registrationId(database.pool, session.id, people[4]!.email);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${cancelledId}/cancel`, headers })).statusCode, 200);
  const zoeId = await registrationId(database.pool, session.id, people[1]!.email);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${zoeId}/check-in`, headers })).statusCode, 200);

  // The reference: the organizer API's own view of the registrations.
  const listed = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/registrations?status=confirmed,waitlisted&limit=500`, headers });
  const expected = listed.json<{ items: ExportedItem[] }>().items;
  t.equal(expected.length, 5, 'five active registrations');

  const csv = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv`, headers });

  t.test('CSV: RFC 4180, formula-safe, the same rows as the API', async (t) => {
    t.equal(csv.statusCode, 200);
    t.match(csv.headers['content-type'], /^text\/csv; charset=utf-8/);
    t.equal(csv.headers['content-disposition'], `attachment; filename="${session.slug}-attendees.csv"`);
    t.equal(csv.headers['cache-control'], 'private, no-store');
    t.not(csv.rawPayload.subarray(0, 3).toString('hex'), 'efbbbf', 'no BOM unless asked');
    t.ok(csv.body.endsWith('\r\n'), 'CRLF line ends');
    const rows = parseCsv(csv.body);
    t.same(rows[0], HEADER, 'header: fixed columns, the zone named, one column per question by label');
    t.equal(rows.length, 1 + expected.length, 'one row per active registration');
    expected.forEach((item, index) => {
      const row = rows[index + 1]!;
      t.same(
        row,
        [
          item.id,
          neutraliseCell(item.name),
          item.email,
          neutraliseCell(item.organization ?? ''),
          neutraliseCell(item.organisationName ?? ''),
          neutraliseCell(item.jobTitle ?? ''),
          item.status,
          item.waitlistPosition === null ? '' : String(item.waitlistPosition),
          local(item.offerExpiresAt),
          local(item.registeredAt),
          local(item.checkedInAt),
          local(item.firstJoinedAt),
          neutraliseCell(String(item.answers.city ?? '')),
          String(item.answers.role ?? ''),
          item.answers.agree === undefined ? '' : item.answers.agree ? 'yes' : 'no',
        ],
        `row ${index + 1} matches the registration`,
      );
    });
    const names = rows.slice(1).map((row) => row[1]);
    t.ok(names.includes(`'=HYPERLINK("http://evil.example","x")`), 'a formula name is neutralised');
    t.ok(names.includes("'+Plus Person"), 'a + name is neutralised');
    t.ok(rows.slice(1).some((row) => row[12] === "'-Springfield"), 'a - answer is neutralised');
    t.ok(rows.slice(1).some((row) => row[3] === "'@City of Ünïcode"), 'an @ organisation is neutralised');
    t.same(
      rows.slice(1).filter((row) => row[6] === 'waitlisted').map((row) => row[7]),
      ['1', '2'],
      'waitlist positions 1 and 2',
    );
    t.notOk(rows.some((row) => row[1] === 'Cancelled Person'), 'cancelled registrations are left out by default');
  });

  t.test('CSV: status filter and BOM', async (t) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv?status=cancelled&bom=1`, headers });
    t.equal(res.statusCode, 200);
    t.equal(res.rawPayload.subarray(0, 3).toString('hex'), 'efbbbf', 'UTF-8 BOM when bom=1');
    const rows = parseCsv(res.rawPayload);
    t.equal(rows.length, 2);
    t.equal(rows[1]![1], 'Cancelled Person');
    const all = parseCsv((await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv?status=confirmed,waitlisted,cancelled`, headers })).body);
    t.equal(all.length, 7, 'all six registrations with every status');
    expectProblem(t, await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv?status=everyone`, headers }), 400, 'bad status');
    expectProblem(t, await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv?bom=yes`, headers }), 400, 'bad bom');
    expectProblem(t, await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv?limit=3`, headers }), 400, 'unknown parameter');
  });

  t.test('JSON: the same rows', async (t) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.json`, headers });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    const body = res.json<{ session: Record<string, unknown>; questions: unknown[]; items: ExportedItem[] }>();
    t.equal(body.session.id, session.id);
    t.equal(body.session.timezone, ZONE);
    t.equal(body.questions.length, 3);
    t.same(
      body.items,
      expected.map((item) => ({
        id: item.id,
        name: item.name,
        email: item.email,
        organization: item.organization,
        organisationId: item.organisationId,
        organisationName: item.organisationName,
        jobTitle: item.jobTitle,
        status: item.status,
        waitlistPosition: item.waitlistPosition,
        offerExpiresAt: item.offerExpiresAt,
        registeredAt: item.registeredAt,
        checkedInAt: item.checkedInAt,
        firstJoinedAt: item.firstJoinedAt,
        answers: item.answers,
      })),
      'every field as the API shows it, unaltered',
    );
  });

  t.test('XLSX: opens with a reader and holds the same rows', async (t) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.xlsx`, headers });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-type'], 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    t.equal(res.headers['content-disposition'], `attachment; filename="${session.slug}-attendees.xlsx"`);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0]!;
    const rows: unknown[][] = [];
    sheet.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    t.same(rows[0], HEADER);
    t.equal(rows.length, 1 + expected.length);
    const text = (value: unknown) => (value === null || value === undefined ? '' : value instanceof Date ? DateTime.fromJSDate(value, { zone: 'UTC' }).toFormat('yyyy-MM-dd HH:mm:ss') : String(value));
    expected.forEach((item, index) => {
      const row = Array.from({ length: HEADER.length }, (_, i) => text(rows[index + 1]![i]));
      t.same(
        row,
        [
          item.id,
          item.name,
          item.email,
          item.organization ?? '',
          item.organisationName ?? '',
          item.jobTitle ?? '',
          item.status,
          item.waitlistPosition === null ? '' : String(item.waitlistPosition),
          local(item.offerExpiresAt),
          local(item.registeredAt),
          local(item.checkedInAt),
          local(item.firstJoinedAt),
          String(item.answers.city ?? ''),
          String(item.answers.role ?? ''),
          item.answers.agree === undefined ? '' : item.answers.agree ? 'yes' : 'no',
        ],
        `row ${index + 1}: the values themselves (string cells are never formulas in a workbook)`,
      );
    });
    const registeredCell = sheet.getRow(2).getCell(10);
    t.ok(registeredCell.value instanceof Date, 'times are date cells');
    t.equal(registeredCell.numFmt, 'yyyy-mm-dd hh:mm:ss');
    t.notOk(rows.flat().some((value) => typeof value === 'object' && value !== null && 'formula' in value), 'no formula cells');
  });

  t.test('organizer routes need a token; unknown sessions are 404', async (t) => {
    for (const url of [
      `/api/v1/sessions/${session.id}/attendees.csv`,
      `/api/v1/sessions/${session.id}/attendees.json`,
      `/api/v1/sessions/${session.id}/attendees.xlsx`,
      '/api/v1/exports/registrations.csv?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z',
    ]) {
      expectProblem(t, await app.inject({ method: 'GET', url }), 401, url);
      expectProblem(t, await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer not-a-token' } }), 401, `${url} bad token`);
    }
    expectProblem(t, await app.inject({ method: 'GET', url: '/api/v1/sessions/00000000-0000-4000-8000-000000000000/attendees.csv', headers }), 404);
  });

  t.test('every export is in the audit log: which, by whom, how many rows', async (t) => {
    // Entries are written when the stream ends, right after the response.
    let entries: Array<{ action: string; actor: { id: string; email: string }; subjectId: string; details: Record<string, unknown> }> = [];
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/audit?actor=${organizer.id}&action=export.attendees&limit=50`, headers: admin.headers });
      entries = res.json<{ items: typeof entries }>().items.filter((entry) => entry.subjectId === session.id);
      if (entries.length >= 5) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.equal(entries.length, 5, 'each of the five exports recorded (refused ones are not exports)');
    const csvEntry = entries.find((entry) => entry.details.format === 'csv' && (entry.details.statuses as string[]).join() === 'confirmed,waitlisted');
    t.match(csvEntry, { actor: { id: organizer.id, email: organizer.email }, details: { rows: 5, completed: true, sessionId: session.id } });
    t.ok(entries.some((entry) => entry.details.format === 'xlsx' && entry.details.rows === 5), 'the workbook too');
    t.ok(entries.some((entry) => entry.details.format === 'json' && entry.details.rows === 5), 'the JSON too');
    const text = JSON.stringify(entries);
    t.notOk(text.includes('Zoë') || text.includes(people[0]!.email), 'no attendee data in the audit log');
  });
});

t.test('cross-session export: a date range, each row in its own session zone', async (t) => {
  const { app } = await buildTestApp(t);
  const { headers } = await signIn(app);
  // A day far ahead that no other test uses, so the range holds exactly these two sessions.
  const day = 2_000 + Math.floor(Math.random() * 1_000);
  const start = new Date(Date.now() + day * 86_400_000);
  start.setUTCHours(15, 0, 0, 0);
  const berlinStart = new Date(start.getTime() + 3_600_000);
  const chicago = await createSession(app, headers, {
    startsAt: start.toISOString(),
    endsAt: new Date(start.getTime() + 3_600_000).toISOString(),
    timezone: 'America/Chicago',
    questions: [{ id: 'city', label: 'Your city', type: 'text', required: false }],
  });
  const berlin = await createSession(app, headers, {
    startsAt: berlinStart.toISOString(),
    endsAt: new Date(berlinStart.getTime() + 3_600_000).toISOString(),
    timezone: 'Europe/Berlin',
    questions: [
      { id: 'town', label: 'Your city', type: 'text', required: false },
      { id: 'diet', label: 'Dietary needs', type: 'text', required: false },
    ],
  });
  await registered(app, chicago.slug, { name: 'Ana Chicago', email: uniqueEmail('ana'), answers: { city: 'Springfield' } });
  await registered(app, berlin.slug, { name: 'Ben Berlin', email: uniqueEmail('ben'), answers: { town: 'Berlin', diet: 'none' } });
  await registered(app, berlin.slug, { name: 'Cleo Berlin', email: uniqueEmail('cleo'), answers: { town: '=cmd' } });

  const from = new Date(start.getTime() - 60_000).toISOString();
  const to = new Date(berlinStart.getTime() + 60_000).toISOString();
  const res = await app.inject({ method: 'GET', url: `/api/v1/exports/registrations.csv?from=${from}&to=${to}`, headers });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-disposition'], /^attachment; filename="registrations-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv"$/);
  const rows = parseCsv(res.body);
  t.same(rows[0], [
    'Session',
    'Session start (local time)',
    'Time zone',
    'Registration ID',
    'Name',
    'E-mail',
    'Organisation',
    'Member organisation',
    'Job title',
    'Status',
    'Waitlist position',
    'Offer expires at (local time)',
    'Registered at (local time)',
    'Checked in at (local time)',
    'First joined at (local time)',
    'Your city',
    'Dietary needs',
  ]);
  t.equal(rows.length, 4);
  t.same(rows.slice(1).map((row) => [row[0], row[2], row[4], row[15], row[16]]), [
    [chicago.title, 'America/Chicago', 'Ana Chicago', 'Springfield', ''],
    [berlin.title, 'Europe/Berlin', 'Ben Berlin', 'Berlin', 'none'],
    [berlin.title, 'Europe/Berlin', 'Cleo Berlin', "'=cmd", ''],
  ]);
  t.equal(rows[1]![1], local(start.toISOString(), 'America/Chicago'), 'the Chicago start in Chicago time');
  t.equal(rows[2]![1], local(berlinStart.toISOString(), 'Europe/Berlin'), 'the Berlin start in Berlin time');

  expectProblem(t, await app.inject({ method: 'GET', url: `/api/v1/exports/registrations.csv?from=${to}&to=${from}`, headers }), 400, 'to before from');
  expectProblem(t, await app.inject({ method: 'GET', url: '/api/v1/exports/registrations.csv?from=2026-01-01&to=2026-02-01', headers }), 400, 'no offset');
  expectProblem(t, await app.inject({ method: 'GET', url: `/api/v1/exports/registrations.csv?from=${from}`, headers }), 400, 'to is required');
});

t.test('approval and waitlist offers: the new statuses on request, the offer deadline in the session zone', async (t) => {
  // The clock starts an hour back and catches up with the real time for the expiry: on the shared
  // database nothing (audit entries above all) may be dated in the future, where it would lead
  // other files' "latest entries" for an hour.
  const clock = manualClock(new Date(Date.now() - 61 * 60_000).toISOString());
  const { app, database } = await buildTestApp(t, { clock });
  const { headers } = await signIn(app);
  const csvOf = async (sessionId: string, query = '') => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${sessionId}/attendees.csv${query}`, headers });
    t.equal(res.statusCode, 200, `export ${query || '(default)'}`);
    return parseCsv(res.body);
  };
  const OFFER_COLUMN = HEADER.indexOf(`Offer expires at (${ZONE})`);
  const STATUS_COLUMN = HEADER.indexOf('Status');

  // One seat, offers held an hour: Ana's cancellation offers her seat to Ben; Ben lets it lapse, so it goes to Cy.
  const offers = await createSession(app, headers, { capacity: 1, waitlist: { enabled: true, mode: 'offer', offerMinutes: 60 } }, { daysAhead: 3 });
  const [ana, ben, cy] = [uniqueEmail('ana'), uniqueEmail('ben'), uniqueEmail('cy')];
  for (const [name, email] of [['Ana Seat', ana], ['Ben Lapsed', ben], ['Cy Offered', cy]] as const) await registered(app, offers.slug, { name, email });
  const anaId = await registrationId(database.pool, offers.id, ana);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${offers.id}/registrations/${anaId}/cancel`, headers })).statusCode, 200);
  clock.set(new Date());
  // This offer's own expiry (the job's work), not the sweep: the sweep would end other files' offers on the shared database.
  t.equal(await app.services.registrations.expireOffer(await registrationId(database.pool, offers.id, ben)), 'expired', "Ben's offer lapsed");
  const deadlines = new Map(
    (await database.pool.query<{ name: string; offer_expires_at: Date }>('SELECT name, offer_expires_at FROM registrations WHERE session_id = $1', [offers.id])).rows.map(
      (row) => [row.name, row.offer_expires_at] as const,
    ),
  );

  const byDefault = await csvOf(offers.id);
  t.equal(byDefault.length, 1, 'the default export (confirmed and waitlisted) leaves out held and lapsed offers');
  t.same(byDefault[0], HEADER.slice(0, -3), 'the header names the offer column with the zone');
  const offered = await csvOf(offers.id, '?status=offered,expired');
  t.same(
    offered.slice(1).map((row) => [row[1], row[STATUS_COLUMN], row[OFFER_COLUMN]]),
    [
      ['Ben Lapsed', 'expired', local(deadlines.get('Ben Lapsed')!.toISOString())],
      ['Cy Offered', 'offered', local(deadlines.get('Cy Offered')!.toISOString())],
    ],
    'the held offer and the lapsed one, each deadline in the session zone',
  );
  t.equal(deadlines.get('Cy Offered')!.getTime(), clock.now().getTime() + 60 * 60_000, "Cy's deadline is an hour after the lapse");
  const cancelled = await csvOf(offers.id, '?status=cancelled');
  t.same(cancelled.slice(1).map((row) => [row[1], row[OFFER_COLUMN]]), [['Ana Seat', '']], 'never offered a seat: no deadline');
  const json = await app.inject({ method: 'GET', url: `/api/v1/sessions/${offers.id}/attendees.json?status=offered`, headers });
  t.same(
    json.json<{ items: ExportedItem[] }>().items.map((item) => [item.name, item.status, item.offerExpiresAt]),
    [['Cy Offered', 'offered', deadlines.get('Cy Offered')!.toISOString()]],
    'JSON: the deadline in UTC, as in the API',
  );

  // Approval: two requests, one declined.
  const approval = await createSession(app, headers, { capacity: 5, approval: true }, { daysAhead: 3 });
  const [dee, eli] = [uniqueEmail('dee'), uniqueEmail('eli')];
  await registered(app, approval.slug, { name: 'Dee Pending', email: dee });
  await registered(app, approval.slug, { name: 'Eli Declined', email: eli });
  const eliId = await registrationId(database.pool, approval.id, eli);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${approval.id}/registrations/${eliId}/decline`, headers, payload: {} })).statusCode, 200);
  t.equal((await csvOf(approval.id)).length, 1, 'requests are not attendees: left out by default');
  t.same(
    (await csvOf(approval.id, '?status=pending,declined')).slice(1).map((row) => [row[1], row[STATUS_COLUMN]]),
    [
      ['Dee Pending', 'pending'],
      ['Eli Declined', 'declined'],
    ],
  );
  const every = await csvOf(approval.id, '?status=confirmed,waitlisted,pending,offered,cancelled,declined,expired');
  t.equal(every.length, 3, 'every status can be asked for at once');

  const from = new Date(clock.now().getTime() - 60_000).toISOString();
  const to = new Date(clock.now().getTime() + 4 * 86_400_000).toISOString();
  const range = await app.inject({ method: 'GET', url: `/api/v1/exports/registrations.csv?from=${from}&to=${to}&status=pending,offered`, headers });
  t.equal(range.statusCode, 200, 'the cross-session export takes the new statuses too');
  const names = parseCsv(range.body).slice(1).map((row) => row[4]);
  t.ok(names.includes('Dee Pending') && names.includes('Cy Offered'), 'both sessions\' rows of those statuses');
  t.notOk(names.includes('Eli Declined') || names.includes('Ben Lapsed'), 'and no others');
  expectProblem(t, await app.inject({ method: 'GET', url: `/api/v1/sessions/${offers.id}/attendees.csv?status=offered,accepted`, headers }), 400, 'an unknown status');
});

t.test('end to end, any Unicode in any field survives the CSV route and is neutralised', async (t) => {
  const { app, database } = await buildTestApp(t);
  const { headers } = await signIn(app);
  const session = await createSession(app, headers, { capacity: null, questions: [{ id: 'note', label: 'Note', type: 'textarea', required: false }] });
  // Postgres text holds any character but NUL.
  const text = fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.tuple(fc.constantFrom('=', '+', '-', '@', '\t', '\r'), fc.string({ unit: 'binary', maxLength: 20 })).map(([a, b]) => a + b),
      fc.string({ unit: fc.constantFrom('"', ',', '\r', '\n', "'", '=', 'ü', '𝄞'), maxLength: 10 }),
    )
    .map((value) => value.replaceAll('\u0000', ''));
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.record({ name: text, organization: text, jobTitle: text, note: text }), { minLength: 1, maxLength: 5 }), async (people) => {
      run += 1;
      await database.pool.query('DELETE FROM registrations WHERE session_id = $1', [session.id]);
      for (const [index, person] of people.entries()) {
        // Straight into the table, so nothing is cleaned on the way in (the registration form would).
        await database.pool.query(
          `WITH a AS (INSERT INTO attendees (email) VALUES ($2) RETURNING id)
           INSERT INTO registrations (session_id, attendee_id, name, organization, job_title, answers, status, manage_token_hash, join_token_hash, registered_at)
           SELECT $1, a.id, $3, $4, $5, jsonb_build_object('note', $6::text), 'confirmed', gen_random_uuid()::text, gen_random_uuid()::text,
             timestamptz '2026-01-01T00:00:00Z' + make_interval(secs => $7::int) FROM a`,
          [session.id, `prop-${uniqueSuffix()}-${run}-${index}@example.org`, person.name, person.organization, person.jobTitle, person.note, index],
        );
      }
      const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv?bom=1`, headers });
      if (res.statusCode !== 200) return false;
      const rows = parseCsv(res.rawPayload);
      if (rows.length !== people.length + 1) return false;
      return people.every((person, index) => {
        const row = rows[index + 1]!;
        const cells = [row[1], row[3], row[5], row[12]];
        const wanted = [person.name, person.organization, person.jobTitle, person.note].map(neutraliseCell);
        return cells.every((cell, i) => cell === wanted[i] && !['=', '+', '-', '@', '\t', '\r'].includes(cell?.[0] ?? ''));
      });
    }),
    { numRuns: 25 },
  );
  t.pass('25 random lists exported and parsed back intact');
});

t.test('a limit on exports at once (429), and a client that goes away gives the connection back', async (t) => {
  const { app, database } = await buildTestApp(t, { env: { EXPORTS_MAX_CONCURRENT: '1' } });
  const { headers } = await signIn(app);
  const session = await createSession(app, headers, { capacity: null, questions: CITY_QUESTIONS });
  const tag = await bulkRegistrations(database.pool, session.id, { confirmed: 15_000, total: 20_000 });
  t.teardown(() => removeBulk(session.id, tag));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });

  // A plain HTTP client that reads one chunk and then stops, keeping the export under way.
  const { request: slowRequest, firstChunk } = await new Promise<{ request: http.ClientRequest; firstChunk: Buffer }>((resolve, reject) => {
    const request = http.get(`${address}/api/v1/sessions/${session.id}/attendees.csv`, { headers, agent: false }, (response) => {
      t.equal(response.statusCode, 200);
      response.once('data', (chunk: Buffer) => {
        response.pause();
        resolve({ request, firstChunk: chunk });
      });
    });
    request.once('error', reject);
  });
  t.ok(firstChunk.length > 0, 'the export is under way, holding its connection');

  const busy = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.json`, headers });
  expectProblem(t, busy, 429, 'the second export at once');
  t.ok(Number(busy.headers['retry-after']) > 0, 'with Retry-After');

  slowRequest.destroy(); // the client goes away mid-download
  let after = busy;
  for (let attempt = 0; attempt < 100 && after.statusCode === 429; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    after = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv?status=waitlisted`, headers });
  }
  t.equal(after.statusCode, 200, 'the slot is free again once the client went away');
  t.equal(parseCsv(after.body).length, 5_001, 'and the next export is whole');
  for (let attempt = 0; attempt < 100 && database.pool.totalCount !== database.pool.idleCount; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.equal(database.pool.totalCount, database.pool.idleCount, 'every connection is back in the pool');

  const admin = await signIn(app, 'admin');
  const log = await app.inject({ method: 'GET', url: `/api/v1/audit?action=export.attendees&limit=20`, headers: admin.headers });
  const aborted = log.json<{ items: Array<{ subjectId: string; details: { completed: boolean; rows: number } }> }>().items.find(
    (entry) => entry.subjectId === session.id && entry.details.completed === false,
  );
  t.ok(aborted, 'the interrupted export is recorded too');
  t.ok(aborted!.details.rows < 20_000, `with the rows that went out (${aborted!.details.rows})`);
});
