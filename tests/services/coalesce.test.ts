import t from 'tap';
import { freshCoalescer, groupedCalls, groupedWriter } from '../../src/services/coalesce.js';

/** A read whose answers the test releases one at a time; `value` is what the data is when a read starts. */
function controlledReads() {
  let value = 0;
  const started: Array<{ sawValue: number; finish: () => void; fail: (error: Error) => void }> = [];
  const read = () =>
    new Promise<number>((resolve, reject) => {
      const sawValue = value;
      started.push({ sawValue, finish: () => resolve(sawValue), fail: reject });
    });
  return {
    read,
    started,
    set: (next: number) => (value = next),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('callers that arrive while a read runs share the next read', async (t) => {
  const load = freshCoalescer<number>();
  const reads = controlledReads();
  const first = load('k', reads.read);
  const answers = Promise.all([load('k', reads.read), load('k', reads.read), load('k', reads.read)]);
  await tick();
  t.equal(reads.started.length, 1, 'one read running');
  reads.started[0]!.finish();
  t.equal(await first, 0);
  await tick();
  t.equal(reads.started.length, 2, 'one more read for the three callers that came during the first');
  reads.started[1]!.finish();
  t.same(await answers, [0, 0, 0]);
});

t.test('a caller that arrives during a read waits for the next one, which sees what changed', async (t) => {
  const load = freshCoalescer<number>();
  const reads = controlledReads();
  const early = load('k', reads.read);
  await tick();
  reads.set(1); // a change commits while the first read runs
  const late = [load('k', reads.read), load('k', reads.read)];
  await tick();
  t.equal(reads.started.length, 1, 'the second read has not started: the first still runs');
  reads.started[0]!.finish();
  t.equal(await early, 0, 'the early caller gets the read it joined');
  await tick();
  t.equal(reads.started.length, 2, 'the next read starts when the first ends');
  reads.started[1]!.finish();
  t.same(await Promise.all(late), [1, 1], 'late callers see the change, never the older answer');
});

t.test('keys are independent; an error reaches the callers of that read only', async (t) => {
  const load = freshCoalescer<number>();
  const a = controlledReads();
  const b = controlledReads();
  const failing = load('a', a.read);
  const next = load('a', a.read);
  const other = load('b', b.read);
  await tick();
  t.equal(a.started.length + b.started.length, 2, 'one read per key at a time');
  a.started[0]!.fail(new Error('database away'));
  await t.rejects(failing, /database away/);
  b.started[0]!.finish();
  t.equal(await other, 0, 'the other key is unaffected');
  await tick();
  a.started[1]!.finish();
  t.equal(await next, 0, 'the caller of the next read gets its answer');
});

t.test('a read that throws synchronously still answers its callers', async (t) => {
  const load = freshCoalescer<number>();
  await t.rejects(
    load('k', () => {
      throw new Error('bad');
    }),
    /bad/,
  );
  t.equal(await load('k', async () => 7), 7, 'the key works afterwards');
});

t.test('an idle key reads at once, and forgets the key', async (t) => {
  const load = freshCoalescer<number>();
  let reads = 0;
  const read = async () => (reads += 1);
  t.equal(await load('k', read), 1);
  t.equal(await load('k', read), 2, 'a caller after the answer gets a read of its own');
  t.equal(await load('k', read), 3);
});

/** A write whose completions the test releases one at a time. */
function controlledWrites() {
  const writes: Array<{ items: number[]; finish: () => void; fail: (error: Error) => void }> = [];
  const write = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      writes.push({ items, finish: resolve, fail: reject });
    });
  return { write, writes };
}

t.test('grouped writes: alone at rest, together while a write runs, at most maxGroup each', async (t) => {
  const { write, writes } = controlledWrites();
  const add = groupedWriter(write, 3);
  const first = add(1);
  t.same(writes.map((w) => w.items), [[1]], 'an item at rest is written at once, alone');
  const waiting = [2, 3, 4, 5].map((item) => add(item));
  t.equal(writes.length, 1, 'nothing more starts while a write runs');
  writes[0]!.finish();
  await first;
  t.same(writes.map((w) => w.items), [[1], [2, 3, 4]], 'the next write takes what came meanwhile, at most maxGroup');
  writes[1]!.finish();
  await Promise.all(waiting.slice(0, 3));
  t.same(writes[2]!.items, [5], 'the rest in the write after');
  writes[2]!.finish();
  await waiting[3];
  const later = add(6);
  t.same(writes[3]!.items, [6], 'idle again: at once');
  writes[3]!.finish();
  await later;
});

t.test('grouped writes: a failed write fails its own group only', async (t) => {
  const { write, writes } = controlledWrites();
  const add = groupedWriter(write);
  const first = add(1);
  const second = [add(2), add(3)];
  writes[0]!.fail(new Error('database away'));
  await t.rejects(first, /database away/);
  t.same(writes[1]!.items, [2, 3], 'the next group is written all the same');
  writes[1]!.finish();
  await Promise.all(second);
  t.pass('its callers are answered');
});

t.test('grouped writes: a write that throws synchronously still answers its callers', async (t) => {
  let calls = 0;
  const add = groupedWriter<number>(() => {
    calls += 1;
    if (calls === 1) throw new Error('bad');
    return Promise.resolve();
  });
  await t.rejects(add(1), /bad/);
  await add(2);
  t.equal(calls, 2, 'the writer works afterwards');
});

t.test('grouped calls: a queue per key, each call answered with its own outcome, in order', async (t) => {
  const runs: Array<{ key: string; items: number[]; finish: () => void }> = [];
  const call = groupedCalls<number, string>(
    (key, items) =>
      new Promise((resolve) => {
        runs.push({
          key,
          items,
          finish: () =>
            resolve(items.map((item) => (item < 0 ? { status: 'rejected', reason: new Error(`no ${item}`) } : { status: 'fulfilled', value: `${key}:${item}` }))),
        });
      }),
  );
  const a1 = call('a', 1);
  const b1 = call('b', 1);
  t.same(runs.map((run) => [run.key, run.items]), [['a', [1]], ['b', [1]]], 'keys do not wait for each other');
  const queued = [call('a', 2), call('a', -3), call('a', 4)];
  t.equal(call.waiting('a'), 3, 'three wait for the next group of a');
  t.equal(call.waiting('b'), 0);
  runs[0]!.finish();
  t.equal(await a1, 'a:1');
  t.same(runs[2]!.items, [2, -3, 4], 'the next group of a takes them in arrival order');
  runs[2]!.finish();
  t.equal(await queued[0], 'a:2');
  await t.rejects(queued[1]!, /no -3/, 'a call whose own outcome failed fails alone');
  t.equal(await queued[2], 'a:4');
  runs[1]!.finish();
  t.equal(await b1, 'b:1');
  t.equal(call.waiting('a'), 0, 'nothing kept once the queues are empty');
});
