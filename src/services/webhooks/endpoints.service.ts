import { randomUUID } from 'node:crypto';
import { and, desc, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../../db/client.js';
import { WEBHOOK_EVENTS, webhookDeliveries, webhookEndpoints, type WebhookDeliveryRow, type WebhookEndpointRow, type WebhookEvent } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { BadRequestError, ConflictError, NotFoundError, type FieldError } from '../../errors.js';
import { isUuid } from '../../ids.js';
import { recordAudit, type AuditActor } from '../audit.service.js';
import { seesEverySession, type Viewer } from '../hosts.js';
import { checkWebhookUrl } from './address.js';
import { encryptSecret, newWebhookSecret } from './signing.js';

/** The events an endpoint may ask for: all but `ping`, which comes only from a test, to the endpoint tested. */
export const SUBSCRIBABLE_EVENTS = WEBHOOK_EVENTS.filter((event): event is Exclude<WebhookEvent, 'ping'> => event !== 'ping');

export const WEBHOOK_DESCRIPTION_MAX_LENGTH = 500;
/** Per organizer: enough for a CRM, a spreadsheet and a few experiments. */
export const WEBHOOK_ENDPOINTS_MAX = 20;
/** The Standard Webhooks spec's suggestion: the old secret keeps signing for a day after a rotation. */
export const PREVIOUS_SECRET_MS = 24 * 3600 * 1000;

export type WebhookCaller = Viewer & AuditActor;

/** An endpoint as the API shows it: never its secret. */
export type WebhookEndpoint = Omit<WebhookEndpointRow, 'secretCiphertext' | 'previousSecretCiphertext'>;

export interface WebhookInput {
  url: string;
  events: string[];
  description?: string | null;
}

export interface WebhookChanges {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}

export interface DeliveryPage {
  items: WebhookDeliveryRow[];
  nextCursor: string | null;
}

function shown(row: WebhookEndpointRow): WebhookEndpoint {
  const { secretCiphertext: _secret, previousSecretCiphertext: _previous, ...rest } = row;
  return rest;
}

export function createWebhookEndpointsService({ db, clock, secretsKey, allowPrivate }: { db: Database; clock: Clock; secretsKey: Buffer; allowPrivate: boolean }) {
  function checkInput(input: Partial<WebhookInput>, errors: FieldError[]): void {
    if (input.url !== undefined) {
      const problem = checkWebhookUrl(input.url, allowPrivate);
      if (problem) errors.push({ path: '/url', message: problem });
    }
    if (input.description && input.description.length > WEBHOOK_DESCRIPTION_MAX_LENGTH) {
      errors.push({ path: '/description', message: `must be at most ${WEBHOOK_DESCRIPTION_MAX_LENGTH} characters` });
    }
    if (input.events !== undefined) {
      if (input.events.length === 0) errors.push({ path: '/events', message: 'must name at least one event' });
      input.events.forEach((event, index) => {
        if (!(SUBSCRIBABLE_EVENTS as readonly string[]).includes(event)) errors.push({ path: `/events/${index}`, message: `must be one of ${SUBSCRIBABLE_EVENTS.join(', ')}` });
      });
    }
  }

  /** The caller's endpoint (an admin: any); another organizer's is not found, like a missing one. */
  async function owned(caller: Viewer, id: string): Promise<WebhookEndpointRow> {
    if (!isUuid(id)) throw new NotFoundError('No such webhook endpoint');
    const condition = seesEverySession(caller) ? eq(webhookEndpoints.id, id) : and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.organizerId, caller.id));
    const [row] = await db.select().from(webhookEndpoints).where(condition);
    if (!row) throw new NotFoundError('No such webhook endpoint');
    return row;
  }

  async function create(caller: WebhookCaller, input: WebhookInput): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const errors: FieldError[] = [];
    checkInput(input, errors);
    if (errors.length > 0) throw new BadRequestError('The webhook endpoint is not valid', errors);
    const secret = newWebhookSecret();
    const now = clock.now();
    const row = await db.transaction(async (tx) => {
      // The owner's row is locked, so two creations at once cannot both pass the limit.
      await tx.execute(sql`SELECT 1 FROM organizers WHERE id = ${caller.id}::uuid FOR UPDATE`);
      const [{ count }] = (await tx.execute<{ count: number }>(sql`SELECT count(*)::int AS count FROM webhook_endpoints WHERE organizer_id = ${caller.id}::uuid`)).rows as [{ count: number }];
      if (count >= WEBHOOK_ENDPOINTS_MAX) throw new ConflictError(`At most ${WEBHOOK_ENDPOINTS_MAX} webhook endpoints per organizer: delete one first`);
      const [created] = await tx
        .insert(webhookEndpoints)
        .values({
          organizerId: caller.id,
          url: input.url,
          events: [...new Set(input.events)] as WebhookEvent[],
          description: input.description ?? null,
          secretCiphertext: encryptSecret(secret, secretsKey),
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      await recordAudit(tx, { at: now, actor: caller, action: 'webhook.create', subjectType: 'webhook', subjectId: created!.id, details: { events: created!.events } });
      return created!;
    });
    return { endpoint: shown(row), secret };
  }

  async function list(caller: Viewer): Promise<WebhookEndpoint[]> {
    const rows = await db
      .select()
      .from(webhookEndpoints)
      .where(seesEverySession(caller) ? undefined : eq(webhookEndpoints.organizerId, caller.id))
      .orderBy(webhookEndpoints.createdAt, webhookEndpoints.id);
    return rows.map(shown);
  }

  async function get(caller: Viewer, id: string): Promise<WebhookEndpoint> {
    return shown(await owned(caller, id));
  }

  /** Enabling again starts afresh: the reason it was disabled and the failing streak are cleared. */
  async function update(caller: WebhookCaller, id: string, changes: WebhookChanges): Promise<WebhookEndpoint> {
    const errors: FieldError[] = [];
    checkInput(changes, errors);
    if (errors.length > 0) throw new BadRequestError('The webhook endpoint is not valid', errors);
    await owned(caller, id);
    const now = clock.now();
    const row = await db.transaction(async (tx) => {
      const [updated] = await tx
        .update(webhookEndpoints)
        .set({
          ...(changes.url !== undefined ? { url: changes.url } : {}),
          ...(changes.events !== undefined ? { events: [...new Set(changes.events)] as WebhookEvent[] } : {}),
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          ...(changes.enabled !== undefined ? { enabled: changes.enabled, disabledReason: null, ...(changes.enabled ? { failingSince: null, ownerNoticeDueAt: null } : {}) } : {}),
          updatedAt: now,
        })
        .where(eq(webhookEndpoints.id, id))
        .returning();
      if (!updated) throw new NotFoundError('No such webhook endpoint');
      await recordAudit(tx, { at: now, actor: caller, action: 'webhook.update', subjectType: 'webhook', subjectId: id, details: { fields: Object.keys(changes) } });
      return updated;
    });
    return shown(row);
  }

  /** A new secret, shown once; the previous one keeps signing beside it for PREVIOUS_SECRET_MS. */
  async function rotateSecret(caller: WebhookCaller, id: string): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const current = await owned(caller, id);
    const secret = newWebhookSecret();
    const now = clock.now();
    const row = await db.transaction(async (tx) => {
      const [updated] = await tx
        .update(webhookEndpoints)
        .set({
          secretCiphertext: encryptSecret(secret, secretsKey),
          previousSecretCiphertext: current.secretCiphertext,
          previousSecretExpiresAt: new Date(now.getTime() + PREVIOUS_SECRET_MS),
          updatedAt: now,
        })
        .where(eq(webhookEndpoints.id, id))
        .returning();
      if (!updated) throw new NotFoundError('No such webhook endpoint');
      await recordAudit(tx, { at: now, actor: caller, action: 'webhook.rotate_secret', subjectType: 'webhook', subjectId: id });
      return updated;
    });
    return { endpoint: shown(row), secret };
  }

  async function remove(caller: WebhookCaller, id: string): Promise<void> {
    await owned(caller, id);
    await db.transaction(async (tx) => {
      const deleted = await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id });
      if (deleted.length === 0) throw new NotFoundError('No such webhook endpoint');
      await recordAudit(tx, { at: clock.now(), actor: caller, action: 'webhook.delete', subjectType: 'webhook', subjectId: id });
    });
  }

  /** A `ping` event for this endpoint alone (enabled or not: a test is how one checks a repaired receiver). */
  async function ping(caller: Viewer, id: string): Promise<WebhookDeliveryRow> {
    const endpoint = await owned(caller, id);
    const now = clock.now();
    const [row] = await db
      .insert(webhookDeliveries)
      .values({
        id: `msg_${randomUUID().replaceAll('-', '')}`,
        endpointId: endpoint.id,
        eventType: 'ping',
        orderingKey: randomUUID(),
        data: { endpointId: endpoint.id },
        occurredAt: now,
        nextAttemptAt: now,
      })
      .returning();
    return row!;
  }

  /** The endpoint's delivery log, newest first, by `seq` (a cursor is the last `seq` seen). */
  async function deliveries(caller: Viewer, id: string, { limit, cursor }: { limit: number; cursor?: string }): Promise<DeliveryPage> {
    await owned(caller, id);
    const conditions: SQL[] = [eq(webhookDeliveries.endpointId, id)];
    if (cursor !== undefined) {
      if (!/^\d{1,18}$/.test(cursor)) throw new BadRequestError('The cursor is not valid', [{ path: '/querystring/cursor', message: 'must be a cursor from an earlier page' }]);
      conditions.push(lt(webhookDeliveries.seq, Number(cursor)));
    }
    const rows = await db
      .select()
      .from(webhookDeliveries)
      .where(and(...conditions))
      .orderBy(desc(webhookDeliveries.seq))
      .limit(limit + 1);
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? String(items[items.length - 1]!.seq) : null };
  }

  return { create, list, get, update, rotateSecret, remove, ping, deliveries };
}

export type WebhookEndpointsService = ReturnType<typeof createWebhookEndpointsService>;
