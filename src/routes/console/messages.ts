import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MESSAGE_AUDIENCES, type MessageAudience } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, type FieldError } from '../../errors.js';
import type { MessageSummary, MessagesService } from '../../services/messages.service.js';
import { MESSAGE_BODY_MAX_LENGTH, MESSAGE_SUBJECT_MAX_LENGTH } from '../../services/messages.service.js';
import { effectiveStatus, type SessionsService } from '../../services/sessions.service.js';
import { sessionTimeText, shortInstantText } from '../../text.js';
import { MESSAGES_TEMPLATES } from '../../web/console/messages-templates.js';
import type { MessageHistoryRow, MessagesPageData } from '../../web/console/messages-views.js';
import { IdParams } from '../schemas.js';
import {
  addConsoleTemplates,
  consoleContext,
  errorSummary,
  field,
  focusFirstError,
  formText,
  redirect303,
  renderConsoleTemplate,
  sendConsolePage,
  withFieldErrors,
  type ConsoleFlash,
} from './layout.js';
import { isUuid } from '../../ids.js';

addConsoleTemplates(MESSAGES_TEMPLATES);

export interface ConsoleMessagePagesOptions {
  sessions: SessionsService;
  messages: MessagesService;
  clock: Clock;
}

/** Each audience in words: the select's options and the history's "To" column. */
const AUDIENCE_WORDS: Record<MessageAudience, string> = {
  confirmed: 'Confirmed',
  waitlisted: 'On the waitlist',
  pending: 'Awaiting approval',
  attended: 'Attended (checked in or joined)',
  'no-show': 'Confirmed but did not come',
  all: 'Everyone registered (confirmed, waitlisted, awaiting approval, offered a seat)',
};

/** The same audiences inside a sentence ("Send to 42 confirmed people?"). */
const AUDIENCE_PHRASE: Record<MessageAudience, (people: string) => string> = {
  confirmed: (people) => `${people} with a confirmed seat`,
  waitlisted: (people) => `${people} on the waitlist`,
  pending: (people) => `${people} awaiting approval`,
  attended: (people) => `${people} who attended`,
  'no-show': (people) => `${people} who had a seat but did not come`,
  all: (people) => `${people} registered (everyone but those who cancelled)`,
};

const FIELD_OF_PATH = { '/subject': 'subject', '/body': 'body', '/audience': 'audience' };

const people = (n: number) => (n === 1 ? '1 person' : `${n.toLocaleString('en-US')} people`);

function isAudience(value: string): value is MessageAudience {
  return (MESSAGE_AUDIENCES as readonly string[]).includes(value);
}

/** What the form holds, as typed. */
interface ComposeValues {
  subject: string;
  body: string;
  audience: string;
}

interface PageOptions {
  values?: ComposeValues;
  errors?: FieldError[];
  formErrors?: string[];
  status?: number;
  flash?: ConsoleFlash | null;
  /** The confirmation step for these values and this message id. */
  confirm?: { values: ComposeValues & { audience: MessageAudience }; messageId: string; recipients: number } | null;
}

function deliveryText(message: MessageSummary): string {
  const parts = [
    message.sent > 0 ? `${message.sent} sent` : '',
    message.pending > 0 ? `${message.pending} pending` : '',
    message.skipped > 0 ? `${message.skipped} not sent (left meanwhile)` : '',
  ].filter(Boolean);
  return parts.join(', ');
}

/**
 * The messages of a session (`/console/sessions/{id}/messages`): compose a subject, a plain-text
 * body and an audience (each with how many people it reaches now), preview it as the recipients
 * will read it, send a test to oneself, send it after a confirmation step; the history with each
 * message's delivery, and its log (the E-mails page filtered to it). The same messages service as
 * `POST /api/v1/sessions/{id}/messages`: one outbox row per recipient, audited. Each form carries
 * a one-time id, so a submit the browser repeats writes nothing twice. The hosts rule guards the
 * subtree (index.ts).
 */
