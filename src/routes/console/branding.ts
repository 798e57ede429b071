import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, DomainError, ForbiddenError, type FieldError } from '../../errors.js';
import type { ConsoleSessions } from '../../services/console-sessions.js';
import {
  BRANDING_FIELDS,
  BRANDING_LIMITS,
  contrastWithWhite,
  DEFAULT_BRANDING,
  type Branding,
  type BrandingField,
  type BrandingPatch,
  type SettingsService,
} from '../../services/settings.service.js';
import { brandStylesheetHref } from '../../web/brand-css.js';
import { BRANDING_TEMPLATES, type BrandingPageData } from '../../web/console/branding-templates.js';
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
  type ConsoleFieldView,
  type ConsoleFlash,
} from './layout.js';
import { checkCsrf } from './session.js';

addConsoleTemplates(BRANDING_TEMPLATES);

export interface ConsoleBrandingPagesOptions {
  settings: SettingsService;
  /** For the `_csrf` check of the logo's multipart form, made once its fields are read. */
  sessions: ConsoleSessions;
}

export const BRANDING_PAGE = '/console/branding';

const DONE: Record<string, ConsoleFlash> = {
  saved: { tone: 'good', text: 'The branding is saved: pages and e-mails show it from now on.' },
  logo: { tone: 'good', text: 'The logo is saved: pages and e-mails show it from now on.' },
  'logo-removed': { tone: 'info', text: 'The logo is removed: pages show the name alone.' },
};

const LABELS: Record<BrandingField, string> = {
  name: 'Organisation name',
  website: 'Website',
  accentColor: 'Accent colour',
  mailFromName: 'E-mail sender name',
  footer: 'E-mail footer',
  privacyUrl: 'Privacy notice',
};

type FormValues = Record<BrandingField, string>;

/** What the form shows: the stored values (defaults shown as empty fields) or what was typed. */
function savedValues(brand: Branding): FormValues {
  return {
    name: brand.name === DEFAULT_BRANDING.name ? '' : brand.name,
    website: brand.website ?? '',
    accentColor: brand.accentColor === DEFAULT_BRANDING.accentColor ? '' : brand.accentColor,
    mailFromName: brand.mailFromName === brand.name ? '' : brand.mailFromName,
    footer: brand.footer ?? '',
    privacyUrl: brand.privacyUrl ?? '',
  };
}

function settingsFields(values: FormValues): ConsoleFieldView[] {
  const text = (name: BrandingField, kind: ConsoleFieldView['kind'], maxlength: number, hint: string) =>
    field({ name, label: LABELS[name], kind, value: values[name], maxlength, hint, autocomplete: 'off' });
  return [
    text('name', 'text', BRANDING_LIMITS.nameMaxLength, `At the top of every page and in e-mails. Empty: "${DEFAULT_BRANDING.name}".`),
    text('website', 'url', BRANDING_LIMITS.urlMaxLength, "The name and logo at the top of the pages link here. Like https://example.org; empty: they link to the list of sessions."),
    text(
      'accentColor',
      'text',
      7,
      `The colour of the pages' header and buttons, written #rrggbb. White text must stay readable on it: a contrast of at least ${BRANDING_LIMITS.minContrast}:1. Empty: ${DEFAULT_BRANDING.accentColor}.`,
    ),
    text('mailFromName', 'text', BRANDING_LIMITS.mailFromNameMaxLength, 'The sender\'s name of every e-mail (without <, > or "). Empty: the organisation name (or MAIL_FROM’s name until the organisation has one).'),
    { ...text('footer', 'textarea', BRANDING_LIMITS.footerMaxLength, 'Plain text at the foot of every e-mail: who sends these e-mails and why.'), rows: 4 },
    text('privacyUrl', 'url', BRANDING_LIMITS.urlMaxLength, 'Your privacy notice, linked at the foot of every page. Like https://example.org/privacy.'),
  ];
}

function logoField(error: string | null): ConsoleFieldView {
  return field({
    name: 'logo',
    id: 'f-logo',
    label: 'Logo file',
    kind: 'text',
    hint: `A PNG or JPEG image of at most ${BRANDING_LIMITS.logoMaxBytes / 1024} KB, shown at the top of every page on a white background, about 40 pixels high.`,
    error,
  });
}

/** The uploaded file as @fastify/multipart's onFile below leaves it in the body. */
interface UploadedFile {
  bytes: Buffer;
  mimetype: string;
  /** Longer than the limit: only the first logoMaxBytes were kept. */
  truncated: boolean;
}

function isUploadedFile(value: unknown): value is UploadedFile {
  return typeof value === 'object' && value !== null && Buffer.isBuffer((value as UploadedFile).bytes);
}

/**
 * The console's Branding page (admin): the same service calls as PATCH /api/v1/settings and
 * PUT|DELETE /api/v1/settings/logo, so the same rules hold and the same `settings.update` audit
 * entries are written with the admin as actor. Nothing is saved when any field is wrong.
 */
