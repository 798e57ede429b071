import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Executor } from '../../db/client.js';
import { settings, type SettingsRow } from '../../db/schema/index.js';
import { BadRequestError, DomainError, type FieldError } from '../errors.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import { mailDisplayName } from './notifications/mailer.js';

/**
 * The organisation's branding (api.md "Branding and the attendee's time"): what pages, e-mails,
 * invites and feeds show of the organisation. Unset fields fall back to DEFAULT_BRANDING.
 */
export interface Branding {
  /** The organisation's name: page headers, e-mail headers, invites' ORGANIZER CN, feeds' X-WR-CALNAME. */
  name: string;
  website: string | null;
  /** `#rrggbb`, at least 4.5:1 against white. */
  accentColor: string;
  /** The display name of the From header (the address stays MAIL_FROM's). */
  mailFromName: string;
  /** Who sends these e-mails and why (plain text), at the foot of every e-mail. */
  footer: string | null;
  privacyUrl: string | null;
  /** Absolute URL of the logo served by Convene (`/assets/logo?v=...`), null without a logo. */
  logoUrl: string | null;
}

export const DEFAULT_BRANDING: Branding = {
  name: 'Convene',
  website: null,
  accentColor: '#16325c',
  mailFromName: 'Convene',
  footer: null,
  privacyUrl: null,
  logoUrl: null,
};

export const LOGO_PATH = '/assets/logo';

/** The fields an admin sets (PATCH /api/v1/settings, the console's Branding page); the logo has its own calls. */
export const BRANDING_FIELDS = ['name', 'website', 'accentColor', 'mailFromName', 'footer', 'privacyUrl'] as const;
export type BrandingField = (typeof BRANDING_FIELDS)[number];
/** Any subset of the fields; null clears one (it falls back to the default). */
export type BrandingPatch = Partial<Record<BrandingField, string | null>>;

/** The limits of each field, for the API's schema and the console form's maxlength. */
export const BRANDING_LIMITS = {
  nameMaxLength: 120,
  urlMaxLength: 500,
  mailFromNameMaxLength: 80,
  footerMaxLength: 1000,
  /** WCAG AA for normal text: white text on the accent colour (buttons, header) stays readable. */
  minContrast: 4.5,
  logoMaxBytes: 204_800,
} as const;

export const LOGO_TYPES = ['image/png', 'image/jpeg'] as const;
export type LogoType = (typeof LOGO_TYPES)[number];

/** The stored logo, for GET /assets/logo. */
export interface StoredLogo {
  bytes: Buffer;
  contentType: LogoType;
  /** Strong validator of the bytes. */
  etag: string;
  /** The `v` of the branding's logoUrl: a request naming it may be cached for good. */
  version: string;
}

export interface SettingsServiceDeps {
  db: Executor;
  publicBaseUrl: string;
  /** MAIL_FROM: its display name is the sender's name until the organisation sets one. */
  mailFrom: string;
  /** How long a read may be trusted; this instance forgets it at once when it makes a change. */
  cacheMs?: number;
}

/** The logo's version in its URL: a new logo is a new address, so caches may keep the old one forever. */
function logoVersion(row: Pick<SettingsRow, 'updatedAt'>): string {
  return row.updatedAt.getTime().toString(36);
}

export function brandingOf(row: SettingsRow | undefined, publicBaseUrl: string, mailFrom: string): Branding {
  const configuredSender = mailDisplayName(mailFrom);
  if (!row) return { ...DEFAULT_BRANDING, mailFromName: configuredSender };
  return {
    name: row.name ?? DEFAULT_BRANDING.name,
    website: row.website,
    accentColor: row.accentColor ?? DEFAULT_BRANDING.accentColor,
    mailFromName: row.mailFromName ?? row.name ?? configuredSender,
    footer: row.footer,
    privacyUrl: row.privacyUrl,
    logoUrl: row.logoType ? `${publicBaseUrl}${LOGO_PATH}?v=${logoVersion(row)}` : null,
  };
}

// ---------------------------------------------------------------------------------------------
// The rules of each field.

const HEX_COLOR = /^#[0-9a-f]{6}$/i;

