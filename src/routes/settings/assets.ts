import { Type } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../../errors.js';
import { BRANDING_LIMITS, contrastWithWhite, LOGO_PATH, type SettingsService } from '../../services/settings.service.js';
import { BRAND_STYLESHEET_PATH, brandStylesheet, brandStylesheetVersion } from '../../web/brand-css.js';
import { pageErrorPage, pageSender } from '../pages/reply.js';

/** A versioned address never changes its answer: a year, and the browser need not ask again. */
const FOREVER = 'public, max-age=31536000, immutable';
/** The unversioned address may change at any save: kept, but asked about again each time. */
const REVALIDATE = 'public, no-cache';

const VersionQuery = Type.Object({ v: Type.Optional(Type.String({ maxLength: 40 })) });
type Versioned = FastifyRequest<{ Querystring: { v?: string } }>;

function notModified(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('etag', etag);
  return request.headers['if-none-match'] === etag;
}

/**
 * The organisation's logo (GET /assets/logo) and accent stylesheet (GET /assets/brand.css), for
 * every page and e-mail: no authentication, our own origin (the pages' CSP allows only self).
 * Their errors are HTML pages, like every path outside /api/.
 */
export async function brandAssetRoutes(app: FastifyInstance, { settings }: { settings: SettingsService }): Promise<void> {
  const errorPage = pageErrorPage(pageSender([]), settings.branding);
  const options = { schema: { hide: true, querystring: VersionQuery }, config: { errorPage } };

  app.get(LOGO_PATH, options, async (request: Versioned, reply) => {
    const logo = await settings.logo();
    if (!logo) throw new NotFoundError('There is no logo');
    // The stored type, never a guess from the bytes (nosniff is also set for every answer).
    reply.header('x-content-type-options', 'nosniff').header('cache-control', request.query.v === logo.version ? FOREVER : REVALIDATE);
    if (notModified(request, reply, logo.etag)) return reply.code(304).send();
    return reply.type(logo.contentType).send(logo.bytes);
  });

  app.get(BRAND_STYLESHEET_PATH, options, async (request: Versioned, reply) => {
    // `?v=rrggbb` names the colour itself, so its answer never changes (the console's preview
    // links a colour not yet saved); without it, or with a colour refused by the contrast rule,
    // the colour in force.
    const named = request.query.v?.toLowerCase();
    const usable = named !== undefined && /^[0-9a-f]{6}$/.test(named) && contrastWithWhite(`#${named}`) >= BRANDING_LIMITS.minContrast;
    const accent = usable ? `#${named}` : (await settings.branding()).accentColor;
    reply.header('cache-control', usable ? FOREVER : REVALIDATE);
    if (notModified(request, reply, `"${brandStylesheetVersion(accent)}"`)) return reply.code(304).send();
    return reply.type('text/css; charset=utf-8').send(brandStylesheet(accent));
  });
}
