import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Webhook secrets and signatures per the Standard Webhooks specification
 * (https://www.standardwebhooks.com/): a secret is `whsec_` and base64 of random bytes; each
 * delivery carries `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`,
 * a space-separated list of `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per
 * secret in force, so a receiver holding either the new or the old secret during a rotation
 * accepts the delivery.
 *
 * The signing secret must be readable again (unlike an API key, which is only compared), so
 * it is stored encrypted under a key derived from the server's token secret.
 */

const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

export interface SignatureInput {
  /** The event's id: the same on every attempt, so receivers can drop duplicates. */
  id: string;
  /** When this attempt is sent; receivers reject timestamps far from their clock. */
  timestamp: Date;
  /** The exact bytes that are posted. */
  body: string;
  /** The current secret first, then the previous one while a rotation is in its grace period. */
  secrets: readonly string[];
}

// A type rather than an interface, so that it passes where headers (Record<string, string>) are expected.
export type SignatureHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export function signatureHeaders({ id, timestamp, body, secrets }: SignatureInput): SignatureHeaders {
  if (secrets.length === 0) throw new Error('a webhook needs at least one secret to be signed');
  const seconds = String(Math.floor(timestamp.getTime() / 1000));
  const signedContent = `${id}.${seconds}.${body}`;
  const signatures = secrets.map((secret) => `v1,${createHmac('sha256', secretKeyBytes(secret)).update(signedContent).digest('base64')}`);
  return { 'webhook-id': id, 'webhook-timestamp': seconds, 'webhook-signature': signatures.join(' ') };
}

/** The HMAC key a secret stands for: the bytes after `whsec_`, base64-decoded. */
function secretKeyBytes(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length === 0) throw new Error('a webhook secret must not be empty');
  return key;
}

const CIPHER = 'aes-256-gcm';
const ENCRYPTION_VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The 32-byte key that webhook secrets are encrypted under, derived so that it reveals nothing of the token secret. */
export function secretsKey(tokenSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', tokenSecret, 'convene', 'convene webhook secrets', 32));
}

/** `v1.<iv>.<tag>.<ciphertext>`, each part base64url; a fresh IV every time. */
export function encryptSecret(secret: string, key: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv);
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [ENCRYPTION_VERSION, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
}

/** The secret back; throws when the text was altered or encrypted under another key. */
export function decryptSecret(ciphertext: string, key: Buffer): string {
  const parts = ciphertext.split('.');
  if (parts.length !== 4 || parts[0] !== ENCRYPTION_VERSION) throw new Error('not an encrypted webhook secret');
  const iv = Buffer.from(parts[1] ?? '', 'base64url');
  const tag = Buffer.from(parts[2] ?? '', 'base64url');
  const data = Buffer.from(parts[3] ?? '', 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('not an encrypted webhook secret');
  const decipher = createDecipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    // GCM's own message ("Unsupported state or unable to authenticate data") says little.
    throw new Error('the webhook secret could not be decrypted: altered, or encrypted under another key');
  }
}
