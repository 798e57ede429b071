import t from 'tap';
import { buildTestApp, signIn, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { assertCounters, createSession, registered, registrationId } from '../helpers/registrations.js';

t.test('erasure: the person is gone everywhere, the counts stay', async (t) => {
  const { app, database } = await buildTestApp(t);
  const pool = database.pool;
  const admin = await signIn(app, 'admin');
  const { headers } = await signIn(app);
  const questions = [{ id: 'city', label: 'Your city', type: 'text', required: false }];
  const first = await createSession(app, headers, { capacity: 1, questions });
  const second = await createSession(app, headers, { capacity: 10, questions });

  const marker = uniqueSuffix();
  const person = {
    name: `Erin Forgetme${marker}`,
    email: `Erin.${marker}@Example.ORG`,
    organization: `Org${marker}`,
    jobTitle: `Title${marker}`,
    answers: { city: `City${marker}` },
  };
  const needles = [`Forgetme${marker}`, `erin.${marker}@example.org`, `Org${marker}`, `Title${marker}`, `City${marker}`];
  const other = uniqueEmail('stays');
  await registered(app, first.slug, { name: 'Someone Else', email: other });
  await registered(app, first.slug, person); // waitlisted behind Someone Else
  await registered(app, second.slug, person); // confirmed
  await registered(app, second.slug, { name: 'Third Person', email: uniqueEmail('third') });
  const erinFirst = await registrationId(pool, first.id, person.email);
  const erinSecond = await registrationId(pool, second.id, person.email);

  // Her links work before: the manage page, and a personal feed.
  const manageToken = app.services.tokens.derive('manage', erinSecond, 0);
  t.equal((await app.inject({ method: 'GET', url: `/api/v1/registrations/${manageToken}` })).statusCode, 200, 'manage link works before');
  const feed = await app.inject({ method: 'POST', url: `/api/v1/registrations/${manageToken}/feed-token` });
  t.equal(feed.statusCode, 200, 'a personal feed issued');
  const feedPath = new URL(feed.json<{ url: string }>().url).pathname;
  t.equal((await app.inject({ method: 'GET', url: feedPath })).statusCode, 200, 'the feed works before');
  // Her confirmation e-mails may still be waiting in the outbox: make sure one is.
  await pool.query(`UPDATE notifications SET status = 'pending' WHERE registration_id = $1`, [erinSecond]);

  const waiting = await pool.query(`SELECT count(*)::int AS n FROM notifications WHERE registration_id = ANY($1) AND status IN ('pending', 'queued')`, [
    [erinFirst, erinSecond],
  ]);
  const before = {
    first: await assertCounters(t, pool, first.id, 'first before'),
    second: await assertCounters(t, pool, second.id, 'second before'),
  };

  expectProblem(t, await app.inject({ method: 'POST', url: '/api/v1/attendees/erase', headers, payload: { email: person.email } }), 403, 'an organizer may not erase');
  expectProblem(t, await app.inject({ method: 'POST', url: '/api/v1/attendees/erase', payload: { email: person.email } }), 401);
  expectProblem(t, await app.inject({ method: 'POST', url: '/api/v1/attendees/erase', headers: admin.headers, payload: { email: 'not an address' } }), 400);
  expectProblem(t, await app.inject({ method: 'POST', url: '/api/v1/attendees/erase', headers: admin.headers, payload: { email: person.email, name: 'x' } }), 400, 'unknown field');

  // The address as anyone might type it: another case, spaces around.
  const erased = await app.inject({ method: 'POST', url: '/api/v1/attendees/erase', headers: admin.headers, payload: { email: `  ${person.email.toUpperCase()} ` } });
  t.equal(erased.statusCode, 200);
  // Workers of other test files share the database and may deliver a row meanwhile: at most these.
  const { affected, notificationsDropped } = erased.json<{ affected: number; notificationsDropped: number }>();
  t.equal(affected, 2, 'both registrations');
  t.ok(notificationsDropped <= waiting.rows[0].n, `${notificationsDropped} unsent e-mail(s) dropped`);

  t.test('the counts and statuses stay', async (t) => {
    t.same(await assertCounters(t, pool, first.id, 'first after'), before.first);
    t.same(await assertCounters(t, pool, second.id, 'second after'), before.second);
    const { rows } = await pool.query(`SELECT id, status::text, name, organization, job_title, answers, token_version FROM registrations WHERE id = ANY($1) ORDER BY status`, [
      [erinFirst, erinSecond],
    ]);
    t.same(
      rows.map((row) => [row.status, row.name, row.organization, row.job_title, row.answers, row.token_version]),
      [
        ['confirmed', 'Erased attendee', null, null, {}, 1],
        ['waitlisted', 'Erased attendee', null, null, {}, 1],
      ],
    );
  });

  t.test('no trace in the database', async (t) => {
    for (const needle of needles) {
      for (const table of ['registrations', 'attendees', 'notifications', 'audit_log']) {
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table} x WHERE lower(x::text) LIKE '%' || lower($1) || '%'`, [needle]);
        t.equal(rows[0].n, 0, `${table} holds no "${needle}"`);
      }
    }
    const { rows } = await pool.query(`SELECT a.email FROM attendees a JOIN registrations r ON r.attendee_id = a.id WHERE r.id = $1`, [erinSecond]);
    t.match(rows[0].email, /^erased-[0-9a-f-]{36}@invalid$/, 'a placeholder address');
    const dropped = await pool.query(`SELECT status::text, last_error FROM notifications WHERE registration_id = ANY($1)`, [[erinFirst, erinSecond]]);
    t.ok(dropped.rows.length > 0);
    t.ok(dropped.rows.every((row) => row.status !== 'pending' && row.status !== 'queued'), 'nothing left to send');
    const skipped = dropped.rows.filter((row) => row.status === 'skipped' && row.last_error === 'erased').length;
    t.ok(skipped >= Math.min(notificationsDropped, 1), "dropped e-mails are marked 'erased'");
  });

  t.test('her links stop working', async (t) => {
    expectProblem(t, await app.inject({ method: 'GET', url: `/api/v1/registrations/${manageToken}` }), 404, 'manage link');
    t.equal((await app.inject({ method: 'GET', url: feedPath })).statusCode, 404, 'feed link');
    for (const [id, version] of [[erinSecond, 1], [erinFirst, 1]] as const) {
      const again = app.services.tokens.derive('manage', id, version);
      expectProblem(t, await app.inject({ method: 'GET', url: `/api/v1/registrations/${again}` }), 404, 'a token derived for the new version neither');
    }
  });

  t.test('no trace in the exports', async (t) => {
    for (const session of [first, second]) {
      for (const format of ['csv', 'json', 'xlsx']) {
        const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.${format}`, headers });
        t.equal(res.statusCode, 200);
        const text = format === 'xlsx' ? res.rawPayload.toString('latin1') : res.body;
        if (format !== 'xlsx') t.ok(text.includes('Erased attendee'), `${format}: the row is still there, anonymised`);
        for (const needle of needles) t.notOk(text.toLowerCase().includes(needle.toLowerCase()), `${format} of ${session.slug}: no "${needle}"`);
      }
    }
    const csv = (await app.inject({ method: 'GET', url: `/api/v1/sessions/${first.id}/attendees.csv`, headers })).body;
    t.ok(csv.includes('Someone Else'), 'others stay as they were');
  });

  t.test('idempotent, and silent about who registered', async (t) => {
    const again = await app.inject({ method: 'POST', url: '/api/v1/attendees/erase', headers: admin.headers, payload: { email: person.email } });
    t.equal(again.statusCode, 200);
    t.same(again.json(), { affected: 0, notificationsDropped: 0 });
    const stranger = await app.inject({ method: 'POST', url: '/api/v1/attendees/erase', headers: admin.headers, payload: { email: uniqueEmail('never') } });
    t.equal(stranger.statusCode, 200, 'an unknown address is 200, not 404');
    t.same(stranger.json(), { affected: 0, notificationsDropped: 0 });
  });

  t.test('the erasure is in the audit log, without the person', async (t) => {
    const log = await app.inject({ method: 'GET', url: `/api/v1/audit?actor=${admin.organizer.id}&action=attendee.erase`, headers: admin.headers });
    const items = log.json<{ items: Array<{ details: Record<string, number>; subjectType: string }> }>().items;
    t.equal(items.length, 3, 'each request recorded');
    t.same(items.map((entry) => entry.details.registrations), [0, 0, 2]);
    t.notOk(needles.some((needle) => log.body.toLowerCase().includes(needle.toLowerCase())));
  });

  t.test('she may register again, as a new person', async (t) => {
    await registered(app, second.slug, { name: 'Erin Again', email: person.email });
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE a.email = $1 AND r.status <> 'cancelled'`,
      [person.email.toLowerCase()],
    );
    t.equal(rows[0].n, 1);
    await assertCounters(t, pool, second.id, 'second after the new registration');
  });
});
