import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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

/** An error as the handler sorted it: the answer's status and words, whatever its format. */
export interface Failure {
  status: number;
  /** What went wrong (a 5xx says only that it did). */
  detail: string;
  errors?: FieldError[];
  /** The words come from a domain error (src/errors.ts), written for the person asking. */
  fromDomain: boolean;
}

/** An HTML page for a failure, for routes that answer with pages (their route config names it). */
export type ErrorPage = (request: FastifyRequest, reply: FastifyReply, failure: Failure) => FastifyReply | Promise<FastifyReply>;

declare module 'fastify' {
  interface FastifyContextConfig {
    errorPage?: ErrorPage;
  }
}

/** Sorts an error into its answer; logs what is ours to fix, and sets the headers it calls for. */
function failureOf(error: FastifyError, request: FastifyRequest, reply: FastifyReply): Failure {
  if (error instanceof DomainError) {
    if (error.status >= 500) request.log.warn({ err: error }, 'service unavailable');
    if (error.headers) reply.headers(error.headers);
    return { status: error.status, detail: error.detail, errors: error.errors, fromDomain: true };
  }
  if (error.validation) {
    const errors = fieldErrors(error.validation as AjvIssue[], error.validationContext);
    const where = error.validationContext === 'body' ? 'request body' : (error.validationContext ?? 'request');
    return { status: 400, detail: `The ${where} is not valid`, errors, fromDomain: false };
  }
  const status = error.statusCode ?? 500;
  if (status === 401 || error.code?.startsWith('FST_JWT_')) {
    reply.header('WWW-Authenticate', 'Bearer');
    return { status: 401, detail: 'A valid bearer token is required', fromDomain: false };
  }
  if (status >= 400 && status < 500) {
    const detail =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'The request body is too large'
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? `Unsupported content type "${request.headers['content-type'] ?? ''}"; send application/json`
          : error.message;
    if (status === 429 && reply.getHeader('retry-after') === undefined) reply.header('Retry-After', '60');
    return { status, detail, fromDomain: false };
  }
  if (isUnstorableText(error)) {
    return { status: 400, detail: 'The request contains a character that cannot be stored (NUL)', fromDomain: false };
  }
  if (isConnectionError(error)) {
    request.log.error({ err: error }, 'database unavailable');
    reply.header('Retry-After', '5');
    return { status: 503, detail: 'The service is temporarily unavailable; try again shortly', fromDomain: false };
  }
  request.log.error({ err: error }, 'request failed');
  return { status: 500, detail: 'Something went wrong on our side; the error has been logged', fromDomain: false };
}

export interface ErrorHandlingOptions {
  /** The page for an unknown address that people open (the public pages' 404); without it, problem details. */
  notFoundPage?: ErrorPage;
}

/** Unknown addresses here are read by programs, and answer problem details: the API, feeds, probes, the API document, assets. */
const MACHINE_PATHS = /^\/(?:api|feeds|assets|healthz|readyz|metrics|openapi\.json|docs)(?:[/?.]|$)/;

/**
 * The one place where errors become HTTP answers: problem details, or an HTML page for routes
 * whose config names an `errorPage` (the public pages). Only 4xx answers say what went wrong.
 * An unknown address is a page too, outside the machine paths (JSON only where programs read).
 */
export function registerErrorHandling(app: FastifyInstance, { notFoundPage }: ErrorHandlingOptions = {}): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const failure = failureOf(error, request, reply);
    const errorPage = request.routeOptions.config.errorPage;
    if (errorPage) return errorPage(request, reply, failure);
    return sendProblem(reply, failure.status, failure.detail, failure.errors);
  });

  app.setNotFoundHandler((request, reply) => {
    const detail = `No route for ${request.method} ${request.url.split('?')[0]}`;
    if (notFoundPage && !MACHINE_PATHS.test(request.url)) return notFoundPage(request, reply, { status: 404, detail, fromDomain: false });
    return sendProblem(reply, 404, detail);
  });
}
