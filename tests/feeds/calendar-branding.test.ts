import t from 'tap';
import { uniqueEmail } from '../helpers/app.js';
import { calAddress, checkFeed, checkInvite, unfoldIcs } from '../helpers/ics.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { MAIL_FROM_ADDRESS } from '../helpers/mail-checks.js';
import { startRedisProcess } from '../helpers/processes.js';
import { createSession, registered, registrationId } from '../helpers/registrations.js';

/**
 * The organisation's name (settings, Branding.name) in calendars: the ORGANIZER's CN of e-mailed
 * and downloaded invites (the address stays MAIL_FROM's) and the feeds' X-WR-CALNAME, whose
 * ETags change with it. It writes the one settings row: a database and Redis of its own.
 */

const redis = await startRedisProcess(t);
const ctx = await startMailTest(t, { name: 'calendar-branding', redisUrl: redis.url, worker: false });
const { app, database, sink, owner } = ctx;
const { pool } = database;

/** Sets the organisation's name as the console would, and drops this instance's cached branding. */
async function setOrganisationName(name: string | null): Promise<void> {
  await pool.query(
    `INSERT INTO settings (id, name, updated_at) VALUES (1, $1, now())
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()`,
    [name],
  );
  app.services.settings.forget();
}

const get = (path: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: path, headers });
const manageToken = (id: string) => app.services.tokens.derive('manage', id, 0);

t.test("the feeds are named after the organisation, and a new name is a new ETag", async (t) => {
  const session = await createSession(app, owner.headers, { title: 'Budget hearing' }, { daysAhead: 5 });
  const email = uniqueEmail('branding-feed');
  await registered(app, session.slug, { name: 'Ana Brand', email });
  const id = await registrationId(pool, session.id, email);
  const view = await get(`/api/v1/registrations/${manageToken(id)}`);
  const personalPath = new URL(view.json().links.feed.url as string).pathname;
  const sessionPath = `/feeds/sessions/${session.slug}.ics`;

  await setOrganisationName(null);
  const before = { public: await get('/feeds/sessions.ics'), session: await get(sessionPath), personal: await get(personalPath) };
  t.equal(checkFeed(t, before.public.body, 'default public').name, 'Convene: sessions', 'the default name');
  t.equal(checkFeed(t, before.personal.body, 'default personal').name, 'Convene: your sessions');
  t.equal(checkFeed(t, before.session.body, 'default session').name, 'Convene: Budget hearing');

  await setOrganisationName('Métro "City" Network');
  for (const [kind, path] of [['public', '/feeds/sessions.ics'], ['session', sessionPath], ['personal', personalPath]] as const) {
    const old = before[kind];
    const revalidated = await get(path, { 'if-none-match': String(old.headers.etag) });
    t.equal(revalidated.statusCode, 200, `${kind}: the old ETag no longer matches once the name changed`);
    t.not(revalidated.headers.etag, old.headers.etag, `${kind}: a new ETag`);
    const expected = { public: 'Métro "City" Network: sessions', session: 'Métro "City" Network: Budget hearing', personal: 'Métro "City" Network: your sessions' }[kind];
    t.equal(checkFeed(t, revalidated.body, `${kind} renamed`).name, expected, `${kind}: X-WR-CALNAME`);
    const again = await get(path, { 'if-none-match': String(revalidated.headers.etag) });
    t.equal(again.statusCode, 304, `${kind}: the new ETag holds`);
    // gzip is cached by ETag too: the renamed body, never the one of the old name.
    const zipped = await get(path, { 'accept-encoding': 'gzip' });
    t.equal(zipped.headers.etag, `${String(revalidated.headers.etag).slice(0, -1)}-gzip"`, `${kind}: the gzip ETag follows`);
  }
  t.equal(checkFeed(t, (await get('/feeds/sessions.ics')).body, 'cached').name, 'Métro "City" Network: sessions', 'the cached public body has the new name');

  await setOrganisationName(null);
  const back = await get('/feeds/sessions.ics');
  t.equal(back.headers.etag, before.public.headers.etag, 'the same name again: the same ETag (it depends on the data only)');
  t.equal(checkFeed(t, back.body, 'back').name, 'Convene: sessions');
});

t.test("invites' ORGANIZER: the organisation's name with MAIL_FROM's address, downloaded and e-mailed", async (t) => {
  await setOrganisationName('City Hall \\ Network "Ops"');
  await ctx.startWorker();
  const session = await createSession(app, owner.headers, { title: 'Invite branding', contact: { name: 'Session Contact', email: 'contact@org.example' } }, { daysAhead: 4 });
  const email = uniqueEmail('branding-invite');
  await registered(app, session.slug, { name: 'Bo Brand', email });
  const id = await registrationId(pool, session.id, email);

  const download = await get(`/api/v1/registrations/${manageToken(id)}/invite.ics`);
  t.equal(download.statusCode, 200);
  const downloaded = checkInvite(t, download.rawPayload, 'downloaded');
  const organizerLine = unfoldIcs(download.body).find((line) => line.startsWith('ORGANIZER'));
  t.equal(organizerLine, `ORGANIZER;CN="City Hall \\ Network Ops":mailto:${MAIL_FROM_ADDRESS}`, 'the name (no quotes, backslash once), the sending address');
  t.same(downloaded.organizers.map((o) => calAddress(o.value)), [MAIL_FROM_ADDRESS]);
  t.notMatch(download.body, /Session Contact/, "not the session contact's name");

  const [mail] = await sink.waitForMail(email, 1);
  t.ok(mail?.invite, 'the confirmation carries an invite');
  const mailed = checkInvite(t, mail!.invite!.bytes, 'e-mailed');
  t.equal(mailed.organizers.length, 1, 'one ORGANIZER');
  t.equal(mailed.organizers[0]!.cn, 'City Hall \\ Network Ops', "the e-mailed invite's ORGANIZER CN");
  t.equal(calAddress(mailed.organizers[0]!.value), MAIL_FROM_ADDRESS);
  t.equal(mailed.uid, downloaded.uid, 'the same UID as the download');
});
