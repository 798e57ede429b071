import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * The Content-Security-Policy of our HTML pages: our own scripts, styles and images only, no
 * inline script or style, forms post only to us, and framing limited to `frameAncestors`
 * (origins, or "'none'").
 */
export function pageCsp(frameAncestors: string[] = []): string {
  const ancestors = frameAncestors.length > 0 ? frameAncestors.join(' ') : "'none'";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    `frame-ancestors ${ancestors}`,
  ].join('; ');
}

/** A year, as HSTS preload lists ask; no includeSubDomains: other hosts of the domain are not ours to pin. */
export const HSTS = 'max-age=31536000';

/**
 * Security headers on every answer: `X-Content-Type-Options: nosniff` everywhere, HSTS when the
 * service is reached over https (`publicBaseUrl`), and for HTML pages (the API document at /docs
 * included: Swagger UI 5 loads only its own files, which the policy allows) a strict CSP
 * (frame-ancestors 'none' unless the route set its own policy, as the embed pages do),
 * `X-Frame-Options: DENY` for the pages that may not be framed, and a Referrer-Policy (routes
 * with secret tokens in the path set no-referrer themselves; this only fills a gap).
 */
async function securityHeaders(app: FastifyInstance, { publicBaseUrl }: { publicBaseUrl: string }): Promise<void> {
  const defaultCsp = pageCsp();
  const https = new URL(publicBaseUrl).protocol === 'https:';
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('x-content-type-options')) reply.header('x-content-type-options', 'nosniff');
    if (https) reply.header('strict-transport-security', HSTS);
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('text/html')) return payload;
    if (!reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', defaultCsp);
      reply.header('x-frame-options', 'DENY');
    }
    if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'strict-origin-when-cross-origin');
    return payload;
  });
}

export default fp(securityHeaders, { name: 'convene-security-headers' });
