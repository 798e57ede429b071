import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { isConnectionError, isUnstorableText } from '../../db/errors.js';
import { DomainError, problem, type FieldError } from '../errors.js';

export interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** How a kind of schema error is put to the reader: the API says "property", a web form "field". */
export interface IssueWording {
  unknown: string;
  type: (issue: AjvIssue) => string;
}

const API_WORDING: IssueWording = {
  unknown: 'is not an allowed property',
  type: (issue) => issue.message ?? 'has the wrong type',
};

/** Ajv's errors as field errors (path, message), one per field and message. */
export function fieldErrors(issues: AjvIssue[], context: string | undefined, wording: IssueWording = API_WORDING): FieldError[] {
  const prefix = context && context !== 'body' ? `/${context}` : '';
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  for (const issue of issues) {
    // anyOf/oneOf add a summary line on top of their branches' own errors.
    if (issue.keyword === 'anyOf' || issue.keyword === 'oneOf' || issue.keyword === 'if') continue;
    let path = issue.instancePath;
    let message = issue.message ?? 'is not valid';
    if (issue.keyword === 'required') {
      path += `/${String(issue.params.missingProperty)}`;
      message = 'is required';
    } else if (issue.keyword === 'additionalProperties') {
      path += `/${String(issue.params.additionalProperty)}`;
      message = wording.unknown;
    } else if (issue.keyword === 'minLength') {
      message = issue.params.limit === 1 ? 'is required' : `must be at least ${String(issue.params.limit)} characters`;
    } else if (issue.keyword === 'maxLength') {
      message = `must be at most ${String(issue.params.limit)} characters`;
    } else if (issue.keyword === 'type') {
      message = wording.type(issue);
    } else if (issue.keyword === 'format' && issue.params.format === 'date-time') {
      message = 'must be a date-time with a UTC offset or Z, like 2026-12-04T20:00:00Z';
    }
    const key = `${prefix}${path}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    errors.push({ path: `${prefix}${path}` || '/', message });
  }
  return errors;
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  detail: string,
  errors?: FieldError[],
  headers?: Record<string, string>,
): FastifyReply {
  if (headers) reply.headers(headers);
  return reply.code(status).type('application/problem+json; charset=utf-8').send(problem(status, detail, errors));
}

/** The one place where errors become HTTP answers. Only 4xx answers say what went wrong. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof DomainError) {
      if (error.status >= 500) request.log.warn({ err: error }, 'service unavailable');
      return sendProblem(reply, error.status, error.detail, error.errors, error.headers);
    }
    if (error.validation) {
      const errors = fieldErrors(error.validation as AjvIssue[], error.validationContext);
      const where = error.validationContext === 'body' ? 'request body' : (error.validationContext ?? 'request');
      return sendProblem(reply, 400, `The ${where} is not valid`, errors);
    }
    const status = error.statusCode ?? 500;
    if (status === 401 || error.code?.startsWith('FST_JWT_')) {
      return sendProblem(reply, 401, 'A valid bearer token is required', undefined, { 'WWW-Authenticate': 'Bearer' });
    }
    if (status >= 400 && status < 500) {
      const detail =
        error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'The request body is too large'
          : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? `Unsupported content type "${request.headers['content-type'] ?? ''}"; send application/json`
            : error.message;
      const headers = status === 429 && reply.getHeader('retry-after') === undefined ? { 'Retry-After': '60' } : undefined;
      return sendProblem(reply, status, detail, undefined, headers);
    }
    if (isUnstorableText(error)) {
      return sendProblem(reply, 400, 'The request contains a character that cannot be stored (NUL)');
    }
    if (isConnectionError(error)) {
      request.log.error({ err: error }, 'database unavailable');
      return sendProblem(reply, 503, 'The service is temporarily unavailable; try again shortly', undefined, { 'Retry-After': '5' });
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, 500, 'Something went wrong on our side; the error has been logged');
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, `No route for ${request.method} ${request.url.split('?')[0]}`),
  );
}
