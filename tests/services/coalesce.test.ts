import t from 'tap';
import { freshCoalescer } from '../../src/services/coalesce.js';

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
