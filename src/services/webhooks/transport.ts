import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { ipLiteralOf, isPublicAddress, parseWebhookUrl } from './address.js';

/**
 * The HTTP leg of a webhook delivery: one POST, its outcome as data. It never throws, follows
 * no redirects (a 3xx is one more status that is not 2xx), gives up after the timeout, reads at
 * most `maxBodyBytes` of the answer, and — unless private addresses are allowed — connects only
 * to public addresses. That last check happens when the socket is opened, on the addresses the
 * name resolves to at that moment, so a name that passed when the URL was saved and now
 * resolves to 127.0.0.1 (DNS rebinding) still reaches nothing. Connections are kept alive and
 * pooled per origin: most deliveries go to few receivers.
 */

/** The resolver: every address of a host name. */
export type WebhookResolver = (hostname: string) => Promise<LookupAddress[]>;

export interface WebhookTransportOptions {
  /** WEBHOOK_ALLOW_PRIVATE: also http, loopback and private addresses (development, tests). */
  allowPrivate: boolean;
  /** The whole request: connecting, the answer's headers and the part of its body that is read. */
  timeoutMs?: number;
  /** How much of the answer is kept (and read at all); the rest is never downloaded. */
  maxBodyBytes?: number;
  /** The resolver; by default the system's (dns.lookup, all addresses). */
  lookup?: WebhookResolver;
}

export interface WebhookPostResult {
  /** The receiver's status, or null when no answer came. */
  statusCode: number | null;
  /** Why no answer came ('timeout', 'address not allowed: …', 'connection refused', 'TLS: …'); null when one did. */
  error: string | null;
  /** The start of the answer's body as text, at most maxBodyBytes long. */
  responseExcerpt: string;
}

export interface WebhookTransport {
  /** POSTs `body` as JSON with the given (signature) headers. Never throws. */
  post(url: string, body: string, headers: Readonly<Record<string, string>>): Promise<WebhookPostResult>;
  /** Closes the pooled connections once the requests in flight are done. */
  close(): Promise<void>;
}

export const WEBHOOK_USER_AGENT = 'Convene-Webhooks/1';

const ADDRESS_NOT_ALLOWED = 'ERR_WEBHOOK_ADDRESS_NOT_ALLOWED';

const systemResolver: WebhookResolver = (hostname) => dnsLookup(hostname, { all: true });

export function createWebhookTransport({
  allowPrivate,
  timeoutMs = 10_000,
  maxBodyBytes = 1024,
  lookup = systemResolver,
}: WebhookTransportOptions): WebhookTransport {
  const connectThroughPool = buildConnector({ timeout: timeoutMs, lookup: guardedLookup(lookup, allowPrivate) });
  const agent = new Agent({
    // An IP literal is connected to without any lookup, so literals are judged here.
    connect(options, callback) {
      if (!allowPrivate) {
        const literal = ipLiteralOf(options.hostname);
        if (literal !== null && !isPublicAddress(literal)) {
          callback(addressNotAllowed(literal), null);
          return;
        }
      }
      connectThroughPool(options, callback);
    },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  /** Each address's verdict on its form, by the address as written: most posts go to few endpoints. */
  const targets = new Map<string, { origin: string; path: string } | string>();
  function targetOf(url: string) {
    let target = targets.get(url);
    if (target === undefined) {
      const parsed = parseWebhookUrl(url, allowPrivate);
      target = typeof parsed === 'string' ? parsed : { origin: parsed.origin, path: parsed.pathname + parsed.search };
      if (targets.size >= 1_000) targets.clear();
      targets.set(url, target);
    }
    return target;
  }

  // A dispatch handler rather than undici's request(): no stream, no abort signal per request
  // (both cost measurably at volume), and the body can be cut off at the exact byte.
  function post(url: string, body: string, headers: Readonly<Record<string, string>>): Promise<WebhookPostResult> {
    // The form only (scheme, credentials, length); addresses are judged at connect time.
    const target = targetOf(url);
    if (typeof target === 'string') return Promise.resolve(noAnswer(target));

    return new Promise<WebhookPostResult>((resolve) => {
      let settled = false;
      let controller: Dispatcher.DispatchController | null = null;
      let statusCode: number | null = null;
      const excerpt = new ExcerptCollector(maxBodyBytes);

      const settle = (result: WebhookPostResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      // Once the status has come it is the outcome: an error while reading the body (a reset,
      // the timeout) only ends the excerpt.
      const answered = (): WebhookPostResult => ({ statusCode, error: null, responseExcerpt: excerpt.text });

      // The whole request, connecting included. Before undici hands over a controller (while
      // connecting) there is nothing to abort yet: the connect timeout ends that attempt.
      const timer = setTimeout(() => {
        settle(statusCode === null ? noAnswer('timeout') : answered());
        controller?.abort(new Error('timeout'));
      }, timeoutMs);

      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(started) {
          controller = started;
          if (settled) started.abort(new Error('timeout'));
        },
        onResponseStart(_controller, status) {
          if (status >= 200) statusCode = status; // not a 100 Continue
        },
        onResponseData(current, chunk) {
          if (excerpt.add(chunk)) return;
          // Enough: closing the connection is cheaper than downloading the rest.
          settle(answered());
          current.abort(new Error('response excerpt complete'));
        },
        onResponseEnd() {
          settle(answered());
        },
        onResponseError(_controller, error) {
          settle(statusCode === null ? noAnswer(describeFailure(error)) : answered());
        },
      };
      try {
        agent.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json', 'user-agent': WEBHOOK_USER_AGENT },
            body,
          },
          handler,
        );
      } catch (error) {
        settle(noAnswer(describeFailure(error)));
      }
    });
  }

  // Closing twice (a worker closed by its owner and again in a teardown) waits for the first close.
  let closing: Promise<void> | null = null;
  return {
    post,
    close: () => (closing ??= agent.close()),
  };
}

