/**
 * Domain errors thrown by services. The HTTP layer maps every one of them, and every other
 * error, to RFC 9457 problem details in a single place (src/plugins/errors.ts).
 */

export interface FieldError {
  /** JSON pointer-ish path of the offending field, e.g. `/capacity` or `/answers/city`. */
  path: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

export const PROBLEM_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

export class BadRequestError extends DomainError {
  constructor(detail: string, errors?: FieldError[]) {
    super(400, detail, errors);
  }
}

/** One invalid field: the usual shape of a rule that the JSON schema cannot express. */
export function invalidField(path: string, message: string): BadRequestError {
  return new BadRequestError(message, [{ path, message }]);
}

export class UnauthorizedError extends DomainError {
  constructor(detail = 'Authentication is required') {
    super(401, detail, undefined, { 'WWW-Authenticate': 'Bearer' });
  }
}

export class ForbiddenError extends DomainError {
  constructor(detail = 'You are not allowed to do this') {
    super(403, detail);
  }
}

export class NotFoundError extends DomainError {
  constructor(detail = 'Not found') {
    super(404, detail);
  }
}

export class ConflictError extends DomainError {
  constructor(detail: string) {
    super(409, detail);
  }
}

export class IdempotencyMismatchError extends DomainError {
  constructor(detail = 'This Idempotency-Key was used with a different request') {
    super(422, detail);
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(retryAfterSeconds: number, detail = 'Too many requests; try again later') {
    super(429, detail, undefined, { 'Retry-After': String(retryAfterSeconds) });
  }
}

export class ServiceUnavailableError extends DomainError {
  constructor(detail = 'The service is temporarily unavailable') {
    super(503, detail, undefined, { 'Retry-After': '5' });
  }
}

export function problem(status: number, detail: string, errors?: FieldError[]): Problem {
  const title = PROBLEM_TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
  const body: Problem = {
    type: 'about:blank',
    title,
    status,
    detail,
  };
  if (errors && errors.length > 0) body.errors = errors;
  return body;
}
