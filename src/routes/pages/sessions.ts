import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, type FieldError } from '../../errors.js';
import type { RegistrationLimits } from '../../plugins/rate-limit.js';
import type { Services } from '../../services/index.js';
import type { Branding } from '../../services/settings.service.js';
import { howToJoin } from '../../services/how-to-join.js';
import { calendarLinks } from '../../web/calendar-links.js';
import { howToJoinView } from '../../web/join-views.js';
import { renderPage } from '../../web/render.js';
import type { AvailabilityKind, SessionPageData } from '../../web/views.js';
import { checkBody, EMPTY_FORM, formView, formWithMessage, readForm, type FormValues } from './form.js';
import type { Mode, SendPage } from './reply.js';
import { followUpView, maskedAddress, pageAvailability, sessionView } from './view.js';

const SLUG = /^[a-z0-9-]{1,80}$/;
const hidden = { hide: true } as const;

export interface SessionPagesOptions {
  services: Pick<Services, 'sessions' | 'registrations' | 'settings' | 'links'>;
  clock: Clock;
  limits: RegistrationLimits;
  send: SendPage;
  /** The site's absolute base URL: calendar links point back to the session page and the feeds. */
  publicBaseUrl: string;
}

const base = (mode: Mode, slug: string) => `${mode === 'embed' ? '/embed' : '/s'}/${encodeURIComponent(slug)}`;

/**
 * The address a form was sent with, masked, for the confirmation page only: a short-lived cookie
 * on that page's path, set on every accepted post from what was typed (never from what the post
 * did), so the answer stays the same for a new and a known address, and no address is in a URL.
 */
const SENT_TO_COOKIE = 'convene-sent-to';
const SENT_TO_MAX_AGE_SECONDS = 600;
const MASKED = /^[^\s;,]{1,4}\*\*\*@[^\s;,]{1,253}$/u;

function sentToFrom(value: string | undefined): string | null {
  return value !== undefined && MASKED.test(value) ? value : null;
}

/** Sessions whose page offers the other upcoming sessions instead of a form. */
const OFFERS_OTHERS: ReadonlySet<AvailabilityKind> = new Set(['full', 'closed', 'cancelled', 'finished']);
/** The kinds a visitor can still get into (now, or once registration opens). */
const OTHERS_OFFERED: ReadonlySet<AvailabilityKind> = new Set(['open', 'waitlist', 'not-yet']);
const OTHERS_SHOWN = 5;
const OTHERS_CONSIDERED = 30;

/**
 * The list of sessions, each session's page with its registration form (also as an embed),
 * and the page after a post. Registration goes through the same service and the same schema
 * as the JSON API; nothing here decides who may register.
 */
