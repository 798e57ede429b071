import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, ForbiddenError, type FieldError } from '../../errors.js';
import type { RegistrationLimits } from '../../plugins/rate-limit.js';
import type { Services } from '../../services/index.js';
import { joinsThroughSeries, type PublicSeries } from '../../services/series.service.js';
import { renderPage } from '../../web/render.js';
import type { SeriesCalendarView, SeriesSessionView } from '../../web/series-views.js';
import { richText } from '../../web/text.js';
import { checkBody, EMPTY_FORM, formView, formWithMessage, readForm, type FormValues } from './form.js';
import { pageErrorPage, pageSender } from './reply.js';
import { pageAvailability, sessionView } from './view.js';

const hidden = { hide: true } as const;
const base = (slug: string) => `/series/${encodeURIComponent(slug)}`;

export interface SeriesPagesOptions {
  services: Pick<Services, 'series' | 'settings'>;
  clock: Clock;
  limits: RegistrationLimits;
  /** The site's absolute base URL: the feed's subscription links. */
  publicBaseUrl: string;
}

/** What the page says of a session beside its time: who it is open to, or why the series form leaves it out. */
function sessionNote(session: SessionRow): string | null {
  if (session.audience.kind === 'code') return 'This session needs an access code, so the series form leaves it out.';
  if (!joinsThroughSeries(session)) return 'This session asks questions of its own, so the series form leaves it out.';
  if (session.audience.kind === 'members') return 'Open to people of member organisations.';
  if (session.audience.kind === 'domains') return `Open to addresses at ${session.audience.domains.join(', ')}.`;
  return null;
}

/**
 * The series' form has the fixed fields of a session's form and none of a session's own (see
 * services/series.service.ts): the session form's view of a public session without questions.
 */
function seriesFormSubject(first: SessionRow): SessionRow {
  return { ...first, questions: [], audience: { kind: 'public' } };
}

/**
 * The public series page `/series/{slug}` with its one registration form, and the page after a
 * post: plain forms that work without JavaScript, with the session form's fields, honeypot and
 * rate limits, through the same service as `POST /api/v1/public/series/{slug}/registrations`.
 * Errors are the public pages' error pages.
 */
