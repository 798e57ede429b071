/**
 * Shares one read among the callers that ask for the same key at about the same time, without
 * ever answering a caller with data read before it asked: a caller that arrives while a read is
 * running waits for the next one, which starts as soon as the running one ends. So under any load
 * a key costs at most one read at a time, each caller sees every change committed before it
 * arrived, and nothing is kept once a read is answered: no process holds a version that another
 * could contradict.
 */
export function freshCoalescer<T>() {
  interface Batch {
    promise: Promise<T>;
    resolve: (value: T) => void;
    reject: (error: unknown) => void;
    read: () => Promise<T>;
  }
  /** Per key with a read running: the callers of the next read, which has not started yet. */
  const next = new Map<string, Batch | null>();

  function start(key: string, batch: Batch): void {
    next.set(key, null);
    let result: Promise<T>;
    try {
      result = batch.read();
    } catch (error) {
      result = Promise.reject(error);
    }
    // The bookkeeping comes before the answer, so a caller that reacts to its answer by asking
    // again finds the key idle and gets a read of its own at once.
    const settle = () => {
      const waiting = next.get(key);
      if (waiting) start(key, waiting);
      else next.delete(key);
    };
    result.then(
      (value) => {
        settle();
        batch.resolve(value);
      },
      (error: unknown) => {
        settle();
        batch.reject(error);
      },
    );
  }

  /** `read` must give the same answer whichever caller's copy runs: the key names what it reads. */
  return function load(key: string, read: () => Promise<T>): Promise<T> {
    const waiting = next.get(key);
    if (waiting) return waiting.promise;
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const batch = { promise, resolve, reject, read };
    if (next.has(key)) next.set(key, batch);
    else start(key, batch);
    return promise;
  };
}

/**
 * Runs calls in groups, one queue per key: a call that arrives while its key's group runs waits
 * for the next group, which takes the calls that arrived meanwhile (at most `maxGroup`, in
 * arrival order) and starts as soon as the running one ends. At rest each call runs at once and
 * alone; under load one run (one commit) carries many. `run` answers each call of its group, in
 * order; a run that throws fails its group only. Nothing is kept once a key's queue is empty.
 */
export function groupedCalls<T, R>(
  run: (key: string, items: T[]) => Promise<PromiseSettledResult<R>[]>,
  maxGroup = 256,
): ((key: string, item: T) => Promise<R>) & { waiting: (key: string) => number } {
  interface Waiting {
    item: T;
    resolve: (value: R) => void;
    reject: (error: unknown) => void;
  }
  /** Per key with a group running: the calls waiting for a later group. */
  const queues = new Map<string, Waiting[]>();

  function runNext(key: string): void {
    const queue = queues.get(key)!;
    const group = queue.splice(0, maxGroup);
    if (group.length === 0) {
      queues.delete(key);
      return;
    }
    let result: Promise<PromiseSettledResult<R>[]>;
    try {
      result = run(
        key,
        group.map((waiting) => waiting.item),
      );
    } catch (error) {
      result = Promise.reject(error);
    }
    // The next group starts before this one's callers hear back, so a caller that calls again
    // at once joins a later group instead of finding the key idle out of turn.
    result.then(
      (outcomes) => {
        runNext(key);
        group.forEach((waiting, index) => {
          const outcome = outcomes[index];
          if (outcome?.status === 'fulfilled') waiting.resolve(outcome.value);
          else waiting.reject(outcome ? outcome.reason : new Error('the group run gave no answer for this call'));
        });
      },
      (error: unknown) => {
        runNext(key);
        for (const waiting of group) waiting.reject(error);
      },
    );
  }

  const call = (key: string, item: T) =>
    new Promise<R>((resolve, reject) => {
      const queue = queues.get(key);
      if (queue) {
        queue.push({ item, resolve, reject });
        return;
      }
      queues.set(key, [{ item, resolve, reject }]);
      runNext(key);
    });
  /** The calls of `key` waiting for a later group (not those of the group running). */
  const waiting = (key: string) => queues.get(key)?.length ?? 0;
  return Object.assign(call, { waiting });
}

/**
 * Writes items in groups (groupedCalls with one key): at rest each item is written at once and
 * alone; under load one write (one commit) carries many. Each caller learns whether its own group
 * was written; a failed write fails its group only.
 */
export function groupedWriter<T>(write: (items: T[]) => Promise<void>, maxGroup = 256): (item: T) => Promise<void> {
  const call = groupedCalls<T, void>(async (_key, items) => {
    await write(items);
    return items.map(() => ({ status: 'fulfilled', value: undefined }));
  }, maxGroup);
  return (item) => call('', item);
}
