import { DateTime } from 'luxon';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, ConflictError, type FieldError } from '../../errors.js';
import { API_KEY_NAME_MAX_LENGTH, API_KEYS_PER_ORGANIZER_MAX, type ApiKey, type ApiKeysService, type NewApiKey } from '../../services/api-keys.service.js';
import { API_KEYS_TEMPLATES, type ApiKeysPageData, type DeleteApiKeyData } from '../../web/console/api-keys-templates.js';
import { IdParams } from '../schemas.js';
import { ADMIN_ZONE } from './admin.js';
import {
  addConsoleNavItem,
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

addConsoleTemplates(API_KEYS_TEMPLATES);

export const API_KEYS_PAGE = '/console/api-keys';

const DONE: Record<string, ConsoleFlash> = {
  deleted: { tone: 'info', text: 'The key is deleted: every program using it is refused from now on.' },
};

function timeText(at: Date): string {
  return DateTime.fromJSDate(at, { zone: ADMIN_ZONE }).toFormat('yyyy-MM-dd HH:mm');
}

interface PageState {
  /** The name typed into the New key form, shown again with its errors. */
  name?: string;
  errors?: FieldError[];
  /** Errors of the whole form (the most keys one may have). */
  formErrors?: string[];
  /** The key just made, shown in this answer only. */
  created?: NewApiKey | null;
  status?: number;
  flash?: ConsoleFlash | null;
}

/**
 * The console's API keys page (console.md): every organizer's own keys, through the same service
 * calls (and `api_key.create` / `api_key.delete` audit entries) as /api/v1/api-keys. A new key is
 * shown once, in the answer to the form that made it (never stored, never in a URL or redirect;
 * console answers are `Cache-Control: no-store`); deleting asks first.
 */
export async function consoleApiKeyPages(app: FastifyInstance, { apiKeys }: { apiKeys: ApiKeysService }): Promise<void> {
  addConsoleNavItem({ href: API_KEYS_PAGE, text: 'API keys', section: 'api-keys' });
  type ById = FastifyRequest<{ Params: { id: string } }>;
  const byId = { schema: { hide: true, params: IdParams } };

  async function keysPage(request: FastifyRequest, reply: FastifyReply, state: PageState = {}): Promise<FastifyReply> {
    const { organizer, csrf } = consoleContext(request);
    const keys = await apiKeys.list(organizer.id);
    const fields = [
      field({
        name: 'name',
        label: 'Name',
        kind: 'text',
        value: state.name ?? '',
        required: true,
        maxlength: API_KEY_NAME_MAX_LENGTH,
        autocomplete: 'off',
        hint: 'What the key is for, such as the program that uses it, so you know which one to delete later.',
      }),
    ];
    const unplaced = withFieldErrors(fields, state.errors, { '/name': 'name' });
    focusFirstError(fields);
    const errors = errorSummary(fields, [...unplaced, ...(state.formErrors ?? [])]);
    const full = keys.length >= API_KEYS_PER_ORGANIZER_MAX;
    const data: ApiKeysPageData = {
      csrf,
      isAdmin: organizer.role === 'admin',
      zone: ADMIN_ZONE,
      rows: keys.map(rowView),
      created: state.created ? { name: state.created.name, key: state.created.key } : null,
      // With the most keys, the form gives way to a note; a refusal of the form stays to be read.
      add: full && errors.length === 0 ? null : { fields, errors },
      max: API_KEYS_PER_ORGANIZER_MAX,
    };
    return sendConsolePage(request, reply, {
      title: `${errors.length > 0 ? 'Error: ' : ''}API keys`,
      bodyHtml: renderConsoleTemplate('@console-api-keys', data),
      status: state.status,
      flash: state.flash ?? null,
      section: 'api-keys',
    });
  }

  app.get('/api-keys', { schema: { hide: true } }, async (request, reply) =>
    keysPage(request, reply, { flash: DONE[formText(request.query, 'done')] ?? null }),
  );

  // POST /api/v1/api-keys. The key is in this answer and nowhere else: no redirect after this
  // POST, since a redirect would have to carry the key in its URL or keep it on the server.
  app.post('/api-keys', { schema: { hide: true } }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const name = formText(request.body, 'name');
    let created: NewApiKey;
    try {
      created = await apiKeys.create(organizer, name);
    } catch (error) {
      if (error instanceof BadRequestError) return keysPage(request, reply, { name, errors: error.errors, status: 400 });
      if (error instanceof ConflictError) return keysPage(request, reply, { name, formErrors: [error.detail], status: 409 });
      throw error;
    }
    return keysPage(request, reply, { created });
  });

  app.get('/api-keys/:id/delete', byId, async (request: ById, reply) => {
    const { organizer, csrf } = consoleContext(request);
    const key = await apiKeys.get(organizer.id, request.params.id);
    const row = rowView(key);
    const data: DeleteApiKeyData = { csrf, id: key.id, name: key.name, prefix: key.prefix, createdText: `${row.createdText} ${ADMIN_ZONE}`, lastUsedText: row.lastUsedText ? `${row.lastUsedText} ${ADMIN_ZONE}` : 'Never' };
    return sendConsolePage(request, reply, { title: `Delete the API key ${key.name}?`, bodyHtml: renderConsoleTemplate('@console-api-key-delete', data), section: 'api-keys' });
  });

  // DELETE /api/v1/api-keys/{id}: another organizer's key, or one deleted already, is the 404 page.
  app.post('/api-keys/:id/delete', byId, async (request: ById, reply) => {
    const { organizer } = consoleContext(request);
    await apiKeys.remove(organizer, request.params.id);
    return redirect303(reply, `${API_KEYS_PAGE}?done=deleted`);
  });
}

function rowView(key: ApiKey): ApiKeysPageData['rows'][number] {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    createdText: timeText(key.createdAt),
    createdIso: key.createdAt.toISOString(),
    lastUsedText: key.lastUsedAt ? timeText(key.lastUsedAt) : null,
    lastUsedIso: key.lastUsedAt?.toISOString() ?? null,
  };
}
