import { createHash } from 'node:crypto';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { TooManyRequestsError } from '../errors.js';
import { normalizeEmail } from '../services/email-address.js';

/**
 * Limits on registration posts (the web form and the public API): per client address and per
 * recipient address, counted in Redis (shared by every API instance) with @fastify/rate-limit's
 * store. When Redis does not answer, the limits let requests through (`skipOnError`): a
 * registration matters more than a limit, and the outbox keeps the e-mails until Redis is back.
 */
export interface RegistrationLimits {
  /** onRequest hook: counts the request against its client address (X-Forwarded-For only with TRUST_PROXY). */
  perIp(request: FastifyRequest): Promise<void>;
  /**
   * Counts the request against the recipient address. Only for a request that passed validation
   * for a session open for registration (the registration service calls it at that point):
   * counting posts that register nothing would let anyone lock a person out by posting their
   * address to a missing slug or without consent.
   */
  checkRecipient(request: FastifyRequest, email: string): Promise<void>;
}

export interface RateLimitOptions {
  redis: Redis;
  /** Requests per client address per minute; 0: no limit. */
  perIpPerMinute: number;
  /** Requests per recipient address per hour; 0: no limit. */
  perEmailPerHour: number;
}

const MINUTE = 60_000;
/** Where checkRecipient leaves the address for the key generator. */
const RECIPIENT = Symbol('convene.rate.recipient');
type RecipientRequest = FastifyRequest & { [RECIPIENT]?: string };
const HOUR = 60 * MINUTE;

/** The key of a recipient: a hash, so Redis never holds an address. */
function recipientKey(email: string): string {
  const identity = normalizeEmail(email) ?? email.trim().toLowerCase();
  return `to:${createHash('sha256').update(identity).digest('base64url').slice(0, 32)}`;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/** Counts the request; over the limit, 429 with Retry-After and `attempts` named in the detail. */
async function enforce(limiter: Limiter, request: FastifyRequest, attempts: string): Promise<void> {
  const result = await limiter(request);
  if (result.isAllowed || !result.isExceeded) return;
  const retryAfter = Math.max(1, result.ttlInSeconds);
  throw new TooManyRequestsError(retryAfter, `Too many ${attempts}; try again in ${retryAfter} seconds`);
}

/**
 * An onRequest hook limiting one kind of request to `perMinute` per client address (X-Forwarded-For
 * only with TRUST_PROXY), counted in Redis under `kind`; a no-op when `perMinute` is 0. Needs
 * @fastify/rate-limit registered first (registerRateLimits). Lets requests through while Redis
 * does not answer.
 */
export function perClientAddress(
  app: FastifyInstance,
  { kind, perMinute, attempts }: { kind: string; perMinute: number; attempts: string },
): (request: FastifyRequest) => Promise<void> {
  if (perMinute <= 0) return async () => undefined;
  const limiter = app.createRateLimit({
    max: perMinute,
    timeWindow: MINUTE,
    skipOnError: true,
    keyGenerator: (request) => `${kind}${normalizeIP(request.ip, 64)}`,
  });
  return (request) => enforce(limiter, request, `${attempts} from your network`);
}

/** Registers @fastify/rate-limit (no global limit) and returns the registration limits. */
export async function registerRateLimits(app: FastifyInstance, options: RateLimitOptions): Promise<RegistrationLimits> {
  await app.register(rateLimit, {
    global: false,
    redis: options.redis,
    nameSpace: 'convene:rate:',
    skipOnError: true,
  });
  const perIp = perClientAddress(app, { kind: 'ip:', perMinute: options.perIpPerMinute, attempts: 'registration attempts' });
  const perEmail =
    options.perEmailPerHour > 0
      ? app.createRateLimit({
          max: options.perEmailPerHour,
          timeWindow: HOUR,
          skipOnError: true,
          keyGenerator: (request) => recipientKey((request as RecipientRequest)[RECIPIENT] ?? ''),
        })
      : null;

  const checkRecipient = async (request: FastifyRequest, email: string) => {
    if (!perEmail || email.trim() === '') return;
    (request as RecipientRequest)[RECIPIENT] = email;
    await enforce(perEmail, request, 'registration attempts for this e-mail address');
  };

  return { perIp, checkRecipient };
}
