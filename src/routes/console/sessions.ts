import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, type FieldError } from '../../errors.js';
import type { Organizer } from '../../services/organizers.service.js';
import type { SessionInput } from '../../services/session-values.js';
import { effectiveStatus, type ChangePreview, type HostedSession, type SessionsService } from '../../services/sessions.service.js';
import { escapeHtml, instantText, sessionTimeText } from '../../text.js';
import { SESSION_TEMPLATES } from '../../web/console/session-templates.js';
import type { SessionOverviewData } from '../../web/console/session-views.js';
import { IdParams } from '../schemas.js';
import { sessionUrls } from '../sessions/presenter.js';
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
  type ConsoleFlash,
} from './layout.js';
import {
  hiddenFields,
  newSessionValues,
  readSessionForm,
  sessionFormValues,
  sessionFormView,
  sessionInputOfForm,
  type SessionFormValues,
} from './session-form.js';

addConsoleTemplates(SESSION_TEMPLATES);

export interface ConsoleSessionPagesOptions {
  sessions: SessionsService;
  organizers: { findById(id: string): Promise<Organizer | null>; findByEmail(email: string): Promise<Organizer | null> };
  clock: Clock;
  publicBaseUrl: string;
  /** The zone a new session's form starts with when the organizer has no session yet. */
  defaultTimezone: string;
}

const AUDIENCE_CHOICES = [
  { value: 'public', text: 'Anyone' },
  { value: 'domains', text: 'People with an e-mail address at these domains' },
  { value: 'code', text: 'People with an access code' },
  { value: 'members', text: 'Members of the network (active member organisations)' },
];

/** Who may register, in a few words: the overview's Audience and the lines of a change. */
function audienceText(values: Pick<SessionFormValues, 'audience' | 'audienceDomains' | 'perOrganisationLimit'>): string {
  switch (values.audience) {
    case 'domains':
      return `People with an e-mail address at ${values.audienceDomains}`;
    case 'code':
      return 'People with the access code';
    case 'members': {
      const limit = values.perOrganisationLimit.trim();
      return limit ? `Members only, at most ${limit} per organisation` : 'Members only';
    }
    default:
      return 'Anyone';
  }
}

/** The form's words for the input fields a change touches. */
const FIELD_WORDS: Record<keyof SessionInput, string> = {
  title: 'Title',
  slug: 'Public address',
  summary: 'Summary',
  description: 'Description',
  startsAt: 'Starts',
  endsAt: 'Ends',
  timezone: 'Time zone',
  capacity: 'Capacity',
  waitlist: 'Waitlist',
  approval: 'Approval',
  registrationOpensAt: 'Registration opens',
  registrationClosesAt: 'Registration closes',
  audience: 'Audience',
  questions: 'Questions',
  reminders: 'Reminders',
  joinUrl: 'Join URL',
  joinInstructions: 'Join instructions',
  contact: 'Contact',
  followUp: 'Follow-up',
  emailTexts: 'E-mail texts',
};

const STATUS: Record<ReturnType<typeof effectiveStatus>, { text: string; tone: SessionOverviewData['session']['statusTone'] }> = {
  draft: { text: 'Draft', tone: 'muted' },
  published: { text: 'Published', tone: 'good' },
  cancelled: { text: 'Cancelled', tone: 'stop' },
  finished: { text: 'Finished', tone: 'info' },
};

/** Messages after a redirect, by a fixed word in the query (never text from the query itself). */
const DONE: Record<string, ConsoleFlash> = {
  created: { tone: 'good', text: 'The session is saved as a draft. Publish it when it is ready.' },
  published: { tone: 'good', text: 'The session is published: its page is open for registration.' },
  updated: { tone: 'good', text: 'The change is saved.' },
  unchanged: { tone: 'info', text: 'Nothing was changed: the form was the same as the session.' },
  cancelled: { tone: 'info', text: 'The session is cancelled; everyone registered is being e-mailed.' },
  hosts: { tone: 'good', text: 'The hosts are saved.' },
};

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "1 day", "2 hours 30 minutes": a reminder offset as people say it. */
export function minutesText(minutes: number): string {
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const parts = [days ? plural(days, 'day') : '', hours ? plural(hours, 'hour') : '', rest ? plural(rest, 'minute') : ''];
  return parts.filter(Boolean).join(' ');
}

