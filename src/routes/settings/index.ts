import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../errors.js';
import { BRANDING_LIMITS, LOGO_TYPES, type BrandingPatch, type SettingsService } from '../../services/settings.service.js';
import { bearer, Nullable, problems } from '../schemas.js';

/** The organisation's branding as the API shows it (Branding of src/services/settings.service.ts). */
export const SettingsSchema = Type.Object({
  name: Type.String({ description: 'shown in page headers, e-mails, invites and feeds; "Convene" until set' }),
  website: Nullable(Type.String({ format: 'uri' }), { description: "the header's name and logo link here when set" }),
  accentColor: Type.String({ pattern: '^#[0-9a-f]{6}$', description: 'header and buttons of the public pages' }),
  mailFromName: Type.String({ description: 'display name of the From header of e-mails (the address stays MAIL_FROM); the name until set' }),
  footer: Nullable(Type.String(), { description: 'plain text at the foot of every e-mail' }),
  privacyUrl: Nullable(Type.String({ format: 'uri' }), { description: 'the privacy notice, linked from the foot of every page' }),
  logoUrl: Nullable(Type.String({ format: 'uri' }), { description: 'the logo as served by Convene at /assets/logo (versioned); null without one' }),
});

const nullableText = (options: { minLength?: number; maxLength: number; pattern?: string; description: string }) =>
  Type.Optional(Nullable(Type.String(options)));

/** Any subset of the fields; null clears one (it falls back to its default). */
export const SettingsPatchBody = Type.Object(
  {
    name: nullableText({ minLength: 1, maxLength: BRANDING_LIMITS.nameMaxLength, description: 'one line' }),
    website: nullableText({ maxLength: BRANDING_LIMITS.urlMaxLength, description: 'an https:// or http:// address' }),
    accentColor: nullableText({
      pattern: '^#[0-9a-fA-F]{6}$',
      maxLength: 7,
      description: `#rrggbb with a contrast of at least ${BRANDING_LIMITS.minContrast}:1 against white (WCAG), else 400 saying the ratio`,
    }),
    mailFromName: nullableText({ minLength: 1, maxLength: BRANDING_LIMITS.mailFromNameMaxLength, description: 'one line, without <, > or "' }),
    footer: nullableText({ maxLength: BRANDING_LIMITS.footerMaxLength, description: 'plain text; line breaks are kept' }),
    privacyUrl: nullableText({ maxLength: BRANDING_LIMITS.urlMaxLength, description: 'an https:// or http:// address' }),
  },
  { additionalProperties: false },
);

export interface SettingsRoutesOptions {
  settings: SettingsService;
}

/** The logo upload: raw PNG or JPEG bytes; every other type is 415 before any byte is read. */
async function logoUploadRoute(app: FastifyInstance, { settings }: SettingsRoutesOptions): Promise<void> {
  // Only here: JSON, forms and the rest are not logos.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser([...LOGO_TYPES], { parseAs: 'buffer', bodyLimit: BRANDING_LIMITS.logoMaxBytes }, (_request, body, done) => done(null, body));
  app.addContentTypeParser('*', (request, _payload, done) => {
    done(new DomainError(415, `The logo must be sent as image/png or image/jpeg, not "${request.headers['content-type'] ?? ''}"`), undefined);
  });

  app.put(
    '/settings/logo',
    {
      onRequest: app.requireAdmin,
      bodyLimit: BRANDING_LIMITS.logoMaxBytes,
      // The bytes are checked by the service (declared type and magic bytes); the schema only documents them.
      validatorCompiler: () => () => true,
      schema: {
        tags: ['settings'],
        summary: "Set the organisation's logo (admin)",
        description: `The raw bytes of a PNG or JPEG image, at most ${BRANDING_LIMITS.logoMaxBytes} bytes (413 when larger). Any other type, SVG included, is 415, and so are bytes that are not what the Content-Type declares. Served at /assets/logo; the answer's logoUrl is its new, versioned address.`,
        security: bearer,
        consumes: [...LOGO_TYPES],
        body: Type.String({ format: 'binary' }),
        response: { 200: SettingsSchema, ...problems(401, 403, 413, 415) },
      },
    },
    async (request) => {
      const body = request.body as unknown;
      if (!Buffer.isBuffer(body)) throw new DomainError(415, 'The logo must be sent as the raw bytes of an image/png or image/jpeg body');
      return settings.putLogo(body, request.headers['content-type'], request.organizer);
    },
  );
}

/** The organisation's branding: any organizer reads it, admins change it. */
export const settingsRoutes: FastifyPluginAsyncTypebox<SettingsRoutesOptions> = async (app, { settings }) => {
  app.get(
    '/settings',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['settings'],
        summary: "The organisation's branding",
        description: 'What the public pages, e-mails, invites and feeds show of the organisation; unset fields have their defaults.',
        security: bearer,
        response: { 200: SettingsSchema, ...problems(401) },
      },
    },
    async () => settings.branding(),
  );

  app.patch(
    '/settings',
    {
      onRequest: app.requireAdmin,
      schema: {
        tags: ['settings'],
        summary: "Change the organisation's branding (admin)",
        description:
          'Any subset of the fields; null clears one. Every field is checked before anything is saved; the answer is the branding as now in force. Audited as `settings.update` with the names of the fields changed.',
        security: bearer,
        body: SettingsPatchBody,
        response: { 200: SettingsSchema, ...problems(400, 401, 403, 413, 415) },
      },
    },
    async (request) => settings.update(request.body as BrandingPatch, request.organizer),
  );

  await app.register(logoUploadRoute, { settings });

  app.delete(
    '/settings/logo',
    {
      onRequest: app.requireAdmin,
      schema: {
        tags: ['settings'],
        summary: "Remove the organisation's logo (admin)",
        description: 'Pages and e-mails then show the name alone. 204 also when there was no logo.',
        security: bearer,
        response: { 204: Type.Null({ description: 'removed' }), ...problems(401, 403) },
      },
    },
    async (request, reply) => {
      await settings.removeLogo(request.organizer);
      return reply.code(204).send(null);
    },
  );
};
