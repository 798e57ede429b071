import type { FastifyInstance } from 'fastify';
import type { SessionRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { NotFoundError } from '../../errors.js';
import { howToJoin } from '../../services/how-to-join.js';
import type { Services } from '../../services/index.js';
import { joinWindowPhase, personalPaths } from '../../services/links.js';
import type { SessionChange } from '../../services/session-changes.js';
import { effectiveStatus, type EffectiveStatus } from '../../services/sessions.service.js';
import { calendarLinks } from '../../web/calendar-links.js';
import { howToJoinView, type ChangeNoticeView } from '../../web/join-views.js';
import { renderPage } from '../../web/render.js';
import { instantView, whenView } from '../../web/times.js';
import type { ManageData } from '../../web/views.js';
import type { SendPage } from './reply.js';
import { followUpView, pageAvailability, sessionView } from './view.js';

const TOKEN = /^[A-Za-z0-9_-]{1,100}$/;
const hidden = { hide: true } as const;

export interface ManagePagesOptions {
  services: Pick<Services, 'registrations' | 'feeds' | 'links' | 'settings' | 'sessionChanges'>;
  clock: Clock;
  send: SendPage;
  /** For the add-to-calendar links (the event's details link to the session page). */
  publicBaseUrl: string;
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

/** The notice of what changed: the old and new time when the session moved, the old title when it was renamed. */
function changeNotice(change: SessionChange, row: SessionRow): ChangeNoticeView {
  const { previous } = change;
  const moved = previous !== null && (previous.startsAt.getTime() !== row.startsAt.getTime() || previous.endsAt.getTime() !== row.endsAt.getTime());
  return {
    changedAt: instantView(change.changedAt, row.timezone),
    previousWhen: moved ? whenView(previous) : null,
    currentWhen: whenView(row),
    previousTitle: previous !== null && previous.title !== row.title ? previous.title : null,
  };
}

/** The registrant's manage page and its cancel step: the token in the URL is the key. */
export async function managePages(app: FastifyInstance, { services, clock, send, publicBaseUrl }: ManagePagesOptions): Promise<void> {
  const { registrations, links, settings, sessionChanges } = services;

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

    const brand = await settings.branding();
    let calendar: ManageData['calendar'] = null;
    let joinBlock: ManageData['howToJoin'] = null;
    if (confirmedLive) {
      const feed = await services.feeds.linksForAttendee(registration.attendeeId);
      calendar = calendarLinks(row, {
        publicBaseUrl,
        organisation: brand.name,
        ics: personalPaths.invite(token),
        extraSubscriptions: [
          { href: feed.webcal, text: 'Subscribe to your own sessions in your calendar app' },
          { href: feed.google, text: 'Subscribe to your own sessions in Google Calendar' },
        ],
      });
      const window = links.joinWindow(row);
      const phase = joinWindowPhase(window, now);
      joinBlock = howToJoinView(howToJoin(row, window.minutesBefore), row.timezone, {
        joinUrl: phase === 'open' ? links.joinPath(registration) : null,
        opensLater: phase === 'before',
      });
    }
    const change = status !== 'cancelled' && live ? await sessionChanges.latestFor(registration.id) : null;
    const followUp = sessionStatus === 'finished' && status === 'confirmed' ? followUpView(row) : null;

    const availability = pageAvailability(row, now);
    const registerAgain = status === 'cancelled' && availability.canRegister ? `/s/${encodeURIComponent(row.slug)}` : null;
    const html = renderPage('@manage', {
      brand,
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
      cancelReason: sessionStatus === 'cancelled' ? row.cancelReason?.trim() || null : null,
      notice: change ? changeNotice(change, row) : null,
      followUp,
      howToJoin: joinBlock,
      calendar,
      cancel: status !== 'cancelled' && live ? { url: `${manage}/cancel`, label: status === 'confirmed' ? 'Cancel my registration' : 'Leave the waitlist' } : null,
      registerAgain,
      sessionUrl: registerAgain ? null : `/s/${encodeURIComponent(row.slug)}`,
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
      brand: await settings.branding(),
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
