import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { JoinOutcome, JoinService } from '../../services/join.service.js';
import { personalPaths } from '../../services/links.js';
import type { SettingsService } from '../../services/settings.service.js';
import { howToJoinView, type JoinPageData } from '../../web/join-views.js';
import { renderPage } from '../../web/render.js';
import { durationText } from '../../text.js';
import { instantView, whenView } from '../../web/times.js';

type Refusal = Exclude<JoinOutcome, { kind: 'redirect' }>;
type KnownRefusal = Exclude<Refusal, { kind: 'unknown-link' }>;

type PageWords = Pick<JoinPageData, 'heading' | 'message' | 'tone'>;

/** The status and the words of each refusal. */
function wordsOf(outcome: Refusal): { status: number } & PageWords {
  switch (outcome.kind) {
    case 'unknown-link':
      return {
        status: 404,
        heading: 'Link not found',
        message: 'This join link is not valid. Use the link from your latest e-mail about the session, or the manage page it links to.',
        tone: 'stop',
      };
    case 'session-cancelled': {
      const reason = outcome.session.cancelReason?.trim();
      return {
        status: 410,
        heading: 'This session has been cancelled',
        message: `The organisers cancelled “${outcome.session.title}”.${reason ? ` Their reason: ${reason}` : ''}`,
        tone: 'stop',
      };
    }
    case 'registration-cancelled':
      return {
        status: 403,
        heading: 'Your registration is cancelled',
        message: `Your registration for “${outcome.session.title}” is cancelled, so this link no longer opens the meeting. Your manage page says whether you can register again.`,
        tone: 'stop',
      };
    case 'waitlisted':
      return {
        status: 403,
        heading: 'You are on the waitlist',
        message: `You are on the waitlist for “${outcome.session.title}”. If a seat opens up, it is yours automatically: we e-mail you, and this link then opens the meeting.`,
        tone: 'wait',
      };
    case 'session-ended':
      return { status: 410, heading: 'This session has ended', message: `“${outcome.session.title}” has ended. Thank you for your interest.`, tone: 'info' };
    case 'not-open-yet':
      return {
        status: 403,
        heading: 'The meeting is not open yet',
        message: `Your link to “${outcome.session.title}” opens the meeting ${outcome.window.minutesBefore} minutes before the start. Keep this page open: it opens the meeting then.`,
        tone: 'info',
      };
    case 'no-meeting-link':
      return {
        status: 409,
        heading: 'No meeting link yet',
        message: `The organisers have not set the meeting link of “${outcome.session.title}” yet. Please try again in a moment.`,
        tone: 'wait',
      };
  }
}

const NOTHING: Omit<JoinPageData, keyof PageWords | 'pageTitle'> = {
  session: null,
  countdown: null,
  retry: null,
  howToJoin: null,
  manageUrl: null,
  calendarUrl: null,
  contact: null,
};

/** What a known link's page shows besides the words: the session's time, how to join (confirmed only), the countdown, the links. */
function detailsOf(outcome: KnownRefusal, joinPath: string): Omit<JoinPageData, keyof PageWords | 'pageTitle'> {
  const { session, howTo, manageToken } = outcome;
  const confirmed = outcome.kind === 'not-open-yet' || outcome.kind === 'no-meeting-link';
  const seconds = outcome.kind === 'not-open-yet' ? Math.ceil(outcome.opensInMs / 1000) : 0;
  return {
    session: { title: session.title, when: whenView(session) },
    countdown:
      outcome.kind === 'not-open-yet'
        ? { opens: instantView(outcome.window.opensAt, session.timezone), seconds, text: durationText(outcome.opensInMs), href: joinPath }
        : null,
    retry: outcome.kind === 'not-open-yet' ? { href: joinPath, label: 'Join' } : outcome.kind === 'no-meeting-link' ? { href: joinPath, label: 'Try again' } : null,
    howToJoin: confirmed ? howToJoinView(howTo, session.timezone, { joinUrl: null, opensLater: false }) : null,
    manageUrl: personalPaths.manage(manageToken),
    calendarUrl: confirmed ? personalPaths.invite(manageToken) : null,
    contact: { name: session.contactName, email: session.contactEmail },
  };
}

export const joinRoutes: FastifyPluginAsyncTypebox<{ join: JoinService; settings: Pick<SettingsService, 'branding'> }> = async (app, { join, settings }) => {
  app.get(
    '/j/:joinToken',
    {
      schema: {
        tags: ['public'],
        summary: 'Personal join link: 302 to the meeting inside the join window, otherwise a page saying why',
        params: Type.Object({ joinToken: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 302: Type.Null(), '4xx': Type.String({ description: 'text/html page saying why' }) },
      },
    },
    async (request, reply) => {
      reply.header('referrer-policy', 'no-referrer').header('cache-control', 'private, no-store');
      const outcome = await join.resolve(request.params.joinToken, { record: request.method === 'GET' });
      if (outcome.kind === 'redirect') return reply.redirect(outcome.url, 302);
      const { status, ...words } = wordsOf(outcome);
      const details = outcome.kind === 'unknown-link' ? NOTHING : detailsOf(outcome, personalPaths.join(request.params.joinToken));
      const html = renderPage('@join', { pageTitle: words.heading, noReferrer: true, ...words, ...details, brand: await settings.branding() });
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .serializer((body: unknown) => String(body))
        .send(html as never);
    },
  );
};
