import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, type FieldError } from '../../errors.js';
import { effectiveStatus, type SessionsService } from '../../services/sessions.service.js';
import { instantText, sessionTimeText } from '../../text.js';
import { FOLLOW_UP_TEMPLATES } from '../../web/console/follow-up-templates.js';
import type { FollowUpPageData } from '../../web/console/follow-up-views.js';
import { IdParams } from '../schemas.js';
import { FOLLOW_UP_MESSAGE_MAX_LENGTH, FOLLOW_UP_URL_MAX_LENGTH } from '../sessions/schemas.js';
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

addConsoleTemplates(FOLLOW_UP_TEMPLATES);

export interface ConsoleFollowUpPagesOptions {
  sessions: SessionsService;
  clock: Clock;
}


/** Where the service's field errors go on the form. */
const FIELD_OF_PATH = { '/followUp/message': 'message', '/followUp/recordingUrl': 'recordingUrl' };

const DONE: Record<string, ConsoleFlash> = {
  saved: { tone: 'good', text: 'The follow-up message is saved.' },
  sent: { tone: 'good', text: 'The follow-up is on its way; its delivery shows in E-mails.' },
};

const people = (n: number) => (n === 1 ? '1 person' : `${n} people`);

/** What the form holds: as saved, or as typed when it comes back with errors. */
interface ComposeValues {
  message: string;
  recordingUrl: string;
}

interface PageOptions {
  values?: ComposeValues;
  errors?: FieldError[];
  formErrors?: string[];
  status?: number;
  flash?: ConsoleFlash | null;
  /** Show the confirmation step (`?confirm=1`) when sending is possible. */
  confirm?: boolean;
}

/**
 * The follow-up of a session (console.md, `/console/sessions/{id}/follow-up`): the message and
 * recording link saved with the same `update` (and audit entry) as `PATCH /api/v1/sessions/{id}`
 * with `followUp`, and sent once with the same `sendFollowUp` as `POST /api/v1/sessions/{id}/follow-up`,
 * after a confirmation step that says how many people get it. The service decides whether it
 * may be sent (the session has ended, a message is saved, not sent before); the page only words
 * its state. The hosts rule guards the subtree (index.ts).
 */
