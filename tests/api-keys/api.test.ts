import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { buildTestApp, manualClock, sessionBody, signIn, type SignedInOrganizer } from '../helpers/app.js';
import { errorPaths, expectProblem } from '../helpers/http.js';

/**
 * API keys (api.md "API keys and webhooks"): made by an organizer and shown once, stored as a
 * SHA-256 only, listed without the secret, acting as their organizer (hosts and role), refused
 * from the very next request once deleted or once the organizer is disabled, last use recorded
 * at most once a minute. The app runs on a clock the tests move.
 */

const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock });
const admin = await signIn(app, 'admin');

const KEY_FORMAT = /^cvk_[A-Za-z0-9_-]{43}$/;
const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

function createKey(headers: Record<string, string>, payload: unknown = { name: 'Integration' }): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/api/v1/api-keys', headers, payload: payload as Record<string, unknown> });
}

/** A new key of this organizer (made with their token). */
async function keyOf(who: SignedInOrganizer, name = 'Integration'): Promise<{ id: string; key: string; prefix: string }> {
  const res = await createKey(who.headers, { name });
  if (res.statusCode !== 201) throw new Error(`key not made: ${res.statusCode} ${res.body}`);
  return res.json();
}

const me = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });

async function storedRow(id: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await database.pool.query('SELECT * FROM api_keys WHERE id = $1', [id]);
  return rows[0];
}

async function lastUsedAt(id: string): Promise<string | null> {
  const { rows } = await database.pool.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM api_keys WHERE id = $1', [id]);
  return rows[0]?.last_used_at?.toISOString() ?? null;
}

async function auditOf(id: string): Promise<Array<{ action: string; actor_id: string | null; details: Record<string, unknown> }>> {
  const { rows } = await database.pool.query(
    "SELECT action, actor_id, details FROM audit_log WHERE subject_type = 'api_key' AND subject_id = $1 ORDER BY at, id",
    [id],
  );
  return rows;
}

async function newSession(who: SignedInOrganizer): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/sessions', headers: who.headers, payload: sessionBody() });
  if (res.statusCode !== 201) throw new Error(`session not made: ${res.statusCode} ${res.body}`);
  return res.json().id;
}

t.test('a new key: 201 with the key once, cvk_ and 32 random bytes, only its SHA-256 stored, audited', async (t) => {
  const owner = await signIn(app);
  const res = await createKey(owner.headers, { name: '  Zapier sync  ' });
  t.equal(res.statusCode, 201, res.body);
  t.match(String(res.headers['cache-control']), /no-store/, 'the answer holding the key is not stored');
  const body = res.json();
  t.same(Object.keys(body), ['id', 'name', 'key', 'prefix', 'createdAt'], 'the contract fields, in order');
  t.equal(body.name, 'Zapier sync', 'spaces around the name dropped');
  t.match(body.key, KEY_FORMAT);
  t.equal(Buffer.from(body.key.slice(4), 'base64url').length, 32, '256 random bits');
  t.equal(body.prefix, body.key.slice(0, 12), 'prefix: the first 12 characters');
  t.equal(body.createdAt, clock.now().toISOString(), "the time of the app's clock");

  const row = await storedRow(body.id);
  t.ok(row, 'stored');
  t.equal(row!.key_hash, sha256(body.key), 'the SHA-256 of the key, base64url');
  t.equal(row!.organizer_id, owner.organizer.id);
  t.equal(row!.last_used_at, null, 'never used yet');
  const stored = JSON.stringify(row);
  t.notOk(stored.includes(body.key.slice(4)), 'the secret itself is in no column');

  const audit = await auditOf(body.id);
  t.equal(audit.length, 1);
  t.equal(audit[0]!.action, 'api_key.create');
  t.equal(audit[0]!.actor_id, owner.organizer.id);
  t.same(audit[0]!.details, { name: 'Zapier sync' }, 'the name, never the key');

  const other = await keyOf(owner);
  t.not(other.key, body.key, 'every key is new');
});

