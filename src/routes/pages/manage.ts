import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock.js';
import { NotFoundError } from '../../errors.js';
import type { Services } from '../../services/index.js';
import { joinWindowPhase, personalPaths } from '../../services/links.js';
import { effectiveStatus, type EffectiveStatus } from '../../services/sessions.service.js';
import { instantText } from '../../text.js';
import { renderPage } from '../../web/render.js';
import type { ManageData } from '../../web/views.js';
import type { SendPage } from './reply.js';
import { pageAvailability, sessionView } from './view.js';

const TOKEN = /^[A-Za-z0-9_-]{1,100}$/;
const hidden = { hide: true } as const;

export interface ManagePagesOptions {
  services: Pick<Services, 'registrations' | 'feeds' | 'links'>;
  clock: Clock;
  send: SendPage;
}

type RegistrationStatus = 'confirmed' | 'waitlisted' | 'cancelled';

/** The first thing the manage page says: where the person stands. */
function standing(
  sessionStatus: EffectiveStatus,
  status: RegistrationStatus,
  waitlistPosition: number | null,
): Pick<ManageData, 'headline' | 'detail' | 'tone'> {
  if (sessionStatus === 'cancelled') {
    return { headline: 'This session has been cancelled', detail: 'The organisers cancelled it; there is nothing more for you to do.', tone: 'stop' };
  }
  if (status === 'cancelled') {
    return { headline: 'Your registration is cancelled', detail: 'You will get no more e-mails about this session.', tone: 'stop' };
  }
  if (sessionStatus === 'finished') {
    const detail = status === 'confirmed' ? 'Thank you for taking part.' : 'No seat opened up before it ended.';
    return { headline: 'This session has ended', detail, tone: 'info' };
  }
  if (status === 'confirmed') return { headline: 'You are registered', detail: 'Your seat is confirmed.', tone: 'good' };
  return {
    headline: 'You are on the waitlist',
    detail: `${waitlistPosition ? `You are number ${waitlistPosition}. ` : ''}If a seat opens up, it is yours automatically and we e-mail you the invite.`,
    tone: 'wait',
  };
}

/** The registrant's manage page and its cancel step: the token in the URL is the key. */
export async function managePages(app: FastifyInstance, { services, clock, send }: ManagePagesOptions): Promise<void> {
  const { registrations, links } = services;

  function checkToken(token: string): string {
    if (!TOKEN.test(token)) throw new NotFoundError('This link is not valid');
    return token;
  }

  app.get<{ Params: { manageToken: string } }>('/m/:manageToken', { schema: hidden }, async (request, reply) => {
    const token = checkToken(request.params.manageToken);
    const { registration, session: row } = await registrations.viewByManageToken(token);
    const now = clock.now();
    const sessionStatus = effectiveStatus(row, now);
    const status = registration.status as RegistrationStatus;
    const live = sessionStatus === 'published';
    const manage = personalPaths.manage(token);

    const confirmedLive = status === 'confirmed' && live;
    let calendar: ManageData['calendar'] = null;
    if (confirmedLive) {
      const feed = await services.feeds.linksForAttendee(registration.attendeeId);
      calendar = { ics: personalPaths.invite(token), webcal: feed.webcal, google: feed.google, feed: feed.url };
    }
    const window = links.joinWindow(row);
    const phase = joinWindowPhase(window, now);
    const join = confirmedLive && phase === 'open' ? { url: links.joinPath(registration) } : null;
    const joinLater =
      confirmedLive && phase === 'before'
        ? `The button to join appears here from ${instantText(window.opensAt, row.timezone)}, ${window.minutesBefore} minutes before the start. The link in your invite works too.`
        : null;

    const availability = pageAvailability(row, now);
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
      ...standing(sessionStatus, status, registration.waitlistPosition),
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
    const manage = personalPaths.manage(token);
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
      .header('location', personalPaths.manage(token))
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send();
  });
}