export async function consoleMessagePages(app: FastifyInstance, { sessions, messages, clock }: ConsoleMessagePagesOptions): Promise<void> {
  const byId = { schema: { hide: true, params: IdParams } };
  type ById = FastifyRequest<{ Params: { id: string } }>;
  const base = (id: string) => `/console/sessions/${id}`;

  async function messagesPage(request: FastifyRequest, reply: FastifyReply, sessionId: string, options: PageOptions = {}): Promise<FastifyReply> {
    const { csrf, organizer } = consoleContext(request);
    const row = await sessions.get(sessionId);
    const zone = row.timezone;
    const sessionBase = base(row.id);
    const cancelled = effectiveStatus(row, clock.now()) === 'cancelled';
    const [counts, history] = await Promise.all([messages.audienceCounts(row.id), messages.list(row.id)]);

    const values = options.values ?? { subject: '', body: '', audience: 'confirmed' };
    const fields = [
      field({ name: 'subject', label: 'Subject', kind: 'text', value: values.subject, required: true, maxlength: MESSAGE_SUBJECT_MAX_LENGTH, autocomplete: 'off' }),
      field({
        name: 'body',
        label: 'Message',
        kind: 'textarea',
        value: values.body,
        required: true,
        rows: 10,
        // No maxlength: a pasted message would be cut silently; the error says how long it is.
        hint: `Plain text, up to ${MESSAGE_BODY_MAX_LENGTH.toLocaleString('en-US')} characters.`,
      }),
      field({
        name: 'audience',
        label: 'To',
        kind: 'select',
        value: values.audience,
        options: MESSAGE_AUDIENCES.flatMap((audience) => {
          const count = counts[audience];
          return count === null ? [] : [{ value: audience, text: `${AUDIENCE_WORDS[audience]}: ${people(count)}` }];
        }),
        hint: counts.attended === null ? 'Who attended, and who did not, can be chosen once the session has started.' : null,
      }),
    ];
    const unplaced = withFieldErrors(fields, options.errors, FIELD_OF_PATH);
    focusFirstError(fields);
    const confirm = options.confirm ?? null;
    const compose: MessagesPageData['compose'] =
      !cancelled && !confirm ? { fields, messageId: randomUUID(), testId: randomUUID(), organizerEmail: organizer.email } : null;
    const summary = errorSummary(fields, [...unplaced, ...(options.formErrors ?? [])]);

    const historyRows: MessageHistoryRow[] = history.map((message) => ({
      subject: message.subject,
      audienceText: message.testTo ? `Test to ${message.testTo}` : AUDIENCE_WORDS[message.audience],
      test: message.testTo !== null,
      sentText: shortInstantText(message.createdAt, zone),
      sentIso: message.createdAt.toISOString(),
      recipientsText: people(message.recipients),
      deliveryText: message.recipients === 0 ? 'Nobody to write to' : deliveryText(message),
      failed: message.failed,
      logHref: `${sessionBase}/emails?message=${message.id}`,
    }));

    const data: MessagesPageData = {
      csrf,
      base: sessionBase,
      title: row.title,
      whenText: sessionTimeText(row.startsAt, row.endsAt, zone),
      errors: compose ? summary : summary.map((item) => ({ href: null, text: item.text })),
      compose,
      composeNote: cancelled ? 'The session was cancelled: its people were told, and no new message can be sent.' : null,
      confirm: confirm
        ? {
            question: `Send to ${AUDIENCE_PHRASE[confirm.values.audience](people(confirm.recipients))}?`,
            details: [
              'Each of them gets it by e-mail, with their own registration link. It cannot be taken back once sent.',
              'Whoever cancels before their e-mail leaves does not get it.',
            ],
            subject: confirm.values.subject,
            body: confirm.values.body,
            hidden: [
              { name: 'subject', value: confirm.values.subject },
              { name: 'body', value: confirm.values.body },
              { name: 'audience', value: confirm.values.audience },
              { name: 'messageId', value: confirm.messageId },
            ],
          }
        : null,
      history: historyRows,
      emailsHref: `${sessionBase}/emails`,
    };
    return sendConsolePage(request, reply, {
      title: `${summary.length > 0 ? 'Error: ' : ''}Messages · ${row.title}`,
      bodyHtml: renderConsoleTemplate('@console-messages', data),
      status: options.status ?? 200,
      flash: options.flash ?? null,
      section: 'sessions',
    });
  }

  app.get('/sessions/:id/messages', byId, async (request: ById, reply) => {
    const sent = formText(request.query, 'sent');
    const flash: ConsoleFlash | null = /^\d+$/.test(sent)
      ? { tone: 'good', text: `The message is on its way to ${people(Number(sent))}; its delivery shows below.` }
      : null;
    return messagesPage(request, reply, request.params.id, { flash });
  });

  /**
   * One form, four steps (`step`): `send` checks the message and asks to confirm, `confirmed`
   * sends it under the form's message id, `test` sends it to the signed-in organizer alone and
   * keeps it in the form, `edit` goes back from the confirmation to the form.
   */
  app.post('/sessions/:id/messages', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    const id = request.params.id;
    const values: ComposeValues = {
      subject: formText(request.body, 'subject'),
      body: formText(request.body, 'body'),
      audience: formText(request.body, 'audience'),
    };
    const step = formText(request.body, 'step');
    if (step === 'edit') return messagesPage(request, reply, id, { values });

    const errors: FieldError[] = [];
    if (!isAudience(values.audience)) errors.push({ path: '/audience', message: 'must be one of the choices' });
    const audience: MessageAudience = isAudience(values.audience) ? values.audience : 'confirmed';
    const oneTimeId = formText(request.body, step === 'test' ? 'testId' : 'messageId');
    const input = { subject: values.subject, body: values.body, audience };
    try {
      // The message's own checks (required, lengths) run even when the audience is refused, so
      // every problem is reported in one round.
      await messages.preview(id, input);
      if (errors.length > 0) return messagesPage(request, reply, id, { values, errors, status: 400 });
      if (step === 'test') {
        await messages.send(id, { ...input, test: true }, organizer, organizer, isUuid(oneTimeId) ? oneTimeId : undefined);
        return messagesPage(request, reply, id, { values, flash: { tone: 'good', text: `A test is on its way to ${organizer.email}, and to nobody else.` } });
      }
      const recipients = (await messages.audienceCounts(id))[audience];
      if (recipients === null) throw new ConflictError('Who attended is known only once the session has started');
      if (step === 'confirmed') {
        if (!isUuid(oneTimeId)) return messagesPage(request, reply, id, { values, formErrors: ['The form was incomplete. Please send it again.'], status: 400 });
        const sent = await messages.send(id, input, organizer, organizer, oneTimeId);
        return redirect303(reply, `${base(id)}/messages?sent=${sent.recipients}`);
      }
      if (recipients === 0) {
        return messagesPage(request, reply, id, { values, errors: [{ path: '/audience', message: 'reaches nobody now: choose another' }], status: 400 });
      }
      return messagesPage(request, reply, id, {
        values,
        confirm: { values: { ...values, audience }, messageId: isUuid(oneTimeId) ? oneTimeId : randomUUID(), recipients },
      });
    } catch (error) {
      if (error instanceof BadRequestError) {
        if (error.errors?.length) errors.push(...error.errors);
        return messagesPage(request, reply, id, { values, errors, formErrors: error.errors?.length ? [] : [error.detail], status: 400 });
      }
      if (error instanceof ConflictError) return messagesPage(request, reply, id, { values, errors, formErrors: [error.detail], status: 409 });
      throw error;
    }
  });

  /**
   * The preview, a document of its own for the page's sandboxed frame: the e-mail as rendered for
   * its recipients, which needs its inline styles, so this answer alone has a policy allowing them
   * (and no script at all), and may be framed by our own pages only.
   */
  app.post('/sessions/:id/messages/preview', byId, async (request: ById, reply) => {
    const id = request.params.id;
    const input = { subject: formText(request.body, 'subject'), body: formText(request.body, 'body') };
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox")
      .header('x-frame-options', 'SAMEORIGIN')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer');
    try {
      const rendered = await messages.preview(id, input);
      const head = renderConsoleTemplate('@console-message-preview-head', {
        from: `${rendered.from.name} <${rendered.from.address}>`,
        to: "[each recipient's name and address]",
        subject: rendered.subject,
      });
      const text = renderConsoleTemplate('@console-message-preview-text', { text: rendered.text });
      // The e-mail is a whole document: the header lines go first in its body, the text part last.
      const html = rendered.html.replace(/<body[^>]*>/i, (open) => `${open}${head}`).replace(/<\/body>/i, `${text}</body>`);
      return reply.send(html);
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
      const problems = (error.errors ?? []).map((problem) => `${problem.path === '/subject' ? 'Subject' : 'Message'} ${problem.message}.`);
      return reply.code(400).send(renderConsoleTemplate('@console-message-preview-problem', { problems: problems.length > 0 ? problems : [error.detail] }));
    }
  });
}