export async function seriesPages(app: FastifyInstance, { services, clock, limits, publicBaseUrl }: SeriesPagesOptions): Promise<void> {
  const { series, settings } = services;
  // No embed of a series page: no origin may frame them.
  const send = pageSender([]);
  const errorPage = pageErrorPage(send, settings.branding);
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, errorPage };
  });

  function calendarOf(slug: string): SeriesCalendarView {
    const ics = `/feeds/series/${encodeURIComponent(slug)}.ics`;
    const webcal = `${publicBaseUrl}${ics}`.replace(/^https?:\/\//, 'webcal://');
    return { webcal, google: `https://calendar.google.com/calendar/render?cid=${encodeURIComponent(webcal)}`, ics };
  }

  async function seriesPage(
    reply: FastifyReply,
    { series: row, sessions }: PublicSeries,
    form: { values: FormValues; errors: FieldError[]; message?: string } | null,
    status = 200,
  ): Promise<FastifyReply> {
    const now = clock.now();
    const entries: SeriesSessionView[] = sessions.map((session) => ({
      session: sessionView(session, now),
      seriesForm: joinsThroughSeries(session),
      note: sessionNote(session),
    }));
    const takesRegistrations = sessions.some((session) => joinsThroughSeries(session) && pageAvailability(session, now).canRegister);
    // After a post the form stays, with what was typed, also when the sessions closed meanwhile.
    let view =
      sessions[0] && (takesRegistrations || form)
        ? formView(seriesFormSubject(sessions[0]), {
            action: `${base(row.slug)}/register`,
            submitLabel: 'Register for the series',
            values: form?.values ?? EMPTY_FORM,
            errors: form?.errors ?? [],
          })
        : null;
    if (view) {
      view = { ...view, fields: view.fields.map((field) => (field.id === 'f-email' ? { ...field, hint: 'We send each session’s invite and your personal links here.' } : field)) };
      if (form?.message) view = formWithMessage(view, form.message);
    }
    const hasErrors = (view?.errors.length ?? 0) > 0;
    const html = renderPage('@series', {
      pageTitle: `${hasErrors ? 'Error: ' : ''}${row.title}`,
      series: { slug: row.slug, title: row.title, descriptionHtml: richText(row.description) },
      sessions: entries,
      form: view,
      closedText: view ? null : sessions.length === 0 ? null : 'No session of this series takes registrations through this form now; each session’s page says why.',
      calendar: calendarOf(row.slug),
      contact: sessions[0] ? { name: sessions[0].contactName, email: sessions[0].contactEmail } : null,
      brand: await settings.branding(),
    });
    return send(reply, html, { status, personal: form !== null });
  }

  /** The same redirect for every accepted post, so the URL cannot tell who was registered before. */
  function received(reply: FastifyReply, slug: string) {
    return reply.code(303).header('cache-control', 'no-store').header('location', `${base(slug)}/registered`).send();
  }

  async function register(request: FastifyRequest<{ Params: { slug: string } }>, reply: FastifyReply) {
    const current = await series.publicBySlug(request.params.slug);
    const { values, body, honeypotFilled } = readForm(request.body);
    // A bot: answer as a registration would, store and send nothing.
    if (honeypotFilled) return received(reply, current.series.slug);
    const first = current.sessions[0];
    if (!first) throw new ConflictError('No session of this series is coming up');
    // The API's schema check of the body, and the form's wording of its errors (as a session's form).
    const checked = checkBody(seriesFormSubject(first), body, values);
    if (checked.errors) return seriesPage(reply, current, { values, errors: checked.errors }, 400);
    try {
      await series.register(current.series.slug, checked.input, { admitRecipient: (email) => limits.checkRecipient(request, email) });
      return received(reply, current.series.slug);
    } catch (error) {
      if (error instanceof BadRequestError) {
        return seriesPage(reply, current, { values, errors: error.errors ?? [{ path: '/', message: error.detail }] }, 400);
      }
      if (error instanceof ForbiddenError) return seriesPage(reply, current, { values, errors: [{ path: '/email', message: error.detail }] }, 403);
      if (error instanceof ConflictError) {
        // The sessions changed under the visitor (full, closed): show the series as it is now.
        return seriesPage(reply, await series.publicBySlug(current.series.slug), { values, errors: [], message: error.detail }, 409);
      }
      throw error;
    }
  }

  app.get<{ Params: { slug: string } }>('/series/:slug', { schema: hidden }, async (request, reply) =>
    seriesPage(reply, await series.publicBySlug(request.params.slug), null),
  );

  // Reloading the address of a post (after a validation error) leads back to the form.
  app.get<{ Params: { slug: string } }>('/series/:slug/register', { schema: hidden }, async (request, reply) => {
    const { series: row } = await series.publicBySlug(request.params.slug);
    return reply.code(303).header('location', base(row.slug)).send();
  });

  app.post<{ Params: { slug: string } }>('/series/:slug/register', { schema: hidden, onRequest: limits.perIp }, async (request, reply) => register(request, reply));

  // One page for everyone: what the post did goes by e-mail.
  app.get<{ Params: { slug: string } }>('/series/:slug/registered', { schema: hidden }, async (request, reply) => {
    const { series: row } = await series.publicBySlug(request.params.slug);
    const brand = await settings.branding();
    const html = renderPage('@series-registered', {
      pageTitle: 'Check your inbox',
      series: { slug: row.slug, title: row.title },
      backUrl: base(row.slug),
      sender: brand.mailFromName,
      calendar: calendarOf(row.slug),
      brand,
    });
    return send(reply, html, { personal: true });
  });
}
