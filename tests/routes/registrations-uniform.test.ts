import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { uniqueEmail } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { manageTokenOf } from '../helpers/mail-checks.js';
import { createSession, registered, registrationRows } from '../helpers/registrations.js';
import { postForm } from '../pages/support.js';

/**
 * Nobody learns from an answer, a page or a redirect whether an address is registered: for
 * every case of the issue (a new address, a confirmed one, a waiting one; open, full and closed
 * sessions; the API as JSON and as a form, the web form and the embed) the answers are the same
 * bytes. What happened goes by e-mail only.
 */

const ctx = await startMailTest(t, { name: 'uniform', redisDb: 8 });
const { app, database, sink, owner } = ctx;

/** Everything a client sees of an answer, but the headers that differ per request anyway. */
function visible(res: LightMyRequestResponse) {
  const headers = { ...res.headers };
  delete headers.date;
  // The confirmation page's cookie carries the typed address, masked: it differs with what was typed, never with the outcome.
  if (headers['set-cookie']) headers['set-cookie'] = String(headers['set-cookie']).replace(/^convene-sent-to=[^;]*/, 'convene-sent-to=(typed)');
  return { status: res.statusCode, headers, body: res.body };
}

function sameAnswers(t: Test, answers: Record<string, LightMyRequestResponse>, label: string): void {
  const [firstLabel, first] = Object.entries(answers)[0]!;
  for (const [name, res] of Object.entries(answers).slice(1)) {
    t.same(visible(res), visible(first), `${label}: ${name} answers exactly like ${firstLabel}`);
  }
}

const person = (email: string) => ({ name: 'Probe Person', email, consent: true });
const api = (slug: string, email: string) => app.inject({ method: 'POST', url: `/api/v1/public/sessions/${slug}/registrations`, payload: person(email) });
const apiForm = (slug: string, email: string) =>
  postForm(app, `/api/v1/public/sessions/${slug}/registrations`, { name: 'Probe Person', email, consent: 'on' });
const webForm = (slug: string, email: string, mode: 's' | 'embed' = 's') =>
  postForm(app, `/${mode}/${slug}/register`, { name: 'Probe Person', email, consent: 'on' });

/** A session with one confirmed and one waiting person (capacity 1, waitlist as given). */
async function withPeople(overrides: Record<string, unknown>) {
  const session = await createSession(app, owner.headers, { capacity: 1, ...overrides });
  const confirmed = uniqueEmail('seated');
  await registered(app, session.slug, { name: 'Seated Person', email: confirmed });
  let waiting: string | null = null;
  if ((overrides.waitlist as { enabled?: boolean } | undefined)?.enabled !== false) {
    waiting = uniqueEmail('waiting');
    await registered(app, session.slug, { name: 'Waiting Person', email: waiting });
  }
  const rows = await registrationRows(database.pool, session.id);
  return { session, confirmed, waiting, rows };
}

t.test('open session (waitlist open): new, confirmed and waiting addresses get the same 202, API and forms', async (t) => {
  const { session, confirmed, waiting, rows } = await withPeople({ waitlist: { enabled: true, limit: null } });
  t.same(rows.map((row) => row.status), ['confirmed', 'waitlisted']);

  const json = { new: await api(session.slug, uniqueEmail('new')), confirmed: await api(session.slug, confirmed), waiting: await api(session.slug, waiting!) };
  t.equal(json.new.statusCode, 202);
  t.same(json.new.json(), {
    status: 'received',
    session: { slug: session.slug, title: session.title, startsAt: session.startsAt, endsAt: session.endsAt, timezone: session.timezone },
  });
  sameAnswers(t, json, 'JSON');
  // A different spelling of a registered address is the same person, and the same answer.
  sameAnswers(t, { new: json.new, shouted: await api(session.slug, ` ${confirmed.toUpperCase()} `) }, 'JSON, another spelling');

  const form = { new: await apiForm(session.slug, uniqueEmail('new')), confirmed: await apiForm(session.slug, confirmed), waiting: await apiForm(session.slug, waiting!) };
  sameAnswers(t, form, 'urlencoded API');
  t.equal(form.new.body, json.new.body, 'the same bytes as for JSON');

  for (const mode of ['s', 'embed'] as const) {
    const web = { new: await webForm(session.slug, uniqueEmail('new'), mode), confirmed: await webForm(session.slug, confirmed, mode), waiting: await webForm(session.slug, waiting!, mode) };
    t.equal(web.new.statusCode, 303, `${mode}: a redirect`);
    t.equal(web.new.headers.location, `/${mode}/${session.slug}/registered`, `${mode}: to one URL with no outcome in it`);
    sameAnswers(t, web, `web form (${mode})`);
  }

  const after = await registrationRows(database.pool, session.id);
  t.same(
    after.filter((row) => row.email === confirmed || row.email === waiting),
    rows,
    'the registered people are as they were (no second registration, no change of status)',
  );
});

