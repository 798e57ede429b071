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

/** Swagger UI ships its own page (with inline bootstrapping): left as it is. */
const OWN_POLICY_PREFIXES = ['/docs'];

/**
 * Security headers on every answer: `X-Content-Type-Options: nosniff` everywhere, and for HTML
 * pages a strict CSP (frame-ancestors 'none' unless the route set its own policy, as the embed
 * pages do), `X-Frame-Options: DENY` for the pages that may not be framed, and a Referrer-Policy
 * (routes with secret tokens in the path set no-referrer themselves; this only fills a gap).
 */
async function securityHeaders(app: FastifyInstance): Promise<void> {
  const defaultCsp = pageCsp();
  app.addHook('onSend', async (request, reply, payload) => {
    if (!reply.hasHeader('x-content-type-options')) reply.header('x-content-type-options', 'nosniff');
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('text/html')) return payload;
    const path = request.url.split('?')[0] ?? '';
    if (OWN_POLICY_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) return payload;
    if (!reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', defaultCsp);
      reply.header('x-frame-options', 'DENY');
    }
    if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'strict-origin-when-cross-origin');
    return payload;
  });
}

export default fp(securityHeaders, { name: 'convene-security-headers' });