t.test("the list: the caller's own keys, newest first, never the secret or its hash", async (t) => {
  const owner = await signIn(app);
  const stranger = await signIn(app);
  const first = await keyOf(owner, 'First');
  clock.advance(1_000);
  const second = await keyOf(owner, 'Second');
  await keyOf(stranger, 'Not yours');

  const res = await app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: owner.headers });
  t.equal(res.statusCode, 200);
  t.match(String(res.headers['cache-control']), /no-store/);
  const { items } = res.json();
  t.same(
    items.map((item: { id: string }) => item.id),
    [second.id, first.id],
    'only their own, newest first',
  );
  t.same(Object.keys(items[0]).sort(), ['createdAt', 'id', 'lastUsedAt', 'name', 'prefix']);
  t.same(items[1], { id: first.id, name: 'First', prefix: first.prefix, createdAt: items[1].createdAt, lastUsedAt: null });
  for (const secret of [first.key, second.key, sha256(first.key), sha256(second.key)]) {
    t.notOk(res.body.includes(secret), 'neither a key nor a hash in the answer');
  }

  const withKey = await app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: bearer(second.key) });
  t.equal(withKey.statusCode, 200, 'a key may list the keys of its organizer');
  t.equal(withKey.json().items.length, 2);
});

t.test('a key acts as its organizer: their sessions only; an admin key sees every session', async (t) => {
  const host = await signIn(app);
  const stranger = await signIn(app);
  const hosted = await newSession(host);
  const strangers = await newSession(stranger);
  const hostKey = (await keyOf(host)).key;
  const strangerKey = (await keyOf(stranger)).key;
  const adminKey = (await keyOf(admin)).key;

  const who = await me(bearer(hostKey));
  t.equal(who.statusCode, 200);
  t.equal(who.json().id, host.organizer.id, 'the organizer of the key');
  t.equal(who.json().role, 'organizer');

  const list = await app.inject({ method: 'GET', url: '/api/v1/sessions', headers: bearer(hostKey) });
  t.equal(list.statusCode, 200);
  const ids = list.json().items.map((item: { id: string }) => item.id);
  t.ok(ids.includes(hosted), 'the session they host');
  t.notOk(ids.includes(strangers), "not another organizer's session");

  t.equal((await app.inject({ method: 'GET', url: `/api/v1/sessions/${hosted}`, headers: bearer(hostKey) })).statusCode, 200);
  expectProblem(t, await app.inject({ method: 'GET', url: `/api/v1/sessions/${hosted}`, headers: bearer(strangerKey) }), 404, "another organizer's session");
  const patch = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${hosted}`, headers: bearer(strangerKey), payload: { title: 'Taken over' } });
  expectProblem(t, patch, 404, 'nor changes it');

  t.equal((await app.inject({ method: 'GET', url: `/api/v1/sessions/${hosted}`, headers: bearer(adminKey) })).statusCode, 200, 'an admin key: any session');
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/organizers', headers: bearer(adminKey) })).statusCode, 200, 'and the admin routes');
  expectProblem(t, await app.inject({ method: 'GET', url: '/api/v1/organizers', headers: bearer(hostKey) }), 403, "an organizer's key is no admin");
});

t.test('a deleted key is refused on the very next request; deleting is audited', async (t) => {
  const owner = await signIn(app);
  const made = await keyOf(owner, 'Short-lived');
  t.equal((await me(bearer(made.key))).statusCode, 200);

  // The audit entries are ordered by their time, of the clock this test moves.
  clock.advance(1_000);
  const res = await app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${made.id}`, headers: owner.headers });
  t.equal(res.statusCode, 204);
  t.equal(res.body, '');

  const after = await me(bearer(made.key));
  expectProblem(t, after, 401, 'the next request');
  t.equal(after.headers['www-authenticate'], 'Bearer');
  t.equal(await storedRow(made.id), undefined, 'the row is gone');
  const audit = await auditOf(made.id);
  t.same(
    audit.map((entry) => [entry.action, entry.actor_id, entry.details]),
    [
      ['api_key.create', owner.organizer.id, { name: 'Short-lived' }],
      ['api_key.delete', owner.organizer.id, { name: 'Short-lived' }],
    ],
  );
  expectProblem(t, await app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${made.id}`, headers: owner.headers }), 404, 'deleted already');

  // A key may delete itself: that very request still acts, the next one is refused.
  const self = await keyOf(owner, 'Self-deleting');
  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${self.id}`, headers: bearer(self.key) })).statusCode, 204);
  expectProblem(t, await me(bearer(self.key)), 401, 'after deleting itself');
});

