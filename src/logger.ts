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
        'jwtSecret',
        '*.jwtSecret',
        'config.jwtSecret',
        'config.adminPassword',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req(request: { method: string; url: string; id?: string; ip?: string }) {
        return { method: request.method, path: loggablePath(request.url), id: request.id };
      },
    },
  };
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino(loggerOptions(config));
}
