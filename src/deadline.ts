/**
 * Waits for `work` at most `ms`: true when it settled (resolved or rejected) in time, false when
 * the time ran out first. The work goes on; the caller decides what to do without it.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([work.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `promise`'s result, or a rejection with `message` when it takes longer than `ms` (the work
 * goes on): for calls that would otherwise wait as long as a server is away, such as BullMQ
 * adding jobs while Redis is down.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
