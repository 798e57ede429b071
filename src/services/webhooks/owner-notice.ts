import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../../../db/client.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { withDeadline } from '../../deadline.js';
import { escapeHtml, shortInstantText, singleLine } from '../../text.js';
import { messageIdFor } from '../notifications/delivery.js';
import { fillLayout } from '../notifications/email-layout.js';
import { accentOf, headerHtml } from '../notifications/templates.js';
import { WEBHOOKS_PAGE } from '../links.js';
import { isPermanentSmtpFailure, mailAddress, type Mailer, type OutgoingMessage } from '../notifications/mailer.js';
import { DEFAULT_BRANDING, type Branding } from '../settings.service.js';

/**
 * The e-mail to the owner of a webhook endpoint that Convene disabled (a 410, five failing days).
 * The delivery worker sets `owner_notice_due_at` in the statement that disables the endpoint;
 * `sendDue` claims the due rows, mails each owner once and clears the column. The owner enabling
 * the endpoint again clears it too (endpoints.service), so a notice not yet sent is dropped.
 */

/** Endpoints claimed per call: one tick's work stays small; the rest waits for the next tick. */
const CLAIM_LIMIT = 50;
/**
 * How long a claim holds a row: far beyond the send deadline, so a claim only lapses when its
 * process died (then another process sends the notice after this long).
 */
const CLAIM_LEASE_MS = 10 * 60_000;
/** After a temporary SMTP failure the notice is due again after this long (fixed: these are rare). */
const RETRY_AFTER_MS = 5 * 60_000;
/** The sends of one call that have no answer by then count as temporary failures. */
const SEND_DEADLINE_MS = 60_000;
/** The console shows times in UTC (routes/console/admin.ts, ADMIN_ZONE): the e-mail matches the page it links to. */
const TIME_ZONE = 'UTC';

export interface WebhookOwnerNoticesDeps {
  db: Database;
  clock: Clock;
  mailer: Mailer;
  config: Pick<Config, 'publicBaseUrl' | 'mailFrom'>;
  /** The organisation's branding at send time (services.settings.branding); Convene's defaults without it. */
  branding?: () => Promise<Branding>;
  log: Logger;
}

/** One claimed endpoint with its owner, as the claim statement returns it (timestamps as text). */
interface ClaimedRow extends Record<string, unknown> {
  id: string;
  url: string;
  description: string | null;
  disabled_reason: string | null;
  failing_since: string | null;
  /** Set by the statement that disabled the endpoint; our own writes leave it alone. */
  updated_at: string;
  owner_email: string;
  owner_name: string;
  owner_disabled_at: string | null;
}

/** What the notice says of one endpoint and its owner. */
export interface DisabledEndpoint {
  id: string;
  url: string;
  description: string | null;
  reason: string;
  disabledAt: Date;
  failingSince: Date | null;
  owner: { email: string; name: string };
}