/**
 * What applying a change sends and moves, in sentences; empty when nothing is sent. `offers`: the
 * session (as changed) offers freed seats rather than giving them (close to the start it gives them).
 */
export function effectsText(preview: ChangePreview, offers = false): string[] {
  const effects: string[] = [];
  if (preview.promotions > 0) {
    effects.push(
      offers
        ? `${plural(preview.promotions, 'person', 'people')} from the waitlist offered a seat (or given one, close to the start), each told by e-mail.`
        : `${plural(preview.promotions, 'person', 'people')} promoted from the waitlist to a seat, each told by e-mail.`,
    );
  }
  if (preview.inviteUpdates > 0) effects.push(`Invite updates to ${plural(preview.inviteUpdates, 'person', 'people')}: their calendars change.`);
  else if (preview.sequenceRaised) effects.push('The calendar invite changes; nobody is confirmed yet, so no e-mail goes out now.');
  if (preview.remindersMove) effects.push('The reminders move to the new times.');
  return effects;
}

/** Short values are shown before and after ("Starts: 2026-12-04 14:00 → 15:00"); long ones only named. */
const SHOWN: Partial<Record<keyof SessionInput, (v: SessionFormValues) => string>> = {
  title: (v) => v.title,
  startsAt: (v) => v.startsAt.replace('T', ' '),
  endsAt: (v) => v.endsAt.replace('T', ' '),
  timezone: (v) => v.timezone,
  capacity: (v) => v.capacity || 'unlimited',
  waitlist: (v) => (v.waitlist ? `on${v.waitlistLimit ? `, at most ${v.waitlistLimit}` : ''}` : 'off'),
  approval: (v) => (v.approval ? 'required' : 'not required'),
  registrationOpensAt: (v) => v.registrationOpensAt.replace('T', ' ') || 'when published',
  registrationClosesAt: (v) => v.registrationClosesAt.replace('T', ' ') || 'when the session ends',
  audience: audienceText,
  reminders: (v) => v.reminders || 'none',
  joinUrl: (v) => v.joinUrl || 'none',
  contact: (v) => `${v.contactName} <${v.contactEmail}>`,
};

/** What happens to a freed seat, as the form says it; an empty offer time keeps the session's. */
function freedSeatText(values: SessionFormValues): string {
  if (values.waitlistMode !== 'offer') return 'given to the next person';
  return values.offerFor.trim() ? `offered for ${values.offerFor.trim()} ${values.offerUnit === 'minutes' ? 'minutes' : 'hours'}` : 'offered for as long as before';
}

/** The changed fields in the form's words, with their values before and after where they are short. */
export function changeLines(changed: Array<keyof SessionInput>, before: SessionFormValues, after: SessionFormValues): string[] {
  // With the zone changed, a time is named with its zone on each side (the same wall clock is another instant).
  const zoned = before.timezone !== after.timezone;
  const isTime = (name: keyof SessionInput) => ['startsAt', 'endsAt', 'registrationOpensAt', 'registrationClosesAt'].includes(name);
  return changed.flatMap((name) => {
    const shown = SHOWN[name];
    if (!shown) return [FIELD_WORDS[name]];
    const side = (values: SessionFormValues) => `${shown(values)}${zoned && isTime(name) && /\d/.test(shown(values)) ? ` ${values.timezone}` : ''}`;
    const lines = side(before) === side(after) ? [] : [`${FIELD_WORDS[name]}: ${side(before)} → ${side(after)}`];
    // The waitlist's mode and offer time change under the same input field: each part that moved gets its line.
    if (name === 'waitlist' && freedSeatText(before) !== freedSeatText(after)) lines.push(`A freed seat: ${freedSeatText(before)} → ${freedSeatText(after)}`);
    return lines.length > 0 ? lines : [FIELD_WORDS[name]];
  });
}

/** A fingerprint of a preview, carried through the confirmation page to notice a change meanwhile. */
const previewKey = (preview: ChangePreview) =>
  [preview.changed.join(','), preview.inviteUpdates, preview.promotions, preview.remindersMove].join('|');

