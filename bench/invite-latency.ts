import { randomUUID } from 'node:crypto';
import { clearMail, fixed, percentile, publishedBenchSession, report, smtpSink, startServer, type BenchContext } from './lib.js';

const REGISTRATIONS = 200;
/** A steady stream, as on a busy morning, rather than a burst: this measures latency, not throughput. */
const PER_SECOND = 20;

export async function inviteLatencyBench(ctx: BenchContext): Promise<void> {
  await clearMail(ctx);
  const arrivals = new Map<string, number>();
  const sink = await smtpSink((recipients) => {
    const at = performance.now();
    for (const recipient of recipients) arrivals.set(recipient, at);
  });
  const session = await publishedBenchSession(ctx, 'Invite latency');
  // The production layout: the API and a worker as separate processes.
  const env = { ...ctx.env, SMTP_URL: `smtp://127.0.0.1:${sink.port}` };
  const worker = await startServer(env, 'worker');
  const server = await startServer(env, 'api');
  const sentAt = new Map<string, number>();
  try {
    const posts: Promise<void>[] = [];
    for (let index = 0; index < REGISTRATIONS; index += 1) {
      const email = `latency-${process.pid}-${index}-${randomUUID().slice(0, 6)}@example.org`;
      sentAt.set(email, performance.now());
      posts.push(
        fetch(`${server.url}/api/v1/public/sessions/${session.slug}/registrations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Latency Person', email, consent: true }),
        }).then((response) => {
          if (response.status !== 202) throw new Error(`registration answered ${response.status}`);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000 / PER_SECOND));
    }
    await Promise.all(posts);
    const deadline = Date.now() + 60_000;
    while ([...sentAt.keys()].some((email) => !arrivals.has(email)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await server.stop();
    await worker.stop();
    await sink.close();
  }
  const latencies = [...sentAt]
    .filter(([email]) => arrivals.has(email))
    .map(([email, at]) => arrivals.get(email)! - at)
    .sort((a, b) => a - b);
  const missing = sentAt.size - latencies.length;
  const p50 = percentile(latencies, 0.5);
  report({ bench: 'invite latency', metric: `p50 (ms), ${PER_SECOND} reg/s to inbox`, ours: fixed(p50, 0), baseline: '-', ratio: '-', target: '<= 1000 ms', ok: p50 <= 1000 && missing === 0 });
  report({ bench: 'invite latency', metric: 'p95 (ms) / missing', ours: `${fixed(percentile(latencies, 0.95), 0)} / ${missing}`, baseline: '-', ratio: '-', target: 'none missing', ok: missing === 0 });
}
