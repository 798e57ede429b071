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
 * Writes items in groups: an item that arrives while a write runs waits for the next write, which
 * takes every item that arrived meanwhile (at most `maxGroup`) and starts as soon as the running
 * one ends. At rest each item is written at once and alone; under load one write (one commit)
 * carries many. Each caller learns whether its own group was written; a failed write fails its
 * group only.
 */
export function groupedWriter<T>(write: (items: T[]) => Promise<void>, maxGroup = 256): (item: T) => Promise<void> {
  interface Waiting {
    item: T;
    resolve: () => void;
    reject: (error: unknown) => void;
  }
  const queue: Waiting[] = [];
  let writing = false;

  function writeNext(): void {
    const group = queue.splice(0, maxGroup);
    if (group.length === 0) {
      writing = false;
      return;
    }
    writing = true;
    let result: Promise<void>;
    try {
      result = write(group.map((waiting) => waiting.item));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      () => {
        writeNext();
        for (const waiting of group) waiting.resolve();
      },
      (error: unknown) => {
        writeNext();
        for (const waiting of group) waiting.reject(error);
      },
    );
  }

  return (item) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!writing) writeNext();
    });
}
