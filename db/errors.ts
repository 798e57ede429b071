/** drizzle wraps driver errors (DrizzleQueryError); the Postgres error is its cause. */
function pgError(error: unknown): { code?: string; constraint?: string } {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return ((cause ?? error) as { code?: string; constraint?: string } | null) ?? {};
}

/** The error and the errors it wraps (drizzle's around pg's, ours around either), outermost first. */
function* errorChain(error: unknown): Generator<{ code?: unknown; message?: unknown }> {
  let current = error;
  for (let depth = 0; current !== null && typeof current === 'object' && depth < 5; depth++) {
    yield current as { code?: unknown; message?: unknown };
    current = (current as { cause?: unknown }).cause;
  }
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const { code, constraint: name } = pgError(error);
  return code === '23505' && (constraint === undefined || name === constraint);
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57014', // query_canceled: statement_timeout under load
  '57P01', // admin_shutdown, also pg_terminate_backend
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/**
 * node-postgres reports pool and connection failures as plain Errors without a code; drizzle's
 * wrapper then hides them behind "Failed query: ...", hence the walk down the causes.
 */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end|connection is closed/i;

/**
 * The database is down, unreachable, restarting, overloaded or dropped the connection, or the
 * pool had no connection to give in time: the request may succeed later (503), it is not a bug.
 */
export function isConnectionError(error: unknown): boolean {
  for (const link of errorChain(error)) {
    const { code, message } = link;
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08') || code.startsWith('53'))) return true;
    // drizzle's message quotes the statement's parameters, which a client chose.
    if (typeof message === 'string' && !message.startsWith('Failed query:') && UNAVAILABLE_MESSAGES.test(message)) return true;
  }
  return false;
}

/** Text Postgres refuses to store (a NUL character): the client's input, not our failure. */
export function isUnstorableText(error: unknown): boolean {
  const { code } = pgError(error);
  return code === '22021' || code === '22P05';
}
