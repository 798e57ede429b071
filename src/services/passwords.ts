import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import pLimit from 'p-limit';
import { ServiceUnavailableError } from '../errors.js';

// scrypt is memory-hard: N=2^15, r=8 needs 32 MiB per hash, which is what makes a stolen
// hash expensive to brute-force on GPUs.
const PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const MAX_MEMORY = 128 * PARAMS.N * PARAMS.r * 2;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Returns `scrypt$N$r$p$salt$hash` (base64url), so parameters can be raised later. */
async function computeHash(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...PARAMS, maxmem: MAX_MEMORY });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

async function computeVerify(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltText, hashText] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !saltText || !hashText) return false;
  const expected = Buffer.from(hashText, 'base64url');
  const options = { N: Number(n), r: Number(r), p: Number(p), maxmem: 128 * Number(n) * Number(r) * 2 };
  const actual = await scrypt(password, Buffer.from(saltText, 'base64url'), expected.length, options);
  return timingSafeEqual(actual, expected);
}

export interface PasswordHasherOptions {
  /** scrypt computations running at once in this process. */
  concurrency: number;
  /** Computations allowed to wait for a slot; one more is refused with 503. */
  queueLimit: number;
}

/**
 * scrypt runs in libuv's thread pool (4 threads), which also resolves host names for new
 * Postgres connections. Unbounded, a login flood filled that pool with hashes and new
 * connections timed out behind them (500s); bounded, at most `concurrency` threads hash, the
 * rest of the pool stays free, and a flood beyond `queueLimit` gets 503 with Retry-After.
 */
export function createPasswordHasher({ concurrency, queueLimit }: PasswordHasherOptions) {
  const limit = pLimit(concurrency);

  function bounded<T>(work: () => Promise<T>): Promise<T> {
    if (limit.activeCount + limit.pendingCount >= concurrency + queueLimit) {
      return Promise.reject(new ServiceUnavailableError('Too many password checks at once; try again in a few seconds'));
    }
    return limit(work);
  }

  // A real hash of a random password, checked when the e-mail is unknown (or the account
  // disabled) so that such a login costs the same as one with a wrong password.
  let decoy: Promise<string> | undefined;
  function decoyHash(): Promise<string> {
    decoy ??= bounded(() => computeHash(randomBytes(16).toString('hex'))).catch((error: unknown) => {
      decoy = undefined;
      throw error;
    });
    return decoy;
  }

  return {
    hash: (password: string) => bounded(() => computeHash(password)),
    /** Checks `password` against `stored`, or against the decoy when there is no stored hash. */
    verify: async (password: string, stored: string | null): Promise<boolean> => {
      const against = stored ?? (await decoyHash());
      const ok = await bounded(() => computeVerify(password, against));
      return stored !== null && ok;
    },
    /** For tests and metrics: hashes running and waiting now. */
    load: () => ({ active: limit.activeCount, waiting: limit.pendingCount }),
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
