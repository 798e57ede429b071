import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, type FieldError } from '../../errors.js';
import type { RegistrationLimits } from '../../plugins/rate-limit.js';
import type { Services } from '../../services/index.js';
import { renderPage } from '../../web/render.js';
import { checkBody, EMPTY_FORM, formView, formWithMessage, readForm, type FormValues } from './form.js';
import type { Mode, SendPage } from './reply.js';
import { pageAvailability, sessionView } from './view.js';

const SLUG = /^[a-z0-9-]{1,80}$/;
const hidden = { hide: true } as const;

export interface SessionPagesOptions {
  services: Pick<Services, 'sessions' | 'registrations'>;
  clock: Clock;
  limits: RegistrationLimits;
  send: SendPage;
}

const base = (mode: Mode, slug: string) => `${mode === 'embed' ? '/embed' : '/s'}/${encodeURIComponent(slug)}`;

/**
 * The list of sessions, each session's page with its registration form (also as an embed),
 * and the page after a post. Registration goes through the same service and the same schema
 * as the JSON API; nothing here decides who may register.
 */
export async function sessionPages(app: FastifyInstance, { services, clock, limits, send }: SessionPagesOptions): Promise<void> {
  const { sessions, registrations } = services;

  async function publishedSession(slug: string): Promise<SessionRow> {
    const row = SLUG.test(slug) ? await sessions.getBySlug(slug) : null;
    if (!row || row.status === 'draft') throw new NotFoundError('No published session with this address');
    return row;
  }

  function sessionPage(
    reply: FastifyReply,
    row: SessionRow,
    mode: Mode,
    form: { values: FormValues; errors: FieldError[]; message?: string } | null,
    status = 200,
  ): FastifyReply {
    const now = clock.now();
    const availability = pageAvailability(row, now);
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
}