export async function consoleFollowUpPages(app: FastifyInstance, { sessions, clock }: ConsoleFollowUpPagesOptions): Promise<void> {
  const byId = { schema: { hide: true, params: IdParams } };
  type ById = FastifyRequest<{ Params: { id: string } }>;
  const base = (id: string) => `/console/sessions/${id}`;

  async function followUpPage(request: FastifyRequest, reply: FastifyReply, sessionId: string, options: PageOptions = {}): Promise<FastifyReply> {
    const { csrf } = consoleContext(request);
    const row = await sessions.get(sessionId);
    const zone = row.timezone;
    const sessionBase = base(row.id);
    const now = clock.now();
    const state = effectiveStatus(row, now);
    const sentAt = row.followUpSentAt;
    const recipients = sentAt || state === 'finished' ? await sessions.followUpRecipients(row.id) : null;
    const total = recipients ? recipients.attended + recipients.noShows : 0;
    const endText = instantText(row.endsAt, zone);

    const split = recipients
      ? `${recipients.attended} who attended (checked in or joined) and ${recipients.noShows} confirmed ${recipients.noShows === 1 ? 'person' : 'people'} who did not come`
      : '';
    let send: FollowUpPageData['send'];
    if (state === 'cancelled') send = { offered: false, text: 'The session was cancelled, so no follow-up is sent.' };
    else if (state === 'draft') {
      send = {
        offered: false,
        text:
          row.endsAt.getTime() <= now.getTime()
            ? 'The session was never published, so nobody is there to receive a follow-up.'
            : `You can send it once the session is published and has ended at ${endText}.`,
      };
    } else if (state === 'published') send = { offered: false, text: `You can send it once the session has ended at ${endText}.` };
    else if (!row.followUp) send = { offered: false, text: 'Save a message first; then you can send it.' };
    else if (total === 0) send = { offered: true, text: 'Nobody had a confirmed seat, so nobody would receive it; sending only records it as sent.' };
    else send = { offered: true, text: `It goes to ${people(total)}: ${split}. Waitlisted and cancelled registrations get nothing.` };

    const confirm: FollowUpPageData['confirm'] =
      options.confirm && send.offered && !sentAt
        ? {
            question: `Send to ${people(total)}?`,
            details: [
              total === 0 ? 'Nobody had a confirmed seat: no e-mail is written.' : `${split[0]!.toUpperCase()}${split.slice(1)}.`,
              'The follow-up can be sent only once: after this, the message can no longer be changed here.',
            ],
          }
        : null;

    // The fields are built (and the errors placed) even where the form is not shown, so a refused
    // save still says why; the confirmation step shows the message as it will go, not a form.
    const values = options.values ?? { message: row.followUp?.message ?? '', recordingUrl: row.followUp?.recordingUrl ?? '' };
    const fields = [
      field({
        name: 'message',
        label: 'Message',
        kind: 'textarea',
        value: values.message,
        required: true,
        rows: 8,
        // No maxlength: a pasted message would be cut silently; the error says how long it is.
        hint: `Plain text, up to ${FOLLOW_UP_MESSAGE_MAX_LENGTH.toLocaleString('en-US')} characters.`,
      }),
      field({
        name: 'recordingUrl',
        label: 'Recording link',
        kind: 'url',
        value: values.recordingUrl,
        maxlength: FOLLOW_UP_URL_MAX_LENGTH,
        autocomplete: 'off',
        hint: 'Optional: an https link to the recording or the slides, shown in the e-mail as “Watch the recording”.',
      }),
    ];
    const unplaced = withFieldErrors(fields, options.errors, FIELD_OF_PATH);
    focusFirstError(fields);
    const compose: FollowUpPageData['compose'] = !sentAt && state !== 'cancelled' && !confirm ? { fields } : null;
    const summary = errorSummary(fields, [...unplaced, ...(options.formErrors ?? [])]);
    const errors = compose ? summary : summary.map((item) => ({ href: null, text: item.text }));

    const data: FollowUpPageData = {
      csrf,
      base: sessionBase,
      title: row.title,
      whenText: sessionTimeText(row.startsAt, row.endsAt, zone),
      errors,
      compose,
      composeNote: state === 'cancelled' && !sentAt ? 'The session was cancelled.' : null,
      saved: row.followUp ? { message: row.followUp.message, recordingUrl: row.followUp.recordingUrl } : null,
      send,
      sent: sentAt
        ? {
            atText: instantText(sentAt, zone),
            sentIso: sentAt.toISOString(),
            recipientsText: `To ${people(total)}: ${split}.`,
            emailsHref: `${sessionBase}/emails`,
          }
        : null,
      confirm,
    };
    return sendConsolePage(request, reply, {
      title: `${errors.length > 0 ? 'Error: ' : ''}Follow-up · ${row.title}`,
      bodyHtml: renderConsoleTemplate('@console-follow-up', data),
      status: options.status ?? 200,
      flash: options.flash ?? null,
      section: 'sessions',
    });
  }

  app.get('/sessions/:id/follow-up', byId, async (request: ById, reply) => {
    const done = formText(request.query, 'done');
    return followUpPage(request, reply, request.params.id, {
      flash: Object.hasOwn(DONE, done) ? DONE[done]! : null,
      confirm: formText(request.query, 'confirm') === '1',
    });
  });

  // Save: the same update (and audit entry) as PATCH /api/v1/sessions/{id} with `followUp`.
  app.post('/sessions/:id/follow-up', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    const id = request.params.id;
    const values: ComposeValues = { message: formText(request.body, 'message'), recordingUrl: formText(request.body, 'recordingUrl').trim() };
    const patch = { followUp: { message: values.message, recordingUrl: values.recordingUrl || null } };
    const errors: FieldError[] = [];
    if (values.message.trim() === '') errors.push({ path: '/followUp/message', message: 'must not be empty' });
    else if (values.message.length > FOLLOW_UP_MESSAGE_MAX_LENGTH) {
      errors.push({ path: '/followUp/message', message: `must be at most ${FOLLOW_UP_MESSAGE_MAX_LENGTH.toLocaleString('en-US')} characters (it has ${values.message.length.toLocaleString('en-US')})` });
    }
    if (values.recordingUrl.length > FOLLOW_UP_URL_MAX_LENGTH) {
      errors.push({ path: '/followUp/recordingUrl', message: `must be at most ${FOLLOW_UP_URL_MAX_LENGTH.toLocaleString('en-US')} characters` });
    }
    try {
      // With errors of the form already, the service's own checks still run (without saving), so
      // every problem is reported in one round.
      if (errors.length > 0) await sessions.previewChange(id, patch);
      else await sessions.update(id, patch, organizer);
    } catch (error) {
      if (error instanceof BadRequestError) {
        if (error.errors?.length) errors.push(...error.errors);
        else return followUpPage(request, reply, id, { values, errors, formErrors: [error.detail], status: 400 });
      } else if (error instanceof ConflictError) {
        return followUpPage(request, reply, id, { values, errors, formErrors: [error.detail], status: 409 });
      } else throw error;
    }
    if (errors.length > 0) return followUpPage(request, reply, id, { values, errors, status: 400 });
    return redirect303(reply, `${base(id)}/follow-up?done=saved`);
  });

  // Send: first the confirmation step, then the same sendFollowUp (and audit entry) as POST /api/v1/sessions/{id}/follow-up.
  app.post('/sessions/:id/follow-up/send', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    const id = request.params.id;
    if (formText(request.body, 'confirm') !== '1') return redirect303(reply, `${base(id)}/follow-up?confirm=1`);
    try {
      await sessions.sendFollowUp(id, organizer);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const row = await sessions.get(id);
      // The service words this one for API clients ("Set followUp ..."); the page's words are the form's.
      const text = row.followUp || row.followUpSentAt ? error.detail : 'Save a message first: there is nothing to send yet.';
      return followUpPage(request, reply, id, { formErrors: [text], status: 409 });
    }
    return redirect303(reply, `${base(id)}/follow-up?done=sent`);
  });
}
