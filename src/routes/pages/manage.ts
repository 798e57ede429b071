import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RegistrationRow, SessionRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { howToJoin } from '../../services/how-to-join.js';
import type { Services } from '../../services/index.js';
import { joinWindowPhase, personalPaths } from '../../services/links.js';
import type { SessionChange } from '../../services/session-changes.js';
import { effectiveStatus, type EffectiveStatus } from '../../services/sessions.service.js';
import { calendarLinks } from '../../web/calendar-links.js';
import { howToJoinView, type ChangeNoticeView } from '../../web/join-views.js';
import { renderPage } from '../../web/render.js';
import { durationText } from '../../text.js';
import { instantView, whenView } from '../../web/times.js';
import type { CancellableStatus, ManageData } from '../../web/views.js';
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

type RegistrationStatus = ManageData['registration']['status'];

/**
 * The status the page goes by: an offer past its deadline is over for the person even before
 * the expiry job or the sweep marks it `expired` (accepting it would be refused).
 */
function shownStatus(registration: Pick<RegistrationRow, 'status' | 'offerExpiresAt'>, now: Date): RegistrationStatus {
  const { status, offerExpiresAt } = registration;
  if (status === 'offered' && offerExpiresAt !== null && offerExpiresAt.getTime() <= now.getTime()) return 'expired';
  return status;
}

const isCancellable = (status: RegistrationStatus): status is CancellableStatus =>
  status === 'confirmed' || status === 'waitlisted' || status === 'pending' || status === 'offered';

/** How each way out reads: on the manage page, on the cancel step, and in the link warning. */
const WAYS_OUT: Record<CancellableStatus, {
  label: string;
  heading: string;
  explanation: string;
  confirmHeading: string;
  confirmExplanation: string;
  confirmLabel: string;
  warning: string;
}> = {
  confirmed: {
    label: 'Cancel my registration',
    heading: 'Cannot make it?',
    explanation: 'If you cancel, your seat goes to the next person on the waitlist.',
    confirmHeading: 'Cancel your registration?',
    confirmExplanation: 'Your seat will go to the next person on the waitlist. You can register again later if seats are left.',
    confirmLabel: 'Yes, cancel my registration',
    warning: 'cancel your registration',
  },
  waitlisted: {
    label: 'Leave the waitlist',
    heading: 'Cannot make it?',
    explanation: 'You can leave the waitlist at any time.',
    confirmHeading: 'Leave the waitlist?',
    confirmExplanation: 'You will lose your place on the waitlist.',
    confirmLabel: 'Yes, leave the waitlist',
    warning: 'cancel your registration',
  },
  pending: {
    label: 'Withdraw my request',
    heading: 'Changed your mind?',
    explanation: 'You can withdraw your request at any time, before or after the organizers decide.',
    confirmHeading: 'Withdraw your request?',
    confirmExplanation: 'The organizers will no longer consider it. You can send a new request later while the session takes them.',
    confirmLabel: 'Yes, withdraw my request',
    warning: 'withdraw your request',
  },
  offered: {
    label: 'Decline the seat',
    heading: 'Cannot make it?',
    explanation: 'Decline the seat and it goes to the next person on the waitlist.',
    confirmHeading: 'Decline the seat?',
    confirmExplanation: 'The seat held for you will go to the next person on the waitlist, and you will no longer be on the waitlist.',
    confirmLabel: 'Yes, decline the seat',
    warning: 'accept or decline the seat held for you',
  },
};

