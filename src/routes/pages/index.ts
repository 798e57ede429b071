import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionRow } from '../../../db/schema/index.js';
import { isConnectionError } from '../../../db/errors.js';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, DomainError, ForbiddenError, NotFoundError, type FieldError } from '../../errors.js';
import { pageCsp } from '../../plugins/security-headers.js';
import type { RegistrationLimits } from '../../plugins/rate-limit.js';
import type { Services } from '../../services/index.js';
import { effectiveStatus } from '../../services/sessions.service.js';
import { SCRIPT, SCRIPT_ETAG, SCRIPT_PATH, STYLESHEET, STYLESHEET_ETAG, STYLESHEET_PATH } from '../../web/assets.js';
import { renderPage } from '../../web/render.js';
import type { ManageData } from '../../web/views.js';
import { checkBody, EMPTY_FORM, formView, formWithMessage, readForm, type FormValues } from './form.js';
import { availabilityOf, sessionView, zonedTime } from './view.js';

export interface PageRoutesOptions {
  services: Services;
  clock: Clock;
  /** Origins allowed to frame /embed pages (EMBED_ORIGINS). */
  embedOrigins: string[];
  /** The join button shows from this many minutes before the start (JOIN_WINDOW_MINUTES). */
  joinWindowMinutes: number;
  limits: RegistrationLimits;
}

type Mode = 'page' | 'embed';

interface SendOptions {
  status?: number;
  mode?: Mode;
  /** A page on a secret-token URL: no Referer, never cached. */
  token?: boolean;
  /** Holds what someone typed: never cached. */
  personal?: boolean;
}

const SLUG = /^[a-z0-9-]{1,80}$/;
const TOKEN = /^[A-Za-z0-9_-]{1,100}$/;
const hidden = { hide: true } as const;

/**
 * The public web pages: server-rendered HTML (src/web), plain forms that work without
 * JavaScript, and a strict CSP. Registration goes through the same service and the same schema
 * as the JSON API; nothing here decides who may register.
 */
