import { BadRequestError } from '../errors.js';
import { isUuid } from '../ids.js';

/**
 * Keyset cursors: opaque to clients, and checked in full when they come back, since a client
 * may send anything: a date that JavaScript parses but Postgres refuses, an "id" that is no
 * uuid, or a NUL in a name would otherwise fail in the statement as a 500.
 *
 * Two orders, one module:
 * - by time (a timestamp, then an id): base64url of `["<ISO instant>", "<uuid>"]` (the format
 *   every list has used from the start, so cursors handed out before stay valid);
 * - by name (`lower(name)`, then an id): base64url of `["name", "<lowered name>", "<uuid>"]`.
 *   The lowered name is the one Postgres computed (its `lower` and JavaScript's disagree on
 *   some letters), so the next page starts exactly after the row.
 * A cursor of one order given to a list read in the other is refused like any bad cursor: its
 * position means nothing there.
 */

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** What Date#toISOString writes for the years 0000 to 9999, all of which Postgres stores. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** The tag that marks a name cursor (a time cursor starts with its instant). */
const NAME_TAG = 'name';
/**
 * Names are at most 200 characters (the API's and the console's limit); the bound is looser so
 * a longer name stored by other means still pages, and tight enough to keep junk out of SQL.
 */
const NAME_KEY_MAX = 1000;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A position in a list ordered by (a timestamp, an id). */
export interface KeysetPosition {
  at: Date;
  id: string;
}

/** A position in a list ordered by (lower(name), id): `name` is the lowered name. */
export interface NameKeysetPosition {
  name: string;
  id: string;
}

type AnyPosition = ({ order: 'time' } & KeysetPosition) | ({ order: 'name' } & NameKeysetPosition);

export function encodeKeysetCursor({ at, id }: KeysetPosition): string {
  return encode([at.toISOString(), id]);
}

export function encodeNameKeysetCursor({ name, id }: NameKeysetPosition): string {
  return encode([NAME_TAG, name, id]);
}

function encode(value: string[]): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function parse(cursor: string): AnyPosition | null {
  if (!BASE64URL.test(cursor)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(value)) return null;
  if (value.length === 2) {
    const [at, id] = value as unknown[];
    if (typeof at !== 'string' || typeof id !== 'string' || !ISO_INSTANT.test(at) || !isUuid(id)) return null;
    const date = new Date(at);
    // Rejects calendar nonsense the pattern lets through (2026-02-31, 25:00).
    if (Number.isNaN(date.getTime()) || date.toISOString() !== at) return null;
    return { order: 'time', at: date, id: id.toLowerCase() };
  }
  if (value.length === 3) {
    const [tag, name, id] = value as unknown[];
    if (tag !== NAME_TAG || typeof name !== 'string' || typeof id !== 'string' || !isUuid(id)) return null;
    // Postgres text holds no NUL and no lone surrogate (JSON may spell both).
    if (name.length > NAME_KEY_MAX || name.includes('\u0000') || LONE_SURROGATE.test(name)) return null;
    return { order: 'name', name, id: id.toLowerCase() };
  }
  return null;
}

function badCursor(message: string): BadRequestError {
  return new BadRequestError('The cursor is not valid', [{ path: '/query/cursor', message }]);
}

function decode<Order extends AnyPosition['order']>(cursor: string, order: Order): Extract<AnyPosition, { order: Order }> {
  const position = parse(cursor);
  if (!position) throw badCursor('is not a cursor from a previous page');
  if (position.order !== order) throw badCursor('is a cursor of another sort order: start again from the first page');
  return position as Extract<AnyPosition, { order: Order }>;
}

/** The position a time cursor from a previous page points at; 400 for anything else. */
export function decodeKeysetCursor(cursor: string): KeysetPosition {
  const { at, id } = decode(cursor, 'time');
  return { at, id };
}

/** The position a name cursor from a previous page points at; 400 for anything else (a time cursor too). */
export function decodeNameKeysetCursor(cursor: string): NameKeysetPosition {
  const { name, id } = decode(cursor, 'name');
  return { name, id };
}