export async function consoleBrandingPages(app: FastifyInstance, { settings, sessions }: ConsoleBrandingPagesOptions): Promise<void> {
  addConsoleNavItem({ href: BRANDING_PAGE, text: 'Branding', section: 'branding', adminOnly: true });

  // After the console's session hook, before anything is read of a form: a non-admin learns nothing.
  app.addHook('preValidation', async (request) => {
    if (consoleContext(request).organizer.role !== 'admin') throw new ForbiddenError('Only an admin may see or change the branding.');
  });

  interface PageState {
    values?: FormValues;
    errors?: FieldError[];
    logoError?: string;
    status?: number;
    flash?: ConsoleFlash | null;
  }

  async function brandingPage(request: FastifyRequest, reply: FastifyReply, state: PageState = {}): Promise<FastifyReply> {
    const { csrf } = consoleContext(request);
    const brand = await settings.branding();
    const fields = settingsFields(state.values ?? savedValues(brand));
    const unplaced = withFieldErrors(fields, state.errors, Object.fromEntries(BRANDING_FIELDS.map((name) => [`/${name}`, name])));
    focusFirstError(fields);
    const logo = logoField(state.logoError ?? null);
    // The preview shows a colour typed but not saved when it is usable, the saved one otherwise.
    const typed = state.values?.accentColor.trim().toLowerCase() ?? '';
    const accentColor = /^#[0-9a-f]{6}$/.test(typed) && contrastWithWhite(typed) >= BRANDING_LIMITS.minContrast ? typed : brand.accentColor;
    const data: BrandingPageData = {
      csrf,
      preview: {
        name: brand.name,
        logoUrl: brand.logoUrl,
        accentColor,
        contrastText: `${(Math.floor(contrastWithWhite(accentColor) * 10) / 10).toFixed(1)}:1`,
        stylesheetHref: brandStylesheetHref(accentColor),
      },
      form: { fields, errors: errorSummary(fields, unplaced) },
      logo: { currentUrl: brand.logoUrl, field: logo, errors: errorSummary(logo.error ? [logo] : []) },
    };
    const hasErrors = data.form.errors.length > 0 || data.logo.errors.length > 0;
    return sendConsolePage(request, reply, {
      title: `${hasErrors ? 'Error: ' : ''}Branding`,
      bodyHtml: renderConsoleTemplate('@console-branding', data),
      status: state.status,
      flash: state.flash,
      section: 'branding',
    });
  }

  app.get('/branding', { schema: { hide: true } }, async (request, reply) => {
    const done = formText(request.query, 'done');
    return brandingPage(request, reply, { flash: Object.hasOwn(DONE, done) ? DONE[done]! : null });
  });

  // PATCH /api/v1/settings with every field of the form; an empty field clears its setting.
  app.post('/branding', { schema: { hide: true } }, async (request, reply) => {
    const { organizer } = consoleContext(request);
    const values = Object.fromEntries(BRANDING_FIELDS.map((name) => [name, formText(request.body, name)])) as FormValues;
    const patch: BrandingPatch = Object.fromEntries(BRANDING_FIELDS.map((name) => [name, values[name].trim() === '' ? null : values[name]]));
    try {
      await settings.update(patch, organizer);
    } catch (error) {
      if (error instanceof BadRequestError) return brandingPage(request, reply, { values, errors: error.errors ?? [{ path: '', message: error.detail }], status: 400 });
      throw error;
    }
    return redirect303(reply, `${BRANDING_PAGE}?done=saved`);
  });

  // DELETE /api/v1/settings/logo.
  app.post('/branding/logo/remove', { schema: { hide: true } }, async (request, reply) => {
    await settings.removeLogo(consoleContext(request).organizer);
    return redirect303(reply, `${BRANDING_PAGE}?done=logo-removed`);
  });

  // PUT /api/v1/settings/logo from a file field: without JavaScript a file needs
  // multipart/form-data, which only this route takes.
  await app.register(async (upload) => {
    await upload.register(multipart, {
      attachFieldsToBody: 'keyValues',
      // An oversized file is cut, not an error: the page then says how large a logo may be.
      throwFileSizeLimit: false,
      limits: { files: 1, fileSize: BRANDING_LIMITS.logoMaxBytes, fields: 4, fieldSize: 1024, parts: 6, headerPairs: 100 },
      async onFile(part) {
        const chunks: Buffer[] = [];
        for await (const chunk of part.file) chunks.push(chunk as Buffer);
        const file: UploadedFile = { bytes: Buffer.concat(chunks), mimetype: part.mimetype, truncated: part.file.truncated };
        (part as unknown as { value: UploadedFile }).value = file;
      },
    });
    // @fastify/multipart read the fields in its own preValidation hook, just above: now `_csrf` is in the body.
    upload.addHook('preValidation', async (request) => checkCsrf(sessions, request));

    upload.post('/branding/logo', { schema: { hide: true }, config: { csrfAfterMultipart: true } }, async (request, reply) => {
      const { organizer } = consoleContext(request);
      const file = (request.body as Record<string, unknown> | undefined)?.logo;
      if (!isUploadedFile(file) || file.bytes.length === 0) {
        return brandingPage(request, reply, { logoError: 'Choose a PNG or JPEG file to upload', status: 400 });
      }
      if (file.truncated) {
        return brandingPage(request, reply, { logoError: `The logo must be at most ${BRANDING_LIMITS.logoMaxBytes / 1024} KB: make it smaller`, status: 413 });
      }
      try {
        await settings.putLogo(file.bytes, file.mimetype, organizer);
      } catch (error) {
        if (error instanceof DomainError && (error.status === 413 || error.status === 415)) {
          return brandingPage(request, reply, { logoError: error.detail, status: error.status });
        }
        throw error;
      }
      return redirect303(reply, `${BRANDING_PAGE}?done=logo`);
    });
  });
}
