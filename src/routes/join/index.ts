import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { JoinOutcome, JoinService } from '../../services/join.service.js';
import { instantText } from '../../text.js';
import { messagePage } from '../../web/message-page.js';

type Refusal = Exclude<JoinOutcome, { kind: 'redirect' }>;

/** How each refusal of a join link is answered: the status and the page's words. */
function refusalPage(outcome: Refusal): { status: number; title: string; message: string } {
  switch (outcome.kind) {
    case 'unknown-link':
      return { status: 404, title: 'Link not found', message: 'This join link is not valid. Use the link from your latest e-mail, or the manage page.' };
    case 'session-cancelled':
      return { status: 410, title: 'Session cancelled', message: `"${outcome.session.title}" has been cancelled.` };
    case 'registration-cancelled':
      return { status: 403, title: 'Registration cancelled', message: `Your registration for "${outcome.session.title}" is cancelled.` };
    case 'waitlisted':
      return {
        status: 403,
        title: 'On the waitlist',
        message: `You are on the waitlist for "${outcome.session.title}". If a seat opens up you will get an e-mail.`,
      };
    case 'session-ended':
      return { status: 410, title: 'Session ended', message: `"${outcome.session.title}" has ended.` };
    case 'not-open-yet': {
      const { session, window } = outcome;
      return {
        status: 403,
        title: 'Not open yet',
        message: `The link to "${session.title}" opens at ${instantText(window.opensAt, session.timezone)}, ${window.minutesBefore} minutes before the start. Come back then.`,
      };
    }
    case 'no-meeting-link':
      return {
        status: 409,
        title: 'No meeting link yet',
        message: `The organisers have not set the meeting link of "${outcome.session.title}" yet. Please try again in a moment.`,
      };
  }
}

export const joinRoutes: FastifyPluginAsyncTypebox<{ join: JoinService }> = async (app, { join }) => {
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
      const page = refusalPage(outcome);
      return reply
        .code(page.status)
        .type('text/html; charset=utf-8')
        .serializer((html: unknown) => String(html))
        .send(messagePage(page.title, page.message) as never);
    },
  );
};
