import { createHash, createHmac } from 'node:crypto';

export type TokenKind = 'manage' | 'join' | 'feed';

const TOKEN_BYTES = 24; // 192 bits, 32 URL-safe characters
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/**
 * Attendee tokens (manage, join, feed) are an HMAC of the owner's id and a version under a
 * server secret. The database keeps only their SHA-256, so a stolen table opens nothing, yet
 * the worker can put the link in an e-mail later without any token ever being stored or queued.
 * Raising the version revokes the old link.
 */
export function createTokens(secret: string) {
  function derive(kind: TokenKind, ownerId: string, version: number): string {
    return createHmac('sha256', secret).update(`${kind}:${ownerId}:${version}`).digest().subarray(0, TOKEN_BYTES).toString('base64url');
  }

  return {
    derive,
    hash: hashToken,
    /** The hash for a token from a URL, or null when it cannot be one of ours (no lookup needed). */
    lookupHash(token: string): string | null {
      return TOKEN_PATTERN.test(token) ? hashToken(token) : null;
    },
  };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export type Tokens = ReturnType<typeof createTokens>;
