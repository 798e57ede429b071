import { buildApp } from './src/app.js';
import { createDb } from './db/client.js';
import { createRedis } from './src/redis.js';
import { systemClock } from './src/clock.js';
import { testConfig, migrateOnce } from './tests/helpers/app.js';
import { bulkRegistrations, removeBulk } from './tests/exports/support.js';
import http from 'node:http';

const config = testConfig();
await migrateOnce(config.databaseUrl);
const database = createDb(config.databaseUrl, { max: 5 });
const redis = createRedis(config.redisUrl, 'producer');
const app = await buildApp({ config, database, redis, clock: systemClock });
await app.ready();
const org = await app.services.organizers.create({ email: `prof-${Date.now()}@example.org`, name: 'P', password: 'a-long-password-123', role: 'organizer' });
const { token } = app.issueToken(org);
const start = new Date(Date.now() + 20 * 86400000);
const session = await app.services.sessions.create({ title: 'Prof', startsAt: start.toISOString(), endsAt: new Date(start.getTime() + 3600000).toISOString(), timezone: 'America/Chicago', questions: [{ id: 'city', label: 'Your city', type: 'text', required: false }, { id: 'agree', label: 'Agree', type: 'checkbox', required: false }] }, org);
const tag = await bulkRegistrations(database.pool, session.id, { confirmed: 90000, total: 100000 });
await database.pool.query('ANALYZE registrations');
const address = await app.listen({ port: 0, host: '127.0.0.1' });
async function once() {
  const t0 = performance.now();
  await new Promise<void>((resolve) => http.get(`${address}/api/v1/sessions/${session.id}/attendees.csv`, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => { res.on('data', () => {}); res.on('end', () => resolve()); }));
  return performance.now() - t0;
}
for (let i = 0; i < 4; i++) console.log('ms', Math.round(await once()));
await removeBulk(session.id, tag);
await app.close(); redis.disconnect(); await database.pool.end();
