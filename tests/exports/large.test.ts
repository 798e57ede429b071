import http from 'node:http';
import { parse } from 'csv-parse/sync';
import t from 'tap';
import { buildTestApp, signIn } from '../helpers/app.js';
import { CITY_QUESTIONS, createSession } from '../helpers/registrations.js';
import { bulkRegistrations, removeBulk } from './support.js';

const TOTAL = 100_000;
const CONFIRMED = 90_000;
const MB = 1024 * 1024;
/** Generous: a buffered export of this list would be several times the body (17 MB of text, far more as objects). */
const MAX_GROWTH_MB = 150;

t.test(`an export of ${TOTAL.toLocaleString('en')} rows streams in bounded memory`, async (t) => {
  const { app, database } = await buildTestApp(t);
  const { headers } = await signIn(app);
  const session = await createSession(app, headers, { capacity: null, questions: CITY_QUESTIONS });
  const started = Date.now();
  const tag = await bulkRegistrations(database.pool, session.id, { confirmed: CONFIRMED, total: TOTAL });
  t.teardown(() => removeBulk(session.id, tag));
  t.comment(`inserted ${TOTAL} registrations in ${Date.now() - started} ms`);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `${address}/api/v1/sessions/${session.id}/attendees.csv`;

  // Warm up the code paths on a small export, so the measurement sees the rows, not the first compile.
  const warm = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv?status=cancelled`, headers });
  t.equal(warm.statusCode, 200);
  (globalThis as { gc?: () => void }).gc?.();

  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
  }, 20);

  const exportStarted = Date.now();
  const result = await new Promise<{ status: number; bytes: number; lines: number; head: string; tail: string }>((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (response) => {
        let bytes = 0;
        let lines = 0;
        let head = '';
        let tail = '';
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
          if (head.length < 2_000) head += chunk.toString('utf8');
          tail = (tail + chunk.toString('utf8')).slice(-2_000);
        });
        response.once('end', () => resolve({ status: response.statusCode ?? 0, bytes, lines, head, tail }));
        response.once('error', reject);
      })
      .once('error', reject);
  });
  clearInterval(sampler);
  const seconds = (Date.now() - exportStarted) / 1000;
  const rssGrowth = (peakRss - before.rss) / MB;
  const heapGrowth = (peakHeap - before.heapUsed) / MB;
  t.comment(
    `${TOTAL} rows, ${(result.bytes / MB).toFixed(1)} MB in ${seconds.toFixed(2)} s; peak growth: RSS ${rssGrowth.toFixed(1)} MB, heap ${heapGrowth.toFixed(1)} MB`,
  );

  t.equal(result.status, 200);
  t.equal(result.lines, TOTAL + 1, 'a header and every row');
  const first = parse(result.head.slice(0, result.head.indexOf('\r\n', result.head.indexOf('\r\n') + 2) + 2)) as string[][];
  t.equal(first[0]![0], 'Registration ID');
  t.equal(first[1]![1], 'Bulk Person 1', 'in registration order');
  t.equal(first[1]![6], 'confirmed');
  const last = parse(result.tail.slice(result.tail.lastIndexOf('\r\n', result.tail.length - 3) + 2)) as string[][];
  t.equal(last[0]![1], `Bulk Person ${TOTAL}`);
  t.equal(last[0]![6], 'waitlisted');
  t.equal(last[0]![7], String(TOTAL - CONFIRMED), 'the last one waits last');
  t.ok(rssGrowth < MAX_GROWTH_MB, `RSS grew ${rssGrowth.toFixed(1)} MB (< ${MAX_GROWTH_MB} MB)`);
  t.ok(heapGrowth < MAX_GROWTH_MB, `heap grew ${heapGrowth.toFixed(1)} MB (< ${MAX_GROWTH_MB} MB)`);
  for (let attempt = 0; attempt < 100 && database.pool.totalCount !== database.pool.idleCount; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.equal(database.pool.totalCount, database.pool.idleCount, 'the export connection is back in the pool');
});
