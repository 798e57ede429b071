import { createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError, TooManyRequestsError } from '../errors.js';
import { normalizeOrganizerEmail } from '../services/organizers.service.js';
import { perClientAddress } from './rate-limit.js';

/**
 * Login throttling, shared by every API instance through Redis:
 * - per client address, every login post counts (@fastify/rate-limit, like the registration
 *   limits; it lets requests through when Redis does not answer);
 * - per e-mail address (known or not, so the answers stay identical), only failed logins count
 *   (rate-limiter-flexible). Each attempt takes a point before its password is checked and
 *   gives it back unless it failed, so concurrent guesses cannot slip past the count, and
 *   once the e-mail has used its points even the right password is 429 until the window ends.
 *   When Redis does not answer, each process counts in its own memory instead (the insurance
 *   limiter): a lockout that fails open would let a guesser through exactly when Redis is down.
 */
export interface LoginThrottle {
  /** onRequest hook: one more login from the client's address. */
  perIp(request: FastifyRequest): Promise<void>;
  /** Runs `attempt` unless the e-mail is locked out; a 401 or 403 from it counts as a failure. */
  guard<T>(email: string, attempt: () => Promise<T>): Promise<T>;
}

export interface LoginThrottleOptions {
  redis: Redis;
  /** Keys the e-mail hashes, so Redis holds neither an address nor a hash anyone can look up. */
  secret: string;
  /** Login posts per client address per minute; 0: no limit. */
  perIpPerMinute: number;
  maxFailures: number;
  lockoutMinutes: number;
}


function isFailedCredential(error: unknown): boolean {
  return error instanceof DomainError && (error.status === 401 || error.status === 403);
}

function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export function createLoginThrottle(app: FastifyInstance, options: LoginThrottleOptions): LoginThrottle {
  const perIp = perClientAddress(app, { kind: 'login:ip:', perMinute: options.perIpPerMinute, attempts: 'sign-in attempts' });

  const window = { points: options.maxFailures, duration: options.lockoutMinutes * 60 };
  const failures = new RateLimiterRedis({
    ...window,
    storeClient: options.redis,
    keyPrefix: 'convene:login:failures',
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory(window),
  });

  const emailKey = (email: string) => createHmac('sha256', options.secret).update(normalizeOrganizerEmail(email)).digest('base64url');

  async function giveBack(key: string): Promise<void> {
    await failures.reward(key, 1).catch(() => undefined);
  }

  return {
    perIp,

    async guard<T>(email: string, attempt: () => Promise<T>): Promise<T> {
      const key = emailKey(email);
      try {
        await failures.consume(key);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        const seconds = retryAfterSeconds(rejection.msBeforeNext);
        throw new TooManyRequestsError(seconds, `Too many failed sign-ins for this e-mail address; try again in ${seconds} seconds`);
      }
      let result: T;
      try {
        result = await attempt();
      } catch (error) {
        if (!isFailedCredential(error)) await giveBack(key);
        throw error;
      }
      await giveBack(key);
      return result;
    },
  };
}
