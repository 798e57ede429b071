import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorPage } from '../../plugins/errors.js';
import { pageCsp } from '../../plugins/security-headers.js';
import { DEFAULT_BRANDING, type Branding } from '../../services/settings.service.js';
import { renderPage } from '../../web/render.js';

export type Mode = 'page' | 'embed';

export interface SendOptions {
  status?: number;
  mode?: Mode;
  /** A page on a secret-token URL: no Referer, never cached. */
  token?: boolean;
  /** Holds what someone typed: never cached. */
  personal?: boolean;
}

export type SendPage = (reply: FastifyReply, html: string, options?: SendOptions) => FastifyReply;

export const modeOf = (request: FastifyRequest): Mode => (request.url.startsWith('/embed/') ? 'embed' : 'page');

const isTokenPath = (request: FastifyRequest): boolean => request.url.startsWith('/m/');

/** Sends a page with the headers its kind calls for: who may frame it, what it may refer, whether it is cached. */
export function pageSender(embedOrigins: string[]): SendPage {
  const embedCsp = pageCsp(embedOrigins);
  const pageCspValue = pageCsp();
  return (reply, html, { status = 200, mode = 'page', token = false, personal = false } = {}) => {
    reply.code(status).type('text/html; charset=utf-8');
    if (mode === 'embed') {
      reply.header('content-security-policy', embedCsp);
      if (embedOrigins.length === 0) reply.header('x-frame-options', 'DENY');
    } else {
      reply.header('content-security-policy', pageCspValue).header('x-frame-options', 'DENY');
    }
    reply.header('referrer-policy', token ? 'no-referrer' : 'strict-origin-when-cross-origin');
    reply.header('cache-control', token || personal ? 'private, no-store' : 'no-cache');
    return reply.send(html);
  };
}

/** What an error page says for a status; a domain error's own words for other 4xx answers. */
function errorText(request: FastifyRequest, reply: FastifyReply, status: number, domainDetail: string | null): { title: string; message: string } {
  if (status === 404) {
    const path = request.url.split('?')[0]!;
    return {
      title: 'Page not found',
      message: isTokenPath(request)
        ? 'This link is not valid. Use the link from your most recent e-mail about this session.'
        : /^\/(?:s|embed)\/[^/]+/.test(path)
          ? 'There is no session at this address. It may have been removed, or the address may be mistyped.'
          : 'There is no page at this address. It may have moved, or the address may be mistyped.',
    };
  }
  if (status === 429) {
    const wait = String(reply.getHeader('retry-after') ?? '60');
    return {
      title: 'Too many attempts',
      message: `Too many registration attempts came from your network or for this e-mail address. Please wait ${wait} seconds and try again.`,
    };
  }
  if (status === 503) return { title: 'Temporarily unavailable', message: 'The service is busy right now. Please try again in a moment.' };
  if (status === 413) return { title: 'Too much text', message: 'The form was too large to accept. Please shorten your answers and try again.' };
  if (status === 415) return { title: 'Form not understood', message: 'Please send the registration form from the session page.' };
  if (status >= 400 && status < 500) {
    const title = status === 403 ? 'Not allowed' : status === 409 ? 'Not possible now' : 'Something is wrong with the request';
    return { title, message: domainDetail ?? 'Please go back and try again.' };
  }
  return { title: 'Something went wrong', message: 'Something went wrong on our side; the error has been logged. Please try again in a moment.' };
}

/**
 * Errors of the pages are pages too, in the same layout (src/plugins/errors.ts sorts them), with
 * the organisation's branding (`branding`: services.settings.branding; the default when it cannot be read).
 */
export function pageErrorPage(send: SendPage, branding?: () => Promise<Branding>): ErrorPage {
  return async (request, reply, failure) => {
    const brand = branding ? await branding().catch(() => DEFAULT_BRANDING) : DEFAULT_BRANDING;
    const { title, message } = errorText(request, reply, failure.status, failure.fromDomain ? failure.detail : null);
    const mode = modeOf(request);
    const token = isTokenPath(request);
    const html = renderPage('@message', {
      pageTitle: title,
      title,
      message,
      link: { href: '/', text: 'See all upcoming sessions' },
      embed: mode === 'embed',
      noReferrer: token,
      brand,
    });
    return send(reply, html, { status: failure.status, mode, token, personal: true });
  };
}