/** "example.org" (with a port when it has one): how the subject names the endpoint. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function timeText(at: Date): string {
  return `${shortInstantText(at, TIME_ZONE)} ${TIME_ZONE}`;
}

/** The notice as plain text and HTML, in the e-mail layout every Convene e-mail uses. */
export async function renderOwnerNotice(
  endpoint: DisabledEndpoint,
  branding: Branding,
  publicBaseUrl: string,
): Promise<{ subject: string; text: string; html: string }> {
  const subject = singleLine(`Webhook endpoint disabled: ${hostOf(endpoint.url)}`);
  const heading = 'Your webhook endpoint is disabled';
  const consoleLink = `${publicBaseUrl}${WEBHOOKS_PAGE}/${endpoint.id}`;
  const buttonLabel = 'Open the endpoint in the console to enable it again';
  const facts: Array<[string, string]> = [
    ['Endpoint', endpoint.url],
    ...(endpoint.description?.trim() ? [['Description', endpoint.description.trim()] as [string, string]] : []),
    ['Disabled at', timeText(endpoint.disabledAt)],
    ['Why', endpoint.reason],
    ...(endpoint.failingSince ? [['Deliveries failing since', timeText(endpoint.failingSince)] as [string, string]] : []),
  ];
  const paragraphs = [
    `Hello ${singleLine(endpoint.owner.name)},`,
    'We stopped sending events to one of your webhook endpoints:',
  ];
  const consequences = [
    'While it is disabled, events are not recorded for it: what happens in the meantime will not be sent, even after you enable it again.',
    'Once the receiver works again, enable the endpoint on its page in the console (you can send it a test event there first).',
  ];
  const footer = `${branding.name} sent you this e-mail because you own this webhook endpoint.`;

  const accent = accentOf(branding);
  const P = 'margin:0 0 16px';
  const multiline = (value: string) => escapeHtml(value).replace(/\r?\n/g, '<br>');
  const html = await fillLayout({
    title: escapeHtml(subject),
    preview: escapeHtml(singleLine(`${heading}: ${hostOf(endpoint.url)}`)),
    header: headerHtml(branding, accent),
    heading: escapeHtml(heading),
    body: [
      ...paragraphs.map((text) => `<p style="${P}">${multiline(text)}</p>`),
      ...facts.map(
        ([label, value]) => `<p style="${P}"><span style="color:#4a4f55;font-size:14px">${escapeHtml(label)}</span><br><strong>${multiline(value)}</strong></p>`,
      ),
      ...consequences.map((text) => `<p style="${P}">${multiline(text)}</p>`),
    ].join('\n'),
    buttonHref: escapeHtml(consoleLink),
    buttonLabel: escapeHtml(buttonLabel),
    after: '',
    footer: `<p style="margin:0 0 8px">${multiline(footer)}</p>`,
    accent,
  });
  const text = [
    branding.name,
    `${heading}\n${'='.repeat(heading.length)}`,
    ...paragraphs,
    facts.map(([label, value]) => `${label}: ${value}`).join('\n'),
    ...consequences,
    `${buttonLabel}: ${consoleLink}`,
    `--\n${footer}`,
  ].join('\n\n');
  return { subject, text: `${text}\n`, html };
}

type Outcome = 'sent' | 'retry' | 'dropped';

