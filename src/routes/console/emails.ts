import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { NotificationStatus } from '../../../db/schema/index.js';
import { NotFoundError } from '../../errors.js';
import { kindLabel } from '../../services/notifications/kinds.js';
import type { MessagesService } from '../../services/messages.service.js';
import type { NotificationLog } from '../../services/notifications/log.js';
import type { SessionsService } from '../../services/sessions.service.js';
import { sessionTimeText, shortInstantText } from '../../text.js';
import { EMAILS_TEMPLATES } from '../../web/console/emails-templates.js';
import type { EmailRow, EmailsPageData } from '../../web/console/emails-views.js';
import { IdParams } from '../schemas.js';
import { addConsoleTemplates, field, formText, renderConsoleTemplate, sendConsolePage } from './layout.js';
import { isUuid } from '../../ids.js';

addConsoleTemplates(EMAILS_TEMPLATES);

export interface ConsoleEmailPagesOptions {
  sessions: SessionsService;
  notificationLog: NotificationLog;
  messages: Pick<MessagesService, 'get'>;
}

/** Rows per page of the delivery log. */
export const EMAILS_PAGE_SIZE = 100;

const STATUS_WORDS: Record<NotificationStatus, { text: string; tone: EmailRow['statusTone']; plural: string }> = {
  pending: { text: 'Pending', tone: 'info', plural: 'pending' },
  queued: { text: 'Queued', tone: 'info', plural: 'queued' },
  sent: { text: 'Sent', tone: 'good', plural: 'sent' },
  failed: { text: 'Failed', tone: 'stop', plural: 'failed' },
  skipped: { text: 'Not sent', tone: 'muted', plural: 'not sent' },
};

/** In the order an e-mail goes through them (the order of the totals line too). */
const STATUS_ORDER: NotificationStatus[] = ['sent', 'queued', 'pending', 'failed', 'skipped'];

const STATUS_CHOICES = [
  { value: '', text: 'All e-mails' },
  { value: 'failed', text: 'Failed' },
  { value: 'sent', text: 'Sent' },
  { value: 'queued', text: 'Queued (being sent, or waiting to retry)' },
  { value: 'pending', text: 'Pending (not yet queued)' },
  { value: 'skipped', text: 'Not sent (no longer needed)' },
];

function isStatus(value: string): value is NotificationStatus {
  return Object.hasOwn(STATUS_WORDS, value);
}

function queryOf(status: string, cursor = '', message = ''): string {
  const query = new URLSearchParams();
  if (message) query.set('message', message);
  if (status) query.set('status', status);
  if (cursor) query.set('cursor', cursor);
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** Why a row is where it is: a failure's reason, why it was not sent, or the error a retry follows. */
function reasonOf(status: NotificationStatus, lastError: string | null): string {
  if (!lastError) return '';
  if (status === 'queued') return `Will retry after: ${lastError}`;
  if (status === 'sent') return '';
  return lastError;
}

/**
 * The delivery log of a session (console.md, `/console/sessions/{id}/emails`): each e-mail's
 * kind, recipient, status and the reason of a failure, from the same service call as
 * `GET /api/v1/sessions/{id}/notifications` (one query per page, one for the totals), newest
 * first, filtered by status, a page at a time; `?message=` narrows it to one message of the
 * Messages page (its own log). Read only. The hosts rule guards the subtree (index.ts).
 */
export async function consoleEmailPages(app: FastifyInstance, { sessions, notificationLog, messages }: ConsoleEmailPagesOptions): Promise<void> {
  type ById = FastifyRequest<{ Params: { id: string } }>;

  app.get('/sessions/:id/emails', { schema: { hide: true, params: IdParams } }, async (request: ById, reply) => {
    const row = await sessions.get(request.params.id);
    const zone = row.timezone;
    const base = `/console/sessions/${row.id}`;
    // An unknown status is read as none: a hand-edited address is not an error.
    const wanted = formText(request.query, 'status');
    const status = isStatus(wanted) ? wanted : '';
    const cursor = formText(request.query, 'cursor');
    const messageParam = formText(request.query, 'message');
    // Another session's message, or none, is "Page not found" (messages.get looks in this session only).
    if (messageParam && !isUuid(messageParam)) throw new NotFoundError('No such message in this session');
    const message = messageParam ? await messages.get(row.id, messageParam) : null;
    const messageId = message?.id ?? '';
    const counts = await notificationLog.countByStatus(row.id, { sessionMessageId: message?.id });
    const page = await notificationLog.list(row.id, {
      sessionMessageId: message?.id,
      statuses: status ? [status] : undefined,
      limit: EMAILS_PAGE_SIZE,
      cursor: cursor || undefined,
    });

    const total = STATUS_ORDER.reduce((sum, s) => sum + counts[s], 0);
    const parts = STATUS_ORDER.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${STATUS_WORDS[s].plural}`);
    const rows: EmailRow[] = page.items.map((item) => ({
      kindText: kindLabel(item.kind),
      recipientName: item.recipientName ?? '',
      recipientEmail: item.recipient ?? '',
      statusText: STATUS_WORDS[item.status].text,
      statusTone: STATUS_WORDS[item.status].tone,
      failed: item.status === 'failed',
      writtenText: shortInstantText(item.createdAt, zone),
      writtenIso: item.createdAt.toISOString(),
      sentText: item.sentAt ? shortInstantText(item.sentAt, zone) : '',
      sentIso: item.sentAt?.toISOString() ?? null,
      reasonText: reasonOf(item.status, item.lastError),
      attempts: item.attempts,
    }));
    const statusText = STATUS_CHOICES.find((choice) => choice.value === status)!.text;
    const data: EmailsPageData = {
      base,
      title: row.title,
      whenText: sessionTimeText(row.startsAt, row.endsAt, zone),
      zone,
      totalsText: total === 0 ? 'No e-mails yet.' : `${total === 1 ? '1 e-mail' : `${total} e-mails`}: ${parts.join(', ')}.`,
      failedCount: counts.failed,
      failedHref: counts.failed > 0 && status !== 'failed' ? `${base}/emails${queryOf('failed', '', messageId)}` : null,
      filter: {
        status: field({ name: 'status', id: 'f-status', label: 'Status', kind: 'select', value: status, options: STATUS_CHOICES }),
        active: status !== '' || message !== null,
      },
      message: message ? { subject: message.subject, hidden: message.id, backHref: `${base}/messages` } : null,
      caption: `${message ? `${statusText} of the message “${message.subject}”` : statusText}, newest first`,
      rows,
      emptyText: status
        ? `No e-mails with the status “${STATUS_WORDS[status].text}”.`
        : 'No e-mails yet: confirmations, reminders and updates appear here as they are written.',
      nextHref: page.nextCursor ? `${base}/emails${queryOf(status, page.nextCursor, messageId)}` : null,
      firstHref: cursor ? `${base}/emails${queryOf(status, '', messageId)}` : null,
    };
    return sendConsolePage(request, reply, {
      title: message ? `E-mails of “${message.subject}” · ${row.title}` : `E-mails · ${row.title}`,
      bodyHtml: renderConsoleTemplate('@console-emails', data),
      section: 'sessions',
    });
  });
}