/** The first thing the manage page says: where the person stands. */
function standing(
  sessionStatus: EffectiveStatus,
  status: RegistrationStatus,
  registration: Pick<RegistrationRow, 'offerExpiresAt'> & { waitlistPosition: number | null },
  row: SessionRow,
): Pick<ManageData, 'headline' | 'headlineUntil' | 'detail' | 'tone'> {
  const say = (headline: string, detail: string | null, tone: ManageData['tone']) => ({ headline, headlineUntil: null, detail, tone });
  if (sessionStatus === 'cancelled') return say('This session has been cancelled', 'The organisers cancelled it; there is nothing more for you to do.', 'stop');
  if (status === 'cancelled') return say('Your registration is cancelled', 'You will get no more e-mails about this session.', 'stop');
  // The organizers' decision and a lapsed offer are final whatever became of the session.
  if (status === 'declined') return say('The organizers could not approve your request', 'We sent you an e-mail about it. There is nothing more for you to do.', 'stop');
  if (status === 'expired') return say('The seat held for you was not accepted in time', 'The seat goes to the next person waiting, and you are no longer on the waitlist.', 'stop');
  if (sessionStatus === 'finished') {
    const detail =
      status === 'confirmed' ? 'Thank you for taking part.' : status === 'pending' ? 'Your request was not decided before it ended.' : 'No seat opened up before it ended.';
    return say('This session has ended', detail, 'info');
  }
  switch (status) {
    case 'confirmed':
      return say('You are registered', 'Your seat is confirmed.', 'good');
    case 'pending':
      return say("Your request is waiting for the organizers' approval", 'We e-mail you when they decide, with the calendar invite if you get a seat.', 'wait');
    case 'offered':
      return {
        headline: 'A seat is held for you until',
        // The deadline in the session's zone, named; our script adds the reader's own time, as for every instant.
        headlineUntil: instantView(registration.offerExpiresAt!, row.timezone),
        detail: 'Accept it to be registered and get the calendar invite. If you do not accept it in time, it goes to the next person on the waitlist.',
        tone: 'good',
      };
    case 'waitlisted': {
      const place = registration.waitlistPosition ? `You are number ${registration.waitlistPosition}. ` : '';
      const then =
        row.waitlistMode === 'offer'
          ? `If a seat opens up, we hold it for you for ${durationText(row.offerMinutes * 60_000)} and e-mail you: accept it on this page to take it.`
          : 'If a seat opens up, it is yours automatically and we e-mail you the invite.';
      return say('You are on the waitlist', `${place}${then}`, 'wait');
    }
  }
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

/** The registrant's manage page, its cancel step and the accept of a held seat: the token in the URL is the key. */
export async function managePages(app: FastifyInstance, { services, clock, send, publicBaseUrl }: ManagePagesOptions): Promise<void> {
  const { registrations, links, settings, sessionChanges } = services;

  function checkToken(token: string): string {
    if (!TOKEN.test(token)) throw new NotFoundError('This link is not valid');
    return token;
  }

  /** Back to the manage page after a post, or from the address of a post reloaded (a GET never acts). */
  const toManagePage = (reply: FastifyReply, token: string) =>
    reply.code(303).header('location', personalPaths.manage(token)).header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').send();

  /** The manage page as it is now; `message` says why the last post did not do what it asked. */
  async function managePage(reply: FastifyReply, token: string, { status: httpStatus = 200, message = null }: { status?: number; message?: string | null } = {}) {
    const { registration, session: row } = await registrations.viewByManageToken(token);
    const now = clock.now();
    const sessionStatus = effectiveStatus(row, now);
    const status = shownStatus(registration, now);
    const live = sessionStatus === 'published';
    const manage = personalPaths.manage(token);
    const confirmedLive = status === 'confirmed' && live;
    const wayOut = live && isCancellable(status) ? WAYS_OUT[status] : null;

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
    // The update notice matters to people still taking part (or hoping to), not to those out of it.
    const change = live && isCancellable(status) ? await sessionChanges.latestFor(registration.id) : null;
    const followUp = sessionStatus === 'finished' && status === 'confirmed' ? followUpView(row) : null;

    const availability = pageAvailability(row, now);
    const registerAgain = status === 'cancelled' && availability.canRegister ? `/s/${encodeURIComponent(row.slug)}` : null;
    const offered = status === 'offered' && live;
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
      ...standing(sessionStatus, status, registration, row),
      message,
      cancelReason: sessionStatus === 'cancelled' ? row.cancelReason?.trim() || null : null,
      notice: change ? changeNotice(change, row) : null,
      followUp,
      howToJoin: joinBlock,
      calendar,
      offer: offered ? { acceptUrl: `${manage}/accept`, declineUrl: `${manage}/cancel` } : null,
      // A held seat's way out is its Decline button, beside Accept.
      cancel: wayOut && !offered ? { url: `${manage}/cancel`, label: wayOut.label, heading: wayOut.heading, explanation: wayOut.explanation } : null,
      linkWarning: wayOut?.warning ?? null,
      registerAgain,
      sessionUrl: registerAgain ? null : `/s/${encodeURIComponent(row.slug)}`,
    });
    return send(reply, html, { status: httpStatus, token: true });
  }

  app.get<{ Params: { manageToken: string } }>('/m/:manageToken', { schema: hidden }, async (request, reply) =>
    managePage(reply, checkToken(request.params.manageToken)),
  );

  app.get<{ Params: { manageToken: string } }>('/m/:manageToken/cancel', { schema: hidden }, async (request, reply) => {
    const token = checkToken(request.params.manageToken);
    const { registration, session: row } = await registrations.viewByManageToken(token);
    const now = clock.now();
    const status = shownStatus(registration, now);
    if (!isCancellable(status) || effectiveStatus(row, now) !== 'published') return toManagePage(reply, token);
    const words = WAYS_OUT[status];
    const html = renderPage('@cancel', {
      brand: await settings.branding(),
      pageTitle: words.confirmHeading.replace(/\?$/, ''),
      noReferrer: true,
      session: sessionView(row, now),
      heading: words.confirmHeading,
      explanation: words.confirmExplanation,
      confirmLabel: words.confirmLabel,
      backLabel: status === 'offered' ? 'No, go back' : 'No, keep it',
      action: `${personalPaths.manage(token)}/cancel`,
      backUrl: personalPaths.manage(token),
    });
    return send(reply, html, { token: true });
  });

  app.post<{ Params: { manageToken: string } }>('/m/:manageToken/cancel', { schema: hidden }, async (request, reply) => {
    const token = checkToken(request.params.manageToken);
    await registrations.cancelByManageToken(token);
    return toManagePage(reply, token);
  });

  // Reloading the address of the accept post (or a scanner guessing it) shows the page; only the post accepts.
  app.get<{ Params: { manageToken: string } }>('/m/:manageToken/accept', { schema: hidden }, async (request, reply) =>
    toManagePage(reply, checkToken(request.params.manageToken)),
  );

  app.post<{ Params: { manageToken: string } }>('/m/:manageToken/accept', { schema: hidden }, async (request, reply) => {
    const token = checkToken(request.params.manageToken);
    try {
      await registrations.acceptByManageToken(token);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const { registration } = await registrations.viewByManageToken(token);
      // A second click of Accept finds the seat already taken by the first.
      if (registration.status === 'confirmed') return toManagePage(reply, token);
      const lapsed = shownStatus(registration, clock.now()) === 'expired';
      const message = lapsed
        ? 'The time to accept the seat had already passed, so we could not give it to you.'
        : 'There is no seat on offer for you at the moment, so nothing has changed.';
      return managePage(reply, token, { status: 409, message });
    }
    return toManagePage(reply, token);
  });
}
