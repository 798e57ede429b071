import t from 'tap';
import { buildTestApp } from './helpers/app.js';

t.test('health answers', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
});