function noAnswer(error: string): WebhookPostResult {
  return { statusCode: null, error, responseExcerpt: '' };
}

/** The first bytes of a body as text, never ending in half a character. */
class ExcerptCollector {
  private readonly decoder = new StringDecoder('utf8');
  private remaining: number;
  text = '';

  constructor(maxBytes: number) {
    this.remaining = maxBytes;
  }

  /** Takes what fits; false once the limit is reached and nothing more is wanted. */
  add(chunk: Buffer): boolean {
    if (this.remaining > 0) {
      const part = chunk.length > this.remaining ? chunk.subarray(0, this.remaining) : chunk;
      // The decoder holds back a character cut in two by a chunk's end or by the limit.
      this.text += this.decoder.write(part);
      this.remaining -= part.length;
    }
    return this.remaining > 0;
  }
}

/** The net/tls lookup for a connection: the resolver's addresses, refused when any of them is not public. */
function guardedLookup(resolve: WebhookResolver, allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        // Every address counts, not only the one that will be tried first: the socket may
        // fall back to any of them.
        const refused = allowPrivate ? undefined : addresses.find((address) => !isPublicAddress(address.address));
        if (refused !== undefined) return callback(addressNotAllowed(refused.address), '');
        const usable = options.family === 4 || options.family === 6 ? addresses.filter((address) => address.family === options.family) : addresses;
        const first = usable[0];
        if (first === undefined) return callback(Object.assign(new Error(`host not found: ${hostname}`), { code: 'ENOTFOUND' }), '');
        if (options.all) return callback(null, usable);
        return callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

function addressNotAllowed(address: string): Error {
  return Object.assign(new Error(`address not allowed: ${address}`), { code: ADDRESS_NOT_ALLOWED });
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** A short, stable sentence for the delivery log. */
function describeFailure(error: unknown): string {
  // Connecting to several addresses (happy eyeballs) fails with every attempt's error.
  const cause = error instanceof AggregateError && error.errors.length > 0 ? error.errors[0] : error;
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as NodeJS.ErrnoException).code ?? '';
  if (code === ADDRESS_NOT_ALLOWED) return cause.message;
  if (TIMEOUT_CODES.has(code) || cause.name === 'TimeoutError') return 'timeout';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'connection closed by the receiver';
  if (code === 'ENOTFOUND') return cause.message.startsWith('host not found') ? cause.message : `host not found: ${(cause as { hostname?: string }).hostname ?? ''}`.trimEnd();
  if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') return 'the webhook transport is closed';
  if (code === 'EAI_AGAIN') return 'DNS lookup failed, try again later';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (/SSL|TLS|CERT/.test(code) || /certificate|ssl|tls/i.test(cause.message)) {
    // OpenSSL's own messages carry addresses and source paths around the reason.
    const reason = /:SSL routines:[^:]*:([^:]+):/.exec(cause.message)?.[1] ?? cause.message;
    return `TLS: ${reason}`;
  }
  return cause.message || code || 'request failed';
}
