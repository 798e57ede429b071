import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config.js';

/** Paths whose last segment is a secret token (manage, feed, join): logged as `[token]`. */
const TOKEN_PATHS = [
  /^(\/api\/v1\/registrations\/)[^/?]+/,
  /^(\/feeds\/attendees\/)[^/?.]+/,
  /^(\/j\/)[^/?]+/,
  /^(\/m\/)[^/?]+/,
];

/**
 * The path of a request fit for a log line: secret tokens masked and the query string dropped
 * (it may hold an e-mail address being searched for).
 */
export function loggablePath(url: string): string {
  const path = url.split('?')[0] ?? '';
  for (const pattern of TOKEN_PATHS) {
    if (pattern.test(path)) return path.replace(pattern, '$1[token]');
  }
  return path;
}

/**
 * Anything shaped like an e-mail address (a domain with a dot and a letter TLD, so an IP address
 * in a URL is left alone); stops at JSON quotes and escapes, so a log line stays JSON.
 */
const EMAIL_ADDRESS = /[^\s"'\\<>()[\]{},;:@]+@(?:[^\s"'\\<>()[\]{},;:@.]+\.)+[A-Za-z]{2,}\b/g;

export function withoutAddresses(text: string): string {
  return text.replace(EMAIL_ADDRESS, '[address]');
}

/**
 * "insert registrations", "select sessions": what a failed statement was, from its text, which
 * drizzle parameterises, so it never carries a value.
 */
export function statementLabel(query: string): string {
  const verb = /^\s*\(?\s*(\w+)/.exec(query)?.[1]?.toLowerCase() ?? 'statement';
  const table = /\b(?:from|into|update)\s+"?([\w.]+)"?/i.exec(query)?.[1];
  return table ? `${verb} ${table}` : verb;
}

export interface LoggedError {
  type?: string;
  message?: string;
  code?: string;
  statement?: string;
  constraint?: string;
  table?: string;
  column?: string;
  routine?: string;
  stack?: string;
  cause?: LoggedError;
}

type ErrorLike = Partial<Record<'name' | 'message' | 'code' | 'query' | 'constraint' | 'table' | 'column' | 'routine' | 'severity' | 'stack', unknown>> & {
  cause?: unknown;
};

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * An error as a log line may hold it. A Postgres error's message and detail quote values ("Key
 * (email)=(x@y) already exists", 'invalid input syntax for type uuid: "..."') and drizzle's
 * message lists the statement's parameters, so a database error is logged by its code and the
 * names of what failed; any other message with addresses masked; stacks without their first line
 * (the message again).
 */
export function serializeError(value: unknown, depth = 0): LoggedError | unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'string' ? withoutAddresses(value) : value;
  const error = value as ErrorLike;
  const logged: LoggedError = {};
  // DrizzleQueryError keeps the name "Error"; its class says more.
  const className = value instanceof Error && value.constructor.name !== 'Error' ? value.constructor.name : undefined;
  const name = className ?? text(error.name);
  if (name) logged.type = name;
  const query = text(error.query);
  const message = text(error.message);
  const fromPostgres = text(error.severity) !== undefined && text(error.code)?.length === 5;
  if (query !== undefined || message?.startsWith('Failed query:')) {
    logged.message = 'Failed query';
    logged.statement = statementLabel(query ?? message!.slice('Failed query:'.length));
  } else if (!fromPostgres && message !== undefined) {
    logged.message = withoutAddresses(message);
  }
  const code = text(error.code);
  if (code) logged.code = code;
  if (fromPostgres) {
    for (const key of ['constraint', 'table', 'column', 'routine'] as const) {
      const field = text(error[key]);
      if (field) logged[key] = field;
    }
  }
  const stack = text(error.stack);
  if (stack) {
    const frames = stack.split('\n').filter((line) => line.startsWith('    at '));
    if (frames.length > 0) logged.stack = withoutAddresses(frames.join('\n'));
  }
  if (error.cause !== undefined && depth < 3) {
    const cause = serializeError(error.cause, depth + 1) as LoggedError;
    // drizzle's wrapper and pg's error are one failure: one object, with the code on top.
    if (logged.statement !== undefined && logged.code === undefined && typeof cause === 'object' && cause !== null) {
      const { type: _type, message: causeMessage, stack: _stack, ...fields } = cause;
      Object.assign(logged, fields);
      if (causeMessage !== undefined) logged.message = `Failed query: ${causeMessage}`;
    } else {
      logged.cause = cause;
    }
  }
  return logged;
}

export function loggerOptions(config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'password',
        '*.password',
        'token',
        '*.token',
        'email',
        '*.email',
        'jwtSecret',
        '*.jwtSecret',
        'config.jwtSecret',
        'config.adminPassword',
        'config.metricsToken',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req(request: { method: string; url: string; id?: string; ip?: string }) {
        return { method: request.method, path: loggablePath(request.url), id: request.id };
      },
      err: serializeError,
    },
    // The last guard: an address that reached a line some other way (a message of a library, a
    // path) is masked before the line is written.
    hooks: { streamWrite: withoutAddresses },
  };
}

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(config), destination) : pino(loggerOptions(config));
}