t.test('full session, waitlist off: the same 409 for a new and a registered address; the registered one gets its link', async (t) => {
  const { session, confirmed } = await withPeople({ waitlist: { enabled: false } });
  const newcomer = uniqueEmail('new');
  const json = { new: await api(session.slug, newcomer), confirmed: await api(session.slug, confirmed) };
  t.equal(json.new.statusCode, 409);
  sameAnswers(t, json, 'JSON');
  sameAnswers(t, { new: await apiForm(session.slug, uniqueEmail('new')), confirmed: await apiForm(session.slug, confirmed) }, 'urlencoded API');
  for (const mode of ['s', 'embed'] as const) {
    const web = { new: await webForm(session.slug, uniqueEmail('new'), mode), confirmed: await webForm(session.slug, confirmed, mode) };
    t.equal(web.new.statusCode, 409, `${mode}: the page of a full session`);
    sameAnswers(t, web, `web form (${mode})`);
  }

  // The outcome goes by e-mail: the confirmation, and the manage link again (once).
  const mails = await sink.waitForMail(confirmed, 2, 20_000);
  const again = mails.find((mail) => /^Your registration link: /.test(mail.parsed.subject ?? ''));
  t.ok(again, 'the manage link went again');
  t.ok(manageTokenOf(again!), 'it carries the manage link');
  t.same(await database.pool.query('SELECT 1 FROM attendees WHERE email = $1', [newcomer]).then((r) => r.rowCount), 0, 'a refused new address leaves nothing behind');
});

t.test('full session and full waitlist: the same 409 for new, confirmed and waiting addresses', async (t) => {
  const { session, confirmed, waiting } = await withPeople({ waitlist: { enabled: true, limit: 1 } });
  const json = { new: await api(session.slug, uniqueEmail('new')), confirmed: await api(session.slug, confirmed), waiting: await api(session.slug, waiting!) };
  t.equal(json.new.statusCode, 409);
  sameAnswers(t, json, 'JSON');
  const web = { new: await webForm(session.slug, uniqueEmail('new')), confirmed: await webForm(session.slug, confirmed), waiting: await webForm(session.slug, waiting!) };
  sameAnswers(t, web, 'web form');
  await sink.waitForMail(waiting!, 2, 20_000);
});

t.test('closed session: the same 409 for everyone', async (t) => {
  const { session, confirmed, waiting } = await withPeople({ waitlist: { enabled: true, limit: null } });
  await database.pool.query(`UPDATE sessions SET registration_closes_at = now() - interval '1 minute' WHERE id = $1`, [session.id]);
  const json = { new: await api(session.slug, uniqueEmail('new')), confirmed: await api(session.slug, confirmed), waiting: await api(session.slug, waiting!) };
  t.equal(json.new.statusCode, 409);
  sameAnswers(t, json, 'JSON');
  const web = { new: await webForm(session.slug, uniqueEmail('new')), confirmed: await webForm(session.slug, confirmed), waiting: await webForm(session.slug, waiting!) };
  sameAnswers(t, web, 'web form');
});

t.test('a registered address on an open session gets its manage link by e-mail, at most once in ten minutes', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 10 });
  const email = uniqueEmail('again');
  await registered(app, session.slug, { name: 'Again Person', email });
  const [confirmation] = await sink.waitForMail(email, 1, 20_000);
  await api(session.slug, email);
  await webForm(session.slug, email);
  const mails = await sink.waitForMail(email, 2, 20_000);
  const again = mails.find((mail) => /^Your registration link: /.test(mail.parsed.subject ?? ''));
  t.ok(again, 'the manage link went again');
  t.equal(manageTokenOf(again!), manageTokenOf(confirmation!), 'the same personal link as in the confirmation');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  t.equal(sink.to(email).length, 2, 'the second repeat within ten minutes sends nothing more');
});