export async function pageRoutes(app: FastifyInstance, options: PageRoutesOptions): Promise<void> {
  const { services, clock, embedOrigins, joinWindowMinutes, limits } = options;
  const { sessions, registrations } = services;
  const embedCsp = pageCsp(embedOrigins);
  const pageCspValue = pageCsp();

  function send(reply: FastifyReply, html: string, { status = 200, mode = 'page', token = false, personal = false }: SendOptions = {}): FastifyReply {
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
  }

  function modeOf(request: FastifyRequest): Mode {
    return request.url.startsWith('/embed/') ? 'embed' : 'page';
  }

  function isTokenPath(request: FastifyRequest): boolean {
    return request.url.startsWith('/m/');
  }

  // Errors of these routes are pages too, in the same layout (the API keeps problem+json).
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let status = 500;
    let title = 'Something went wrong';
    let message = 'Something went wrong on our side; the error has been logged. Please try again in a moment.';
    if (error instanceof DomainError) {
      status = error.status;
      if (error.headers) reply.headers(error.headers);
    } else if (error.validation) {
      status = 404;
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
    } else if (isConnectionError(error)) {
      status = 503;
      reply.header('retry-after', '5');
    }
    if (status >= 500 && status !== 503) request.log.error({ err: error }, 'page failed');
    if (status === 404) {
      title = 'Page not found';
      message = isTokenPath(request)
        ? 'This link is not valid. Use the link from your most recent e-mail about this session.'
        : 'There is no session at this address. It may have been removed, or the address may be mistyped.';
    } else if (status === 429) {
      title = 'Too many attempts';
      const wait = String(reply.getHeader('retry-after') ?? '60');
      message = `Too many registration attempts came from your network or for this e-mail address. Please wait ${wait} seconds and try again.`;
    } else if (status === 503) {
      title = 'Temporarily unavailable';
      message = 'The service is busy right now. Please try again in a moment.';
    } else if (status === 413) {
      title = 'Too much text';
      message = 'The form was too large to accept. Please shorten your answers and try again.';
    } else if (status === 415) {
      title = 'Form not understood';
      message = 'Please send the registration form from the session page.';
    } else if (status >= 400 && status < 500) {
      title = status === 403 ? 'Not allowed' : status === 409 ? 'Not possible now' : 'Something is wrong with the request';
      message = error instanceof DomainError ? error.detail : 'Please go back and try again.';
    }
    const html = renderPage('@message', {
      pageTitle: title,
      title,
      message,
      link: { href: '/', text: 'See all upcoming sessions' },
      embed: modeOf(request) === 'embed',
      noReferrer: isTokenPath(request),
    });
    return send(reply, html, { status, mode: modeOf(request), token: isTokenPath(request), personal: true });
  });

  // ------------------------------------------------------------------------------------------
  // The stylesheet and the script, at fixed paths.

  const asset = (path: string, body: string, type: string, etag: string) =>
    app.get(path, { schema: hidden }, async (request, reply) => {
      reply.header('cache-control', 'public, max-age=3600').header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(type).send(body);
    });
  asset(STYLESHEET_PATH, STYLESHEET, 'text/css; charset=utf-8', STYLESHEET_ETAG);
  asset(SCRIPT_PATH, SCRIPT, 'text/javascript; charset=utf-8', SCRIPT_ETAG);

  // ------------------------------------------------------------------------------------------
  // Sessions

  async function publishedSession(slug: string): Promise<SessionRow> {
    const row = SLUG.test(slug) ? await sessions.getBySlug(slug) : null;
    if (!row || row.status === 'draft') throw new NotFoundError('No published session with this address');
    return row;
  }

  const base = (mode: Mode, slug: string) => `${mode === 'embed' ? '/embed' : '/s'}/${encodeURIComponent(slug)}`;

  function sessionPage(
    reply: FastifyReply,
    row: SessionRow,
    mode: Mode,
    form: { values: FormValues; errors: FieldError[]; message?: string } | null,
    status = 200,
  ): FastifyReply {
    const now = clock.now();
    const availability = availabilityOf(row, now);
    const session = sessionView(row, now, availability);
    let view = availability.canRegister
      ? formView(row, {
          action: `${base(mode, row.slug)}/register`,
          submitLabel: availability.kind === 'waitlist' ? 'Join the waitlist' : 'Register',
          values: form?.values ?? EMPTY_FORM,
          errors: form?.errors ?? [],
        })
      : null;
    if (view && form?.message) view = formWithMessage(view, form.message);
    const hasErrors = (view?.errors.length ?? 0) > 0;
    const pageTitle = `${hasErrors ? 'Error: ' : ''}${row.title}`;
    const html = renderPage(mode === 'embed' ? '@embed' : '@session', { pageTitle, session, form: view, embed: mode === 'embed' });
    return send(reply, html, { status, mode, personal: form !== null });
  }

  app.get('/', { schema: hidden }, async (_request, reply) => {
    const now = clock.now();
    const rows = await sessions.listPublic(100);
    const html = renderPage('@index', { pageTitle: 'Upcoming sessions', sessions: rows.map((row) => sessionView(row, now)) });
    return send(reply, html);
  });

  for (const mode of ['page', 'embed'] as const) {
    const prefix = mode === 'embed' ? '/embed' : '/s';

    app.get<{ Params: { slug: string } }>(`${prefix}/:slug`, { schema: hidden }, async (request, reply) =>
      sessionPage(reply, await publishedSession(request.params.slug), mode, null),
    );

    app.post<{ Params: { slug: string } }>(
      `${prefix}/:slug/register`,
      { schema: hidden, onRequest: limits.perIp },
      async (request, reply) => register(request, reply, mode),
    );

    // One page for everyone (old links with ?status= land here too): what the post did goes by e-mail.
    app.get<{ Params: { slug: string } }>(`${prefix}/:slug/registered`, { schema: hidden }, async (request, reply) => {
      const row = await publishedSession(request.params.slug);
      const html = renderPage('@registered', {
        pageTitle: 'Check your inbox',
        session: sessionView(row, clock.now()),
        backUrl: mode === 'embed' ? null : base(mode, row.slug),
        embed: mode === 'embed',
      });
      return send(reply, html, { mode, personal: true });
    });
  }

  /** The same redirect for every accepted post, so the URL cannot tell who was registered before. */
  function received(reply: FastifyReply, mode: Mode, slug: string) {
    return reply.code(303).header('cache-control', 'no-store').header('location', `${base(mode, slug)}/registered`).send();
  }

  async function register(request: FastifyRequest<{ Params: { slug: string } }>, reply: FastifyReply, mode: Mode) {
    const row = await publishedSession(request.params.slug);
    const { values, body, honeypotFilled } = readForm(request.body);
    // A bot: answer as a registration would, store and send nothing.
    if (honeypotFilled) return received(reply, mode, row.slug);

    const checked = checkBody(row, body, values);
    if (checked.errors) return sessionPage(reply, row, mode, { values, errors: checked.errors }, 400);
    try {
      await registrations.register(row.slug, checked.input, { admitRecipient: (email) => limits.checkRecipient(request, email) });
      return received(reply, mode, row.slug);
    } catch (error) {
      if (error instanceof BadRequestError) {
        return sessionPage(reply, row, mode, { values, errors: error.errors ?? [{ path: '/', message: error.detail }] }, 400);
      }
      if (error instanceof ForbiddenError) {
        const path = row.audience.kind === 'code' ? '/accessCode' : '/email';
        return sessionPage(reply, row, mode, { values, errors: [{ path, message: error.detail }] }, 403);
      }
      if (error instanceof ConflictError) {
        // The session changed under the visitor (full, closed, cancelled): show it as it is now.
        const fresh = await publishedSession(row.slug);
        return sessionPage(reply, fresh, mode, { values, errors: [], message: error.detail }, 409);
      }
      throw error;
    }
  }

  // ------------------------------------------------------------------------------------------
  // The registrant's manage page (the token is the key)

  function checkToken(token: string): string {
    if (!TOKEN.test(token)) throw new NotFoundError('This link is not valid');
    return token;
  }

  app.get<{ Params: { manageToken: string } }>('/m/:manageToken', { schema: hidden }, async (request, reply) => {
    const token = checkToken(request.params.manageToken);
    const { registration, session: row } = await registrations.viewByManageToken(token);
    const now = clock.now();
    const sessionStatus = effectiveStatus(row, now);
    const status = registration.status as 'confirmed' | 'waitlisted' | 'cancelled';
    const live = sessionStatus === 'published';
    const manage = `/m/${encodeURIComponent(token)}`;

    let headline: string;
    let detail: string | null = null;
    let tone: ManageData['tone'];
    if (sessionStatus === 'cancelled') {
      headline = 'This session has been cancelled';
      detail = 'The organisers cancelled it; there is nothing more for you to do.';
      tone = 'stop';
    } else if (status === 'cancelled') {
      headline = 'Your registration is cancelled';
      detail = 'You will get no more e-mails about this session.';
      tone = 'stop';
    } else if (sessionStatus === 'finished') {
      headline = 'This session has ended';
      detail = status === 'confirmed' ? 'Thank you for taking part.' : 'No seat opened up before it ended.';
      tone = 'info';
    } else if (status === 'confirmed') {
      headline = 'You are registered';
      detail = 'Your seat is confirmed.';
      tone = 'good';
    } else {
      headline = 'You are on the waitlist';
      detail = `${registration.waitlistPosition ? `You are number ${registration.waitlistPosition}. ` : ''}If a seat opens up, it is yours automatically and we e-mail you the invite.`;
      tone = 'wait';
    }

    const confirmedLive = status === 'confirmed' && live;
    let calendar: ManageData['calendar'] = null;
    if (confirmedLive) {
      const feed = await services.feeds.linksForAttendee(registration.attendeeId);
      calendar = {
        ics: `/api/v1/registrations/${encodeURIComponent(token)}/invite.ics`,
        webcal: feed.webcal,
        google: feed.google,
        feed: feed.url,
      };
    }
    // The join window of the join service: from JOIN_WINDOW_MINUTES before the start to the end.
    const opensAt = new Date(row.startsAt.getTime() - joinWindowMinutes * 60_000);
    const windowOpen = now.getTime() >= opensAt.getTime() && now.getTime() < row.endsAt.getTime();
    const join = confirmedLive && windowOpen ? { url: `/j/${services.tokens.derive('join', registration.id, registration.tokenVersion)}` } : null;
    const joinLater =
      confirmedLive && now.getTime() < opensAt.getTime()
        ? `The button to join appears here from ${zonedTime(opensAt, row.timezone)} (${row.timezone}), ${joinWindowMinutes} minutes before the start. The link in your invite works too.`
        : null;

    const availability = availabilityOf(row, now);
    const html = renderPage('@manage', {
      pageTitle: `Your registration: ${row.title}`,
      noReferrer: true,
      session: sessionView(row, now, availability),
      registration: {
        status,
        position: registration.waitlistPosition,
        name: registration.name,
        email: registration.email,
        organization: registration.organization,
      },
      headline,
      detail,
      tone,
      notice: null,
      calendar,
      join,
      joinLater,
      cancel: status !== 'cancelled' && live ? { url: `${manage}/cancel`, label: status === 'confirmed' ? 'Cancel my registration' : 'Leave the waitlist' } : null,
      registerAgain: status === 'cancelled' && availability.canRegister ? `/s/${encodeURIComponent(row.slug)}` : null,
    });
    return send(reply, html, { token: true });
  });

  app.get<{ Params: { manageToken: string } }>('/m/:manageToken/cancel', { schema: hidden }, async (request, reply) => {
    const token = checkToken(request.params.manageToken);
    const { registration, session: row } = await registrations.viewByManageToken(token);
    const manage = `/m/${encodeURIComponent(token)}`;
    if (registration.status === 'cancelled' || effectiveStatus(row, clock.now()) !== 'published') {
      return reply.code(303).header('location', manage).header('referrer-policy', 'no-referrer').send();
    }
    const status = registration.status as 'confirmed' | 'waitlisted';
    const html = renderPage('@cancel', {
      pageTitle: status === 'confirmed' ? 'Cancel your registration' : 'Leave the waitlist',
      noReferrer: true,
      session: sessionView(row, clock.now()),
      status,
      action: `${manage}/cancel`,
      backUrl: manage,
    });
    return send(reply, html, { token: true });
  });

  app.post<{ Params: { manageToken: string } }>('/m/:manageToken/cancel', { schema: hidden }, async (request, reply) => {
    const token = checkToken(request.params.manageToken);
    await registrations.cancelByManageToken(token);
    return reply
      .code(303)
      .header('location', `/m/${encodeURIComponent(token)}`)
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send();
  });
}