export function createWebhookOwnerNotices({ db, clock, mailer, config, branding = async () => DEFAULT_BRANDING, log }: WebhookOwnerNoticesDeps) {
  /**
   * Claims the due notices in one statement: SKIP LOCKED leaves rows another process is claiming
   * to it, and a row it has claimed already no longer passes `owner_notice_due_at <= now` (READ
   * COMMITTED checks the condition again on the row it locks). The claim moves the due time a
   * lease ahead instead of holding a lock across the SMTP round trips.
   */
  async function claim(now: Date, leaseUntil: Date): Promise<ClaimedRow[]> {
    const { rows } = await db.execute<ClaimedRow>(sql`
      UPDATE webhook_endpoints e SET owner_notice_due_at = ${leaseUntil}::timestamptz
      FROM organizers o
      WHERE o.id = e.organizer_id AND e.id IN (
        SELECT id FROM webhook_endpoints
        WHERE owner_notice_due_at <= ${now}::timestamptz AND NOT enabled
        ORDER BY owner_notice_due_at
        LIMIT ${CLAIM_LIMIT}
        FOR UPDATE SKIP LOCKED)
      RETURNING e.id, e.url, e.description, e.disabled_reason, e.failing_since, e.updated_at,
        o.email AS owner_email, o.name AS owner_name, o.disabled_at AS owner_disabled_at`);
    return rows;
  }

  /**
   * Every outcome in one statement: cleared, or due again after RETRY_AFTER_MS. Only rows still
   * holding this claim: an owner who enabled the endpoint meanwhile cleared it, and one disabled
   * again meanwhile has a notice of its own due.
   */
  async function record(outcomes: Map<string, Outcome>, leaseUntil: Date, retryAt: Date): Promise<void> {
    if (outcomes.size === 0) return;
    const ids = [...outcomes.keys()];
    const retried = ids.filter((id) => outcomes.get(id) === 'retry');
    await db.execute(sql`
      UPDATE webhook_endpoints
      SET owner_notice_due_at = CASE WHEN id = ANY(${sql.param(retried)}::uuid[]) THEN ${retryAt}::timestamptz END
      WHERE id = ANY(${sql.param(ids)}::uuid[]) AND owner_notice_due_at = ${leaseUntil}::timestamptz`);
  }

  function messageFor(endpoint: DisabledEndpoint, current: Branding, rendered: { subject: string; text: string; html: string }): OutgoingMessage {
    return {
      // An address object: nodemailer encodes the name, so nothing in it can add a header.
      from: { name: singleLine(current.mailFromName), address: mailAddress(config.mailFrom) },
      to: { name: singleLine(endpoint.owner.name), address: endpoint.owner.email },
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      // A new id per attempt: the endpoint may be disabled, enabled and disabled again, each time a new notice.
      messageId: messageIdFor(`webhook-${endpoint.id}-${randomUUID()}`, config.mailFrom),
      headers: { 'X-Convene-Notification': 'webhook_endpoint_disabled', 'Auto-Submitted': 'auto-generated' },
    };
  }

  async function notify(endpoint: DisabledEndpoint, current: Branding): Promise<Outcome> {
    const rendered = await renderOwnerNotice(endpoint, current, config.publicBaseUrl);
    const message = messageFor(endpoint, current, rendered);
    try {
      await withDeadline(mailer.send(message), SEND_DEADLINE_MS, `no answer from the SMTP server within ${SEND_DEADLINE_MS / 1000} s`);
      log.info({ endpointId: endpoint.id, messageId: message.messageId }, 'webhook endpoint owner told it is disabled');
      return 'sent';
    } catch (error) {
      const permanent = isPermanentSmtpFailure(error);
      log.warn(
        { endpointId: endpoint.id, permanent, err: { message: error instanceof Error ? error.message : String(error) } },
        permanent ? 'webhook owner notice refused for good; not sent' : 'webhook owner notice deferred',
      );
      return permanent ? 'dropped' : 'retry';
    }
  }

  /** Sends the notices due now; resolves to how many e-mails the SMTP server accepted. */
  async function sendDue(): Promise<number> {
    const now = clock.now();
    const leaseUntil = new Date(now.getTime() + CLAIM_LEASE_MS);
    const rows = await claim(now, leaseUntil);
    if (rows.length === 0) return 0;
    const current = await branding();
    const outcomes = new Map<string, Outcome>();
    await Promise.all(
      rows.map(async (row) => {
        // A disabled organizer cannot sign in to act on it, and an admin ended their use of
        // Convene: the notice is dropped rather than mailed to a closed account.
        if (row.owner_disabled_at !== null) {
          log.info({ endpointId: row.id }, 'webhook owner notice dropped: the owner is disabled');
          outcomes.set(row.id, 'dropped');
          return;
        }
        // No reason: the owner disabled it themselves since (endpoints.service clears the
        // reason), so they have acted and there is nothing to tell.
        if (row.disabled_reason === null) {
          outcomes.set(row.id, 'dropped');
          return;
        }
        const endpoint: DisabledEndpoint = {
          id: row.id,
          url: row.url,
          description: row.description,
          reason: row.disabled_reason,
          disabledAt: new Date(row.updated_at),
          failingSince: row.failing_since === null ? null : new Date(row.failing_since),
          owner: { email: row.owner_email, name: row.owner_name },
        };
        outcomes.set(row.id, await notify(endpoint, current).catch((error: unknown) => {
          // Rendering failed (the layout did not compile): try again later rather than lose it.
          log.warn({ endpointId: row.id, err: { message: error instanceof Error ? error.message : String(error) } }, 'webhook owner notice deferred');
          return 'retry' as const;
        }));
      }),
    );
    await record(outcomes, leaseUntil, new Date(clock.now().getTime() + RETRY_AFTER_MS));
    return [...outcomes.values()].filter((outcome) => outcome === 'sent').length;
  }

  return { sendDue };
}

export type WebhookOwnerNotices = ReturnType<typeof createWebhookOwnerNotices>;