/** WCAG 2 relative luminance of an `#rrggbb` colour. */
function relativeLuminance(hex: string): number {
  const channel = (offset: number) => {
    const value = parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** The WCAG contrast ratio of an `#rrggbb` colour against white (1 to 21). */
export function contrastWithWhite(hex: string): number {
  return 1.05 / (relativeLuminance(hex) + 0.05);
}

/** "4.47:1", rounded down, so a colour just short of the minimum never reads as meeting it. */
function ratioText(ratio: number): string {
  return `${(Math.floor(ratio * 100) / 100).toFixed(2)}:1`;
}

/** Control characters; a line break is one too. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Control characters other than a line break or a tab, for the footer's plain text. */
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

function checkUrl(value: string): string | null {
  if (value.length > BRANDING_LIMITS.urlMaxLength) return `must be at most ${BRANDING_LIMITS.urlMaxLength} characters`;
  const wrong = 'must be a web address starting with https:// or http://, like https://example.org';
  if (/\s/.test(value) || CONTROL.test(value)) return wrong;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return wrong;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname) return wrong;
  if (url.username || url.password) return 'must not hold a user name or password';
  return null;
}

/** One field's value as stored (trimmed; null to clear), or what is wrong with it. */
function checkField(field: BrandingField, raw: string | null): { value: string | null } | { error: string } {
  if (raw === null) return { value: null };
  if (typeof raw !== 'string') return { error: 'must be a text or null' };
  switch (field) {
    case 'name': {
      const value = raw.normalize('NFC').trim();
      if (value.length === 0) return { error: 'is required (send null to use the default)' };
      if (value.length > BRANDING_LIMITS.nameMaxLength) return { error: `must be at most ${BRANDING_LIMITS.nameMaxLength} characters` };
      if (CONTROL.test(value)) return { error: 'must be one line of text' };
      return { value };
    }
    case 'mailFromName': {
      const value = raw.normalize('NFC').trim();
      if (value.length === 0) return { error: 'is required (send null to use the name)' };
      if (value.length > BRANDING_LIMITS.mailFromNameMaxLength) return { error: `must be at most ${BRANDING_LIMITS.mailFromNameMaxLength} characters` };
      // It becomes the display name of the From header: a line break would start a header of its own.
      if (CONTROL.test(value)) return { error: 'must be one line of text' };
      if (/[<>"]/.test(value)) return { error: 'must not contain <, > or "' };
      return { value };
    }
    case 'website':
    case 'privacyUrl': {
      const value = raw.trim();
      const error = checkUrl(value);
      return error ? { error } : { value };
    }
    case 'accentColor': {
      const value = raw.trim().toLowerCase();
      if (!HEX_COLOR.test(value)) return { error: 'must be a colour written #rrggbb, like #16325c' };
      const ratio = contrastWithWhite(value);
      if (ratio < BRANDING_LIMITS.minContrast) {
        return {
          error: `${value} has a contrast of ${ratioText(ratio)} against white; it needs at least ${BRANDING_LIMITS.minContrast}:1 so that white text on it stays readable: choose a darker colour`,
        };
      }
      return { value };
    }
    case 'footer': {
      const value = raw.normalize('NFC').replace(/\r\n?/g, '\n').trim();
      if (value.length > BRANDING_LIMITS.footerMaxLength) return { error: `must be at most ${BRANDING_LIMITS.footerMaxLength} characters` };
      if (CONTROL_BUT_LINES.test(value)) return { error: 'must be plain text' };
      return { value: value.length === 0 ? null : value };
    }
  }
}

/**
 * The patch as it would be stored, or every field error at once (paths `/name`, `/accentColor`
 * ...): the console shows them all at their fields, the API in one 400.
 */
export function checkBrandingPatch(patch: BrandingPatch): { values: BrandingPatch; errors: FieldError[] } {
  const values: BrandingPatch = {};
  const errors: FieldError[] = [];
  for (const [field, raw] of Object.entries(patch) as Array<[string, string | null | undefined]>) {
    if (raw === undefined) continue;
    if (!(BRANDING_FIELDS as readonly string[]).includes(field)) {
      errors.push({ path: `/${field}`, message: 'is not a branding setting' });
      continue;
    }
    const checked = checkField(field as BrandingField, raw);
    if ('error' in checked) errors.push({ path: `/${field}`, message: checked.error });
    else values[field as BrandingField] = checked.value;
  }
  return { values, errors };
}

function invalidSettings(errors: FieldError[]): BadRequestError {
  const detail = errors.length === 1 ? `${errors[0]!.path.slice(1)} ${errors[0]!.message}` : 'The settings are not valid; see errors';
  return new BadRequestError(detail, errors);
}

/** What the first bytes say the file is: only PNG and JPEG are logos (no SVG: it can carry script). */
export function imageTypeOf(bytes: Buffer): LogoType | null {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  return null;
}

/** `image/png; charset=x` -> `image/png`; '' when absent. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * The logo's bytes accepted, or the 413/415 refusal: the declared type must be PNG or JPEG and
 * the bytes must be what it declares (an SVG declared as image/png is refused too).
 */
export function checkLogo(bytes: Buffer, contentType: string | undefined): LogoType {
  if (bytes.length > BRANDING_LIMITS.logoMaxBytes) {
    throw new DomainError(413, `The logo must be at most ${BRANDING_LIMITS.logoMaxBytes / 1024} KB (${BRANDING_LIMITS.logoMaxBytes} bytes); this one has ${bytes.length} bytes`);
  }
  const declared = mediaType(contentType);
  if (!(LOGO_TYPES as readonly string[]).includes(declared)) {
    throw new DomainError(415, `The logo must be a PNG or JPEG image (image/png or image/jpeg), not ${declared ? `"${declared}"` : 'a file of no declared type'}`);
  }
  const actual = imageTypeOf(bytes);
  if (actual !== declared) {
    throw new DomainError(415, `The file is declared as ${declared} but is ${actual ?? 'not a PNG or JPEG image'}; the logo must be a PNG or JPEG image`);
  }
  return actual;
}

function etagOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`;
}

export function createSettingsService({ db, publicBaseUrl, mailFrom, cacheMs = 1_000 }: SettingsServiceDeps) {
  // Every page and e-mail reads the branding; a second of caching spares the same read per request.
  const cache = cacheMs > 0 ? new LRUCache<'branding', Branding>({ max: 1, ttl: cacheMs }) : null;
  const logoCache = cacheMs > 0 ? new LRUCache<'logo', { value: StoredLogo | null }>({ max: 1, ttl: cacheMs }) : null;
  const forget = () => {
    cache?.clear();
    logoCache?.clear();
  };

  async function branding(): Promise<Branding> {
    const cached = cache?.get('branding');
    if (cached) return cached;
    const [row] = await db.select().from(settings).where(eq(settings.id, 1));
    const value = brandingOf(row, publicBaseUrl, mailFrom);
    cache?.set('branding', value);
    return value;
  }

  /**
   * Runs a change of row 1 (made first when missing, then locked) with its `settings.update`
   * audit entry naming the fields changed; `change` returns those fields and the new values.
   */
  async function change(actor: AuditActor | null, decide: (current: SettingsRow) => { fields: string[]; set: Partial<SettingsRow> }): Promise<void> {
    await db.transaction(async (tx) => {
      await tx.insert(settings).values({ id: 1 }).onConflictDoNothing();
      const [current] = await tx.select().from(settings).where(eq(settings.id, 1)).for('update');
      const { fields, set } = decide(current!);
      if (fields.length === 0) return;
      await tx.update(settings).set({ ...set, updatedAt: sql`now()` }).where(eq(settings.id, 1));
      await recordAudit(tx, { actor, action: 'settings.update', subjectType: 'settings', details: { fields } });
    });
    forget();
  }

  /** PATCH /api/v1/settings: any subset of the fields, all checked first (400 with every error, nothing saved). */
  async function update(patch: BrandingPatch, actor: AuditActor | null): Promise<Branding> {
    const { values, errors } = checkBrandingPatch(patch);
    if (errors.length > 0) throw invalidSettings(errors);
    await change(actor, (current) => {
      const fields = BRANDING_FIELDS.filter((field) => field in values && current[field] !== values[field]);
      return { fields, set: Object.fromEntries(fields.map((field) => [field, values[field]])) };
    });
    return branding();
  }

  /** PUT /api/v1/settings/logo: a PNG or JPEG up to 200 KB (checkLogo's 413 and 415 otherwise). */
  async function putLogo(bytes: Buffer, contentType: string | undefined, actor: AuditActor | null): Promise<Branding> {
    const type = checkLogo(bytes, contentType);
    await change(actor, () => ({ fields: ['logo'], set: { logo: bytes, logoType: type } }));
    return branding();
  }

  /** DELETE /api/v1/settings/logo: no logo any more (nothing happens, and nothing is audited, when there was none). */
  async function removeLogo(actor: AuditActor | null): Promise<Branding> {
    await change(actor, (current) => (current.logoType ? { fields: ['logo'], set: { logo: null, logoType: null } } : { fields: [], set: {} }));
    return branding();
  }

  /** The logo to serve at /assets/logo, or null. */
  async function logo(): Promise<StoredLogo | null> {
    const cached = logoCache?.get('logo');
    if (cached) return cached.value;
    const [row] = await db
      .select({ logo: settings.logo, logoType: settings.logoType, updatedAt: settings.updatedAt })
      .from(settings)
      .where(eq(settings.id, 1));
    const value: StoredLogo | null =
      row?.logo && row.logoType
        ? { bytes: row.logo, contentType: row.logoType as LogoType, etag: etagOf(row.logo), version: logoVersion(row) }
        : null;
    logoCache?.set('logo', { value });
    return value;
  }

  return { branding, update, putLogo, removeLogo, logo, forget };
}

export type SettingsService = ReturnType<typeof createSettingsService>;
