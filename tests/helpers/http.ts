import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}

/** Asserts an RFC 9457 answer with this status and returns its body. */
export function expectProblem(t: Test, res: LightMyRequestResponse, status: number, label = ''): ProblemBody {
  const where = label ? ` (${label})` : '';
  t.equal(res.statusCode, status, `status ${status}${where}`);
  t.match(String(res.headers['content-type']), /^application\/problem\+json/, `problem content type${where}`);
  const body = res.json<ProblemBody>();
  t.equal(body.status, status, `problem.status${where}`);
  t.equal(typeof body.type, 'string', `problem.type${where}`);
  t.equal(typeof body.title, 'string', `problem.title${where}`);
  t.equal(typeof body.detail, 'string', `problem.detail${where}`);
  return body;
}

/** The paths named in a problem's `errors`. */
export function errorPaths(body: ProblemBody): string[] {
  return (body.errors ?? []).map((error) => error.path);
}
