import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { fixed, median, publishedBenchSession, report, startServer, type BenchContext } from './lib.js';

/**
 * Can the time of a registration's answer tell a stranger whether an address is registered?
 * Against the built server, one request at a time over one keep-alive connection, in interleaved
 * pairs: a new address and an already registered one (its first repeat, which writes the manage
 * link again: the most work a repeat does), the order inside each pair alternating, so drift of
 * the machine falls on both sides alike. The figure is the median of the per-pair differences,
 * printed beside the same figure for two new addresses (the noise between two runs of one path).
 */

const PAIRS = Number(process.env.BENCH_ENUMERATION_PAIRS ?? 400);
const WARMUP = 50;


interface Timed {
  ms: number;
  status: number;
  body: string;
}

function quartiles(values: number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  return [sorted[Math.floor(sorted.length / 4)]!, sorted[Math.floor((sorted.length * 3) / 4)]!];
}

export async function enumerationBench(ctx: BenchContext): Promise<void> {
  const session = await publishedBenchSession(ctx, 'Enumeration bench');
  const run = randomUUID().slice(0, 8);
  const address = (kind: string, i: number) => `enum-${run}-${kind}-${i}@example.org`;
  const server = await startServer(ctx.env);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = `${server.url}/api/v1/public/sessions/${session.slug}/registrations`;
  const post = (email: string): Promise<Timed> =>
    new Promise((resolve, reject) => {
      const payload = JSON.stringify({ name: 'Enumeration Probe', email, consent: true });
      const started = performance.now();
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  try {
    for (let i = 0; i < WARMUP; i += 1) await post(address('warm', i));
    // The registered side: people who registered once, each probed once below.
    for (let i = 0; i < PAIRS; i += 1) await post(address('known', i));

    const newVsKnown: number[] = [];
    const newVsNew: number[] = [];
    const newTimes: number[] = [];
    const knownTimes: number[] = [];
    const bodies = new Set<string>();
    let refused = 0;
    for (let i = 0; i < PAIRS; i += 1) {
      // Cross pair: a new address and a registered one; same-path pair: two new addresses.
      const [first, second] = i % 2 === 0 ? [address('new', i), address('known', i)] : [address('known', i), address('new', i)];
      const a = await post(first);
      const b = await post(second);
      const fresh = i % 2 === 0 ? a : b;
      const known = i % 2 === 0 ? b : a;
      newVsKnown.push(known.ms - fresh.ms);
      newTimes.push(fresh.ms);
      knownTimes.push(known.ms);
      const c = await post(address('newA', i));
      const d = await post(address('newB', i));
      newVsNew.push(i % 2 === 0 ? d.ms - c.ms : c.ms - d.ms);
      for (const answer of [a, b, c, d]) {
        if (answer.status !== 202) refused += 1;
        bodies.add(answer.body);
      }
    }
    const cross = median(newVsKnown);
    const same = median(newVsNew);
    const [crossLow, crossHigh] = quartiles(newVsKnown);
    const [sameLow, sameHigh] = quartiles(newVsNew);
    // The standard error of a median of n differences, from their spread (IQR / 1.349 estimates
    // the standard deviation): how far apart two medians must be before they differ at all.
    const standardError = (1.2533 * ((sameHigh - sameLow) / 1.349)) / Math.sqrt(PAIRS);
    console.log(
      `  ${PAIRS} pairs; median latency new ${fixed(median(newTimes), 2)} ms, registered ${fixed(median(knownTimes), 2)} ms; ` +
        `per-pair difference IQR: registered-new [${fixed(crossLow, 2)}, ${fixed(crossHigh, 2)}] ms, new-new [${fixed(sameLow, 2)}, ${fixed(sameHigh, 2)}] ms; ` +
        `standard error of a median ${fixed(standardError, 3)} ms`,
    );
    report({
      bench: 'enumeration',
      metric: 'median diff (ms) reg-new',
      ours: fixed(cross, 3),
      baseline: fixed(same, 3),
      ratio: Math.abs(same) > 0 ? fixed(Math.abs(cross) / Math.abs(same), 1) : '-',
      // The issue measured 5 ms (31 against 26) and the first contract's code gave 1.0 ms here;
      // what is left is two inserts a repeat does not make (see capacity.ts).
      target: '|diff| <= 0.25 ms',
      ok: Math.abs(cross) <= 0.25,
    });
    report({
      bench: 'enumeration',
      metric: 'distinct answers / non-202',
      ours: `${bodies.size} / ${refused}`,
      baseline: '-',
      ratio: '-',
      target: '1 / 0',
      ok: bodies.size === 1 && refused === 0,
    });
  } finally {
    agent.destroy();
    await server.stop();
  }
}