t.test("another organizer cannot delete your key (404, as if there were none), an admin neither", async (t) => {
  const owner = await signIn(app);
  const stranger = await signIn(app);
  const made = await keyOf(owner);
  expectProblem(t, await app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${made.id}`, headers: stranger.headers }), 404, 'another organizer');
  expectProblem(t, await app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${made.id}`, headers: admin.headers }), 404, 'an admin');
  expectProblem(t, await app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${randomUUID()}`, headers: stranger.headers }), 404, 'the same as an unknown id');
  t.equal((await me(bearer(made.key))).statusCode, 200, 'the key still works');
  t.same(await auditOf(made.id).then((rows) => rows.map((row) => row.action)), ['api_key.create'], 'nothing audited');
});

t.test("a disabled organizer's keys are refused at once", async (t) => {
  const owner = await signIn(app);
  const made = await keyOf(owner);
  const lastUse = clock.now().toISOString();
  t.equal((await me(bearer(made.key))).statusCode, 200, 'warm: the account is in the token cache');

  await app.services.organizers.update(owner.organizer.id, { disabled: true }, admin.organizer);
  clock.advance(2 * 60_000);
  expectProblem(t, await me(bearer(made.key)), 401, 'the next request after disabling');
  expectProblem(t, await app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: bearer(made.key) }), 401);
  t.equal(await lastUsedAt(made.id), lastUse, 'a refused request records no use');

  // Disabled by another instance: this one's account cache (about a second) still holds the
  // enabled account, and the key's lookup refuses it all the same.
  const elsewhere = await signIn(app);
  const theirs = await keyOf(elsewhere);
  t.equal((await me(bearer(theirs.key))).statusCode, 200, 'warm');
  await database.pool.query('UPDATE organizers SET disabled_at = now(), token_version = token_version + 1 WHERE id = $1', [elsewhere.organizer.id]);
  expectProblem(t, await me(bearer(theirs.key)), 401, 'disabled by another instance');
});

t.test('a wrong, garbled or unknown cvk_ key: 401, one answer for all (and the same as a bad token)', async (t) => {
  const owner = await signIn(app);
  const made = await keyOf(owner);
  const flipped = `${made.key.slice(0, -1)}${made.key.endsWith('A') ? 'B' : 'A'}`;
  const candidates = {
    unknown: `cvk_${randomBytes(32).toString('base64url')}`,
    flipped,
    short: made.key.slice(0, -1),
    long: `${made.key}A`,
    'bad characters': `cvk_${'!'.repeat(43)}`,
    'prefix only': 'cvk_',
    'two words': `${made.key} ${made.key}`,
    'the hash instead of the key': `cvk_${sha256(made.key)}`,
  };
  const answers = new Set<string>();
  for (const [label, key] of Object.entries(candidates)) {
    const res = await me(bearer(key));
    const body = expectProblem(t, res, 401, label);
    t.equal(res.headers['www-authenticate'], 'Bearer', label);
    answers.add(JSON.stringify(body));
  }
  t.equal(answers.size, 1, 'every refusal reads the same');
  t.equal(await lastUsedAt(made.id), null, 'no near miss records a use of the real key');

  const jwtAnswer = await me({ authorization: 'Bearer not-a-token' });
  t.same(JSON.parse([...answers][0]!), jwtAnswer.json(), 'and the same as a bad token');
  t.equal((await me({ authorization: `bearer ${made.key}` })).statusCode, 200, 'the scheme in any case');
});

t.test('the last use: recorded in the lookup, at most once a minute', async (t) => {
  const owner = await signIn(app);
  const made = await keyOf(owner);
  const listed = async () =>
    (await app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: owner.headers })).json().items.find((item: { id: string }) => item.id === made.id);
  t.equal((await listed()).lastUsedAt, null);

  const firstUse = clock.now().toISOString();
  t.equal((await me(bearer(made.key))).statusCode, 200);
  t.equal(await lastUsedAt(made.id), firstUse, 'the first use');
  t.equal((await listed()).lastUsedAt, firstUse, 'listed');

  clock.advance(30_000);
  t.equal((await me(bearer(made.key))).statusCode, 200);
  clock.advance(29_000);
  t.equal((await me(bearer(made.key))).statusCode, 200);
  t.equal(await lastUsedAt(made.id), firstUse, 'not rewritten within the minute');

  clock.advance(1_000);
  const minuteLater = clock.now().toISOString();
  // Requests at the same moment: each finds the key, one writes.
  const burst = await Promise.all(Array.from({ length: 5 }, () => me(bearer(made.key))));
  t.same(burst.map((res) => res.statusCode), [200, 200, 200, 200, 200]);
  t.equal(await lastUsedAt(made.id), minuteLater, 'a minute on: written again');
});

t.test('the name: 1 to 100 characters, not blank; problem details naming /name', async (t) => {
  const owner = await signIn(app);
  const cases: Array<[string, unknown, string]> = [
    ['no name', {}, 'is required'],
    ['empty', { name: '' }, 'is required'],
    ['blank', { name: '  \t ' }, 'is required'],
    ['too long', { name: 'x'.repeat(101) }, 'must be at most 100 characters'],
    ['too long once trimmed', { name: ` ${'x'.repeat(101)} ` }, 'must be at most 100 characters'],
    ['not a string', { name: 42 }, 'must be string'],
  ];
  for (const [label, payload, message] of cases) {
    const body = expectProblem(t, await createKey(owner.headers, payload), 400, label);
    t.same(body.errors, [{ path: '/name', message }], label);
  }
  const extra = expectProblem(t, await createKey(owner.headers, { name: 'Fine', scope: 'all' }), 400, 'an unknown property');
  t.same(errorPaths(extra), ['/scope']);
  t.equal((await createKey(owner.headers, { name: 'x'.repeat(100) })).statusCode, 201, '100 characters');

  const badId = expectProblem(t, await app.inject({ method: 'DELETE', url: '/api/v1/api-keys/not-a-uuid', headers: owner.headers }), 400, 'a malformed id');
  t.same(errorPaths(badId), ['/params/id']);
  expectProblem(t, await createKey({}, { name: 'Anonymous' }), 401, 'without a credential');
  expectProblem(t, await app.inject({ method: 'GET', url: '/api/v1/api-keys' }), 401);
});

t.test('at most 20 keys per organizer: 409 beyond, even when asked for at once', async (t) => {
  const owner = await signIn(app);
  const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => createKey(owner.headers, { name: `Key ${i}` })));
  const statuses = answers.map((res) => res.statusCode);
  t.equal(statuses.filter((status) => status === 201).length, 20, '20 made');
  t.equal(statuses.filter((status) => status === 409).length, 4, 'the rest refused');
  const refused = answers.find((res) => res.statusCode === 409)!;
  t.match(expectProblem(t, refused, 409).detail, /20 API keys/);
  const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE organizer_id = $1', [owner.organizer.id]);
  t.equal(rows[0]!.n, 20);

  const one = answers.find((res) => res.statusCode === 201)!.json();
  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${one.id}`, headers: owner.headers })).statusCode, 204);
  t.equal((await createKey(owner.headers)).statusCode, 201, 'room again after a delete');
  t.equal((await createKey(admin.headers)).statusCode, 201, "another organizer's keys do not count");
});
