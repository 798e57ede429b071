import { BadRequestError } from '../errors.js';

/**
 * The keyset cursor of a list ordered by (a timestamp, an id): opaque to clients (base64url of
 * `["<ISO instant>", "<uuid>"]`), and checked in full when it comes back, since a client may send
 * anything: a date that JavaScript parses but Postgres refuses, or an "id" that is no uuid,
 * would otherwise fail in the statement as a 500.
 */

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What Date#toISOString writes for the years 0000 to 9999, all of which Postgres stores. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface KeysetPosition {
  at: Date;
  id: string;
}

export function encodeKeysetCursor({ at, id }: KeysetPosition): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

function parse(cursor: string): KeysetPosition | null {
  if (!BASE64URL.test(cursor)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [at, id] = value as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || !ISO_INSTANT.test(at) || !UUID.test(id)) return null;
  const date = new Date(at);
  // Rejects calendar nonsense the pattern lets through (2026-02-31, 25:00).
  if (Number.isNaN(date.getTime()) || date.toISOString() !== at) return null;
  return { at: date, id: id.toLowerCase() };
}

/** The position a cursor from a previous page points at; 400 for anything else. */
export function decodeKeysetCursor(cursor: string): KeysetPosition {
  const position = parse(cursor);
  if (!position) {
    throw new BadRequestError('The cursor is not valid', [{ path: '/query/cursor', message: 'is not a cursor from a previous page' }]);
  }
  return position;
}
