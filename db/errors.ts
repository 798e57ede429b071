/** drizzle wraps driver errors (DrizzleQueryError); the Postgres error is its cause. */
function pgError(error: unknown): { code?: string; constraint?: string } {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return ((cause ?? error) as { code?: string; constraint?: string } | null) ?? {};
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const { code, constraint: name } = pgError(error);
  return code === '23505' && (constraint === undefined || name === constraint);
}

/** Connection-level failures: the database is down or unreachable, not a bad query. */
export function isConnectionError(error: unknown): boolean {
  const { code } = pgError(error);
  const message = (error as Error | null)?.message ?? '';
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === '57P01' || // admin_shutdown
    code === '57P03' || // cannot_connect_now
    (typeof code === 'string' && code.startsWith('08')) || // connection_exception class
    /Connection terminated|timeout exceeded when trying to connect/i.test(message)
  );
}

/** Text Postgres refuses to store (a NUL character): the client's input, not our failure. */
export function isUnstorableText(error: unknown): boolean {
  const { code } = pgError(error);
  return code === '22021' || code === '22P05';
}