export async function sessionPages(app: FastifyInstance, { services, clock, limits, send, publicBaseUrl }: SessionPagesOptions): Promise<void> {
  const { sessions, registrations, settings, links } = services;
  const secureCookie = new URL(publicBaseUrl).protocol === 'https:';

  /** What a session page shows beyond the session itself: what a closed one says, and where to go next. */
  async function sessionExtras(row: SessionRow, kind: AvailabilityKind, now: Date, brand: Branding): Promise<Partial<SessionPageData>> {
    // How to join and add-to-calendar only where the visitor can still get in: a full or closed
    // session offers other sessions instead (registered people have both on their manage page).
    const ahead = OTHERS_OFFERED.has(kind);
    const extras: Partial<SessionPageData> = {
      cancelReason: kind === 'cancelled' ? row.cancelReason?.trim() || null : null,
      followUp: kind === 'finished' ? followUpView(row) : null,
      calendar: ahead ? calendarLinks(row, { publicBaseUrl, organisation: brand.name }) : null,
      // The public variant: the platform and when the personal link opens, never a passcode or the link.
      howToJoin: ahead ? howToJoinView(howToJoin(row, links.joinWindow(row).minutesBefore), row.timezone, null) : null,
    };
    if (OFFERS_OTHERS.has(kind)) {
      // The soonest sessions a visitor can still get into (now, or once registration opens).
      const upcoming = await sessions.listPublic(OTHERS_CONSIDERED);
      extras.others = upcoming
        .filter((other) => other.id !== row.id)
        .map((other) => sessionView(other, now))
        .filter((other) => OTHERS_OFFERED.has(other.availability.kind))
        .slice(0, OTHERS_SHOWN);
    }
    return extras;
  }

  async function publishedSession(slug: string): Promise<SessionRow> {
    const row = SLUG.test(slug) ? await sessions.getBySlug(slug) : null;
    if (!row || row.status === 'draft') throw new NotFoundError('No published session with this address');
    return row;
  }

  async function sessionPage(
    reply: FastifyReply,
    row: SessionRow,
    mode: Mode,
    form: { values: FormValues; errors: FieldError[]; message?: string } | null,
    status = 200,
  ): Promise<FastifyReply> {
    const now = clock.now();
    const availability = pageAvailability(row, now);
    const session = sessionView(row, now, availability);
    let view = availability.canRegister
      ? formView(row, {
          action: `${base(mode, row.slug)}/register`,
          // With approval every post is a request, whatever it turns out to be (and for a known address too).
          submitLabel: row.approval ? 'Request a place' : availability.kind === 'waitlist' ? 'Join the waitlist' : 'Register',
          values: form?.values ?? EMPTY_FORM,
          errors: form?.errors ?? [],
        })
      : null;
    if (view && form?.message) view = formWithMessage(view, form.message);
    const hasErrors = (view?.errors.length ?? 0) > 0;
    const pageTitle = `${hasErrors ? 'Error: ' : ''}${row.title}`;
    const brand = await settings.branding();
    const extras = await sessionExtras(row, availability.kind, now, brand);
    const html = renderPage(mode === 'embed' ? '@embed' : '@session', {
      pageTitle,
      session,
      form: view,
      embed: mode === 'embed',
      approval: row.approval,
      ...extras,
      brand,
    });
    return send(reply, html, { status, mode, personal: form !== null });
  }

  /** The same redirect for every accepted post, so the URL cannot tell who was registered before. */
  function received(reply: FastifyReply, mode: Mode, slug: string, typedEmail: string) {
    const page = `${base(mode, slug)}/registered`;
    const masked = maskedAddress(typedEmail);
    if (masked) reply.setCookie(SENT_TO_COOKIE, masked, { path: page, maxAge: SENT_TO_MAX_AGE_SECONDS, httpOnly: true, sameSite: 'lax', secure: secureCookie });
    return reply.code(303).header('cache-control', 'no-store').header('location', page).send();
  }

  async function register(request: FastifyRequest<{ Params: { slug: string } }>, reply: FastifyReply, mode: Mode) {
    const row = await publishedSession(request.params.slug);
    const { values, body, honeypotFilled } = readForm(request.body);
    // A bot: answer as a registration would, store and send nothing.
    if (honeypotFilled) return received(reply, mode, row.slug, values.email);

    const checked = checkBody(row, body, values);
    if (checked.errors) return sessionPage(reply, row, mode, { values, errors: checked.errors }, 400);
    try {
      await registrations.register(row.slug, checked.input, { admitRecipient: (email) => limits.checkRecipient(request, email) });
      return received(reply, mode, row.slug, values.email);
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

  app.get('/', { schema: hidden }, async (_request, reply) => {
    const now = clock.now();
    const rows = await sessions.listPublic(100);
    const html = renderPage('@index', { pageTitle: 'Upcoming sessions', sessions: rows.map((row) => sessionView(row, now)), brand: await settings.branding() });
    return send(reply, html);
  });

  for (const mode of ['page', 'embed'] as const) {
    const prefix = mode === 'embed' ? '/embed' : '/s';

    app.get<{ Params: { slug: string } }>(`${prefix}/:slug`, { schema: hidden }, async (request, reply) =>
      sessionPage(reply, await publishedSession(request.params.slug), mode, null),
    );

    // Reloading the address of a post (after a validation error) leads back to the form.
    app.get<{ Params: { slug: string } }>(`${prefix}/:slug/register`, { schema: hidden }, async (request, reply) => {
      if (!SLUG.test(request.params.slug)) throw new NotFoundError('No published session with this address');
      return reply.code(303).header('location', base(mode, request.params.slug)).send();
    });

    app.post<{ Params: { slug: string } }>(
      `${prefix}/:slug/register`,
      { schema: hidden, onRequest: limits.perIp },
      async (request, reply) => register(request, reply, mode),
    );

    // One page for everyone (old links with ?status= land here too): what the post did goes by e-mail.
    app.get<{ Params: { slug: string } }>(`${prefix}/:slug/registered`, { schema: hidden }, async (request, reply) => {
      const row = await publishedSession(request.params.slug);
      const brand = await settings.branding();
      const html = renderPage('@registered', {
        brand,
        pageTitle: row.approval ? 'Your request is sent: check your inbox' : 'Check your inbox',
        approval: row.approval,
        session: sessionView(row, clock.now()),
        backUrl: mode === 'embed' ? null : base(mode, row.slug),
        formUrl: `${base(mode, row.slug)}${mode === 'embed' ? '' : '#register'}`,
        sentTo: sentToFrom(request.cookies[SENT_TO_COOKIE]),
        sender: brand.mailFromName,
        calendar: calendarLinks(row, { publicBaseUrl, organisation: brand.name }),
        embed: mode === 'embed',
      });
      return send(reply, html, { mode, personal: true });
    });
  }
}
