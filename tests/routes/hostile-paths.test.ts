import t from 'tap';
import { buildTestApp, sessionBody, signIn } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';

t.test('NUL characters and over-long paths get clear 4xx problems, never a 500', async (t) => {
  const { app, database } = await buildTestApp(t);
  const { headers, organizer } = await signIn(app);
  const countOwn = async () =>
    (await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE created_by = $1', [organizer.id])).rows[0]!.n;

  expectProblem(t, await app.inject({ method: 'GET', url: '/api/v1/public/sessions/%00' }), 400, 'NUL in a slug');
  expectProblem(t, await app.inject({ method: 'GET', url: `/j/${'a'.repeat(300)}` }), 414, 'a 300-character token');
  expectProblem(t, await app.inject({ method: 'GET', url: '/api/v1/registrations/%00abc' }), 404, 'NUL in a token');

  const created = await app.inject({ method: 'POST', url: '/api/v1/sessions', headers, payload: sessionBody({ title: 'a\u0000b' }) });
  expectProblem(t, created, 400, 'NUL in a title');
  t.equal(await countOwn(), 0, 'nothing stored');
});