function pick(input: SessionInput, fields: Array<keyof SessionInput>): Partial<SessionInput> {
  const patch: Record<string, unknown> = {};
  for (const name of fields) patch[name] = input[name];
  return patch as Partial<SessionInput>;
}

/**
 * The console's session pages: the form (new and edit, with a confirmation that says what a
 * change will send), the overview, publishing, cancelling and deleting. Every page and action
 * goes through the sessions service, exactly as the API does (same checks, same audit entries
 * with the organizer as actor); the hosts rule is applied to the whole /console/sessions/:id
 * subtree by the console plugin (src/routes/console/index.ts).
 */
export async function consoleSessionPages(
  app: FastifyInstance,
  { sessions, organizers, clock, publicBaseUrl, defaultTimezone }: ConsoleSessionPagesOptions,
): Promise<void> {
  const hidden = { hide: true } as const;
  const byId = { schema: { ...hidden, params: IdParams } };
  type ById = FastifyRequest<{ Params: { id: string } }>;
  const base = (id: string) => `/console/sessions/${id}`;

  function formPage(
    request: FastifyRequest,
    reply: FastifyReply,
    page: { heading: string; action: string; backHref: string; title: string },
    values: SessionFormValues,
    errors: FieldError[] = [],
    questionRows: number[] = values.questions.map((_, index) => index),
    formErrors: string[] = [],
    status = 200,
  ): FastifyReply {
    const { csrf } = consoleContext(request);
    const form = sessionFormView(values, errors, questionRows, formErrors);
    const bodyHtml = renderConsoleTemplate('@console-session-form', {
      heading: page.heading,
      action: page.action,
      backHref: page.backHref,
      csrf,
      audienceChoices: AUDIENCE_CHOICES,
      form,
    });
    const title = `${form.errors.length > 0 ? 'Error: ' : ''}${page.title}`;
    return sendConsolePage(request, reply, { title, bodyHtml, status, section: 'sessions' });
  }

  /** A service's refusal shown on the form: field errors at their fields, a conflict at the top. */
  function refusal(error: unknown): { errors: FieldError[]; formErrors: string[]; status: number } | null {
    if (error instanceof BadRequestError) return { errors: error.errors ?? [], formErrors: error.errors?.length ? [] : [error.detail], status: 400 };
    if (error instanceof ConflictError) return { errors: [], formErrors: [error.detail], status: 409 };
    return null;
  }

  // --- New session -----------------------------------------------------------------------------

  const newPage = { heading: 'New session', title: 'New session', action: '/console/sessions/new', backHref: '/console' };

  app.get('/sessions/new', { schema: hidden }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    // The organisation's usual zone: that of the organizer's next session (else its latest).
    const [latest] = await sessions.list({ limit: 1, order: 'current-first' }, organizer);
    return formPage(request, reply, newPage, newSessionValues(latest?.timezone ?? defaultTimezone, organizer));
  });

  app.post('/sessions/new', { schema: hidden }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const values = readSessionForm(request.body);
    const read = sessionInputOfForm(values);
    if (read.errors.length > 0) return formPage(request, reply, newPage, values, read.errors, read.questionRows, [], 400);
    try {
      const created = await sessions.create(read.input, organizer);
      return redirect303(reply, `${base(created.id)}?done=created`);
    } catch (error) {
      const refused = refusal(error);
      if (!refused) throw error;
      return formPage(request, reply, newPage, values, refused.errors, read.questionRows, refused.formErrors, refused.status);
    }
  });

  // --- Overview --------------------------------------------------------------------------------

  /** The overview's data; `hostsInput` puts back what was typed into the add-a-host field, with its error. */
  async function overview(
    row: HostedSession,
    hostsInput: { email: string; error: string | null; formError: string | null } = { email: '', error: null, formError: null },
  ): Promise<Omit<SessionOverviewData, 'csrf'>> {
    const now = clock.now();
    const status = effectiveStatus(row, now);
    const urls = sessionUrls(row.slug, publicBaseUrl);
    const embedUrl = `${publicBaseUrl}/embed/${encodeURIComponent(row.slug)}`;
    const embed = `<iframe src="${escapeHtml(embedUrl)}" title="${escapeHtml(`Register: ${row.title}`)}" width="100%" height="760" loading="lazy"></iframe>`;
    const hosts = await Promise.all(row.hosts.map((id) => organizers.findById(id)));
    const zone = row.timezone;
    const audience = audienceText(sessionFormValues(row));
    const waitlistText = !row.waitlistEnabled
      ? ' (the waitlist is off)'
      : row.waitlistLimit === null
        ? ''
        : ` of at most ${row.waitlistLimit}`;
    return {
      base: base(row.id),
      session: {
        title: row.title,
        statusText: STATUS[status].text,
        statusTone: STATUS[status].tone,
        whenText: sessionTimeText(row.startsAt, row.endsAt, zone),
        startIso: row.startsAt.toISOString(),
        cancelReason: status === 'cancelled' ? (row.cancelReason ?? 'no reason given') : null,
        confirmed: row.confirmedCount,
        capacity: row.capacity,
        waitlisted: row.waitlistedCount,
        waitlistText,
        cancelled: row.cancelledCount,
        pending: row.pendingCount,
        offered: row.offeredCount,
        // A request or an offer is shown while there is one, and always where the session works that way.
        showPending: row.approval || row.pendingCount > 0,
        showOffered: row.waitlistMode === 'offer' || row.offeredCount > 0,
      },
      actions: {
        publish: status === 'draft',
        edit: status === 'draft' || status === 'published',
        cancel: status === 'draft' || status === 'published',
        remove: status === 'draft' && row.confirmedCount + row.waitlistedCount + row.pendingCount + row.offeredCount + row.cancelledCount === 0,
        note: status === 'finished' ? 'The session has ended.' : status === 'cancelled' ? 'A cancelled session cannot be changed.' : null,
      },
      share: {
        note: status === 'draft' ? 'The public page, the embed and the feed answer once the session is published.' : null,
        page: urls.page,
        embed,
        feed: urls.ics,
      },
      details: [
        { term: 'Time zone', value: zone },
        { term: 'Registration opens', value: row.registrationOpensAt ? instantText(row.registrationOpensAt, zone) : 'When the session is published' },
        { term: 'Registration closes', value: row.registrationClosesAt ? instantText(row.registrationClosesAt, zone) : 'When the session ends' },
        { term: 'Audience', value: audience },
        { term: 'Approval', value: row.approval ? 'Required: each registration waits for a host to approve it' : 'Not required' },
        {
          term: 'A freed seat',
          value: row.waitlistMode === 'offer' ? `Offered to the first person waiting, held for ${minutesText(row.offerMinutes)}` : 'Given to the first person waiting',
        },
        { term: 'Questions', value: row.questions.length ? row.questions.map((q) => `${q.label}${q.required ? ' (required)' : ''}`).join('; ') : 'None' },
        { term: 'Reminders', value: row.reminders.length ? row.reminders.map((m) => `${minutesText(m)} before`).join(', ') : 'None' },
        { term: 'Join URL', value: row.joinUrl ?? 'Not set yet' },
        { term: 'Contact', value: `${row.contactName} <${row.contactEmail}>` },
      ],
      hosts: hosts.map((host, index) => ({
        id: row.hosts[index]!,
        name: host?.name ?? 'an organizer',
        text: host ? `${host.name} (${host.email})${host.disabledAt ? ', disabled' : ''}` : `Organizer ${row.hosts[index]}`,
      })),
      hostsForm: hostsFormView(hostsInput),
    };
  }

  function hostsFormView(input: { email: string; error: string | null; formError: string | null }): SessionOverviewData['hostsForm'] {
    const email = field({
      name: 'email',
      id: 'f-host-email',
      label: 'Add a host: organizer’s e-mail',
      kind: 'email',
      value: input.email,
      autocomplete: 'off',
      maxlength: 254,
      error: input.error,
      autofocus: input.error !== null,
    });
    return { open: true, email, errors: errorSummary([email], input.formError ? [input.formError] : []) };
  }

  app.get('/sessions/:id', byId, async (request: ById, reply) => {
    const { csrf } = consoleContext(request);
    const row = await sessions.get(request.params.id);
    const data: SessionOverviewData = { csrf, ...(await overview(row)) };
    const done = (request.query as Record<string, unknown>).done;
    const flash = typeof done === 'string' && Object.hasOwn(DONE, done) ? DONE[done]! : null;
    return sendConsolePage(request, reply, {
      title: row.title,
      bodyHtml: renderConsoleTemplate('@console-session-overview', data),
      flash,
      section: 'sessions',
    });
  });

  // Hosts: add one by e-mail, or remove one; the same setHosts (and audit entry) as PUT /api/v1/sessions/{id}/hosts.
  app.post('/sessions/:id/hosts', byId, async (request: ById, reply) => {
    const { organizer, csrf } = consoleContext(request);
    const row = await sessions.get(request.params.id);
    const remove = formText(request.body, 'remove').toLowerCase();
    const email = formText(request.body, 'email');
    const again = async (input: { email: string; error: string | null; formError: string | null }) => {
      const data: SessionOverviewData = { csrf, ...(await overview(row, input)) };
      const bodyHtml = renderConsoleTemplate('@console-session-overview', data);
      return sendConsolePage(request, reply, { title: `Error: ${row.title}`, bodyHtml, status: 400, section: 'sessions' });
    };
    let hosts: string[];
    if (remove) {
      hosts = row.hosts.filter((id) => id !== remove);
    } else {
      const found = email.trim() ? await organizers.findByEmail(email) : null;
      if (!email.trim()) return again({ email, error: 'Enter the e-mail address of an organizer', formError: null });
      if (!found || found.disabledAt) return again({ email, error: `No enabled organizer has the e-mail address ${email.trim()}`, formError: null });
      if (row.hosts.includes(found.id)) return again({ email, error: `${found.name} already hosts this session`, formError: null });
      hosts = [...row.hosts, found.id];
    }
    try {
      await sessions.setHosts(row.id, hosts, organizer);
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
      return again({ email, error: null, formError: error.detail });
    }
    // Whoever removed itself (not an admin) no longer sees the session.
    if (remove === organizer.id && organizer.role !== 'admin') return redirect303(reply, '/console');
    return redirect303(reply, `${base(row.id)}?done=hosts`);
  });

  app.post('/sessions/:id/publish', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    await sessions.publish(request.params.id, organizer);
    return redirect303(reply, `${base(request.params.id)}?done=published`);
  });

  // --- Edit, with a confirmation of what the change sends --------------------------------------

  const editPage = (row: SessionRow) => ({
    heading: `Edit “${row.title}”`,
    title: `Edit ${row.title}`,
    action: `${base(row.id)}/edit`,
    backHref: base(row.id),
  });

  /** A cancelled session is not edited: the same refusal as the API's PATCH. */
  function editable(row: SessionRow): void {
    if (row.status === 'cancelled') throw new ConflictError('A cancelled session cannot be changed');
  }

  app.get('/sessions/:id/edit', byId, async (request: ById, reply) => {
    const row = await sessions.get(request.params.id);
    editable(row);
    return formPage(request, reply, editPage(row), sessionFormValues(row));
  });

  app.post('/sessions/:id/edit', byId, async (request: ById, reply) => {
    const { organizer, csrf } = consoleContext(request);
    const row = await sessions.get(request.params.id);
    editable(row);
    const values = readSessionForm(request.body);
    const page = editPage(row);
    if (formText(request.body, 'back') !== '') return formPage(request, reply, page, values);
    const read = sessionInputOfForm(values);
    if (read.errors.length > 0) return formPage(request, reply, page, values, read.errors, read.questionRows, [], 400);
    try {
      const preview = await sessions.previewChange(row.id, read.input);
      if (preview.changed.length === 0) return redirect303(reply, `${base(row.id)}?done=unchanged`);
      const confirmed = formText(request.body, 'confirm') === '1';
      const seen = formText(request.body, 'seen');
      if (confirmed && seen === previewKey(preview)) {
        await sessions.update(row.id, pick(read.input, preview.changed), organizer);
        return redirect303(reply, `${base(row.id)}?done=updated`);
      }
      // First post, or the session changed since the confirmation was shown: show what it sends now.
      const changes = changeLines(preview.changed, sessionFormValues(row), values);
      if (confirmed) changes.unshift('The session changed while you were confirming; check what the change sends now.');
      const bodyHtml = renderConsoleTemplate('@console-session-confirm', {
        title: row.title,
        action: `${base(row.id)}/edit`,
        csrf,
        changes,
        effects: effectsText(preview, read.input.waitlist?.mode === 'offer'),
        hidden: [...hiddenFields(values), { name: 'seen', value: previewKey(preview) }],
      });
      return sendConsolePage(request, reply, { title: `Apply the change to ${row.title}?`, bodyHtml, section: 'sessions' });
    } catch (error) {
      const refused = refusal(error);
      if (!refused) throw error;
      return formPage(request, reply, page, values, refused.errors, read.questionRows, refused.formErrors, refused.status);
    }
  });

  // --- Cancel, with a reason -------------------------------------------------------------------

  function cancelPage(request: FastifyRequest, reply: FastifyReply, row: SessionRow, reason: string, error: string | null, status = 200): FastifyReply {
    const { csrf } = consoleContext(request);
    const reasonField = field({
      name: 'reason',
      label: 'Reason',
      kind: 'textarea',
      value: reason,
      rows: 4,
      maxlength: 2000,
      hint: 'Sent to everyone registered with the cancellation, and shown on the session page.',
      error,
    });
    const fields = [reasonField];
    focusFirstError(fields);
    const registered = row.confirmedCount + row.waitlistedCount + row.pendingCount + row.offeredCount;
    const who = row.pendingCount + row.offeredCount > 0 ? 'confirmed, waitlisted, awaiting approval or offered a seat' : 'confirmed or waitlisted';
    const consequence =
      registered > 0
        ? `${plural(registered, 'person', 'people')} (${who}) will get a cancellation e-mail and an updated calendar invite. This cannot be undone.`
        : 'Nobody is registered, so nobody is e-mailed. This cannot be undone.';
    const bodyHtml = renderConsoleTemplate('@console-session-cancel', {
      title: row.title,
      whenText: sessionTimeText(row.startsAt, row.endsAt, row.timezone),
      action: `${base(row.id)}/cancel`,
      csrf,
      backHref: base(row.id),
      consequence,
      reason: reasonField,
      errors: errorSummary(fields),
    });
    return sendConsolePage(request, reply, { title: `${error ? 'Error: ' : ''}Cancel ${row.title}?`, bodyHtml, status, section: 'sessions' });
  }

  app.get('/sessions/:id/cancel', byId, async (request: ById, reply) => {
    const row = await sessions.get(request.params.id);
    if (row.status === 'cancelled') throw new ConflictError('The session is already cancelled');
    return cancelPage(request, reply, row, '', null);
  });

  app.post('/sessions/:id/cancel', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    const reason = formText(request.body, 'reason');
    // The API's limit on a reason (CancelSessionBody).
    if (reason.length > 2000) {
      const row = await sessions.get(request.params.id);
      return cancelPage(request, reply, row, reason, `Reason must be at most 2000 characters (it has ${reason.length})`, 400);
    }
    await sessions.cancel(request.params.id, reason.trim() || null, organizer);
    return redirect303(reply, `${base(request.params.id)}?done=cancelled`);
  });

  // --- Delete a draft --------------------------------------------------------------------------

  app.get('/sessions/:id/delete', byId, async (request: ById, reply) => {
    const { csrf } = consoleContext(request);
    const row = await sessions.get(request.params.id);
    if (row.status !== 'draft') throw new ConflictError('Only a draft session can be deleted; cancel it instead');
    const bodyHtml = renderConsoleTemplate('@console-session-delete', {
      title: row.title,
      action: `${base(row.id)}/delete`,
      csrf,
      backHref: base(row.id),
    });
    return sendConsolePage(request, reply, { title: `Delete ${row.title}?`, bodyHtml, section: 'sessions' });
  });

  app.post('/sessions/:id/delete', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    await sessions.remove(request.params.id, organizer);
    return redirect303(reply, '/console');
  });
}
