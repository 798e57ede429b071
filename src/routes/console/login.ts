import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TooManyRequestsError, UnauthorizedError } from '../../errors.js';
import type { LoginThrottle } from '../../plugins/login-throttle.js';
import type { ConsoleSessions } from '../../services/console-sessions.js';
import type { OrganizersService } from '../../services/organizers.service.js';
import { errorSummary, field, formText, redirect303, renderConsoleTemplate, sendConsolePage, type ConsoleFieldView } from './layout.js';
import { safeNext, type ConsoleCookie } from './session.js';

/** Notices the login page shows after a redirect (`?m=`): a fixed set, never text from the address. */
const NOTICES: Record<string, string> = {
  'signed-out': 'You have signed out.',
  ended: 'Your console session has ended. Please sign in again.',
  password: 'Your password has been changed, and every session and API token of your account has ended. Sign in with the new password.',
};

/** The API's limits (POST /api/v1/auth/login), so a post the API would refuse is refused here too. */
const EMAIL_MAX = 254;
const PASSWORD_MAX = 1024;

export interface LoginRoutesOptions {
  organizers: OrganizersService;
  sessions: ConsoleSessions;
  throttle: LoginThrottle;
  cookie: ConsoleCookie;
}

function loginFields(email: string): ConsoleFieldView[] {
  return [
    field({ name: 'email', label: 'E-mail', kind: 'email', value: email, required: true, autocomplete: 'username', maxlength: EMAIL_MAX }),
    field({ name: 'password', label: 'Password', kind: 'password', required: true, autocomplete: 'current-password', maxlength: PASSWORD_MAX }),
  ];
}

function sendLogin(
  request: FastifyRequest,
  reply: FastifyReply,
  { fields, formErrors = [], next, notice = null, status = 200 }: { fields: ConsoleFieldView[]; formErrors?: string[]; next: string | null; notice?: string | null; status?: number },
): FastifyReply {
  const bodyHtml = renderConsoleTemplate('@console-login', { fields, errors: errorSummary(fields, formErrors), next, notice });
  return sendConsolePage(request, reply, { title: 'Sign in', bodyHtml, status });
}

/**
 * Sign-in and sign-out. The login post is throttled exactly as `POST /api/v1/auth/login` (the
 * same per-address limit and per-e-mail lockout, counted in the same Redis keys), checks the
 * password through the same `authenticate`, and answers a wrong password, an unknown e-mail and
 * a disabled account with the same page.
 */
export async function loginRoutes(app: FastifyInstance, { organizers, sessions, throttle, cookie }: LoginRoutesOptions): Promise<void> {
  app.get('/login', { config: { consolePublic: true }, schema: { hide: true } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const next = safeNext(query.next);
    if (request.consoleSession) return redirect303(reply, next ?? '/console');
    const notice = typeof query.m === 'string' ? (NOTICES[query.m] ?? null) : null;
    const fields = loginFields('');
    fields[0]!.autofocus = true;
    return sendLogin(request, reply, { fields, next, notice });
  });

  app.post('/login', { config: { consolePublic: true }, onRequest: throttle.perIp, schema: { hide: true } }, async (request, reply) => {
    const email = formText(request.body, 'email').trim();
    const password = formText(request.body, 'password');
    const next = safeNext(formText(request.body, 'next'));
    const fields = loginFields(email);
    const [emailField, passwordField] = fields as [ConsoleFieldView, ConsoleFieldView];
    if (email === '') emailField.error = 'Enter your e-mail address';
    else if (email.length > EMAIL_MAX) emailField.error = `E-mail must be at most ${EMAIL_MAX} characters`;
    if (password === '') passwordField.error = 'Enter your password';
    else if (password.length > PASSWORD_MAX) passwordField.error = `Password must be at most ${PASSWORD_MAX} characters`;
    if (emailField.error || passwordField.error) return sendLogin(request, reply, { fields, next, status: 400 });

    let organizer;
    try {
      organizer = await throttle.guard(email, () => organizers.authenticate(email, password));
    } catch (error) {
      if (error instanceof UnauthorizedError) {
        passwordField.autofocus = true;
        return sendLogin(request, reply, { fields, formErrors: ['Wrong e-mail or password'], next, status: 401 });
      }
      if (error instanceof TooManyRequestsError) {
        if (error.headers) reply.headers(error.headers);
        return sendLogin(request, reply, { fields, formErrors: [error.detail], next, status: 429 });
      }
      throw error;
    }
    // A new id at every sign-in; a session this browser held before ends.
    if (request.consoleSession) await sessions.end(request.consoleSession.id);
    const { cookieValue } = await sessions.create(organizer);
    reply.setCookie(cookie.name, cookieValue, cookie.options);
    return redirect303(reply, next ?? '/console');
  });

  app.post('/logout', { schema: { hide: true } }, async (request, reply) => {
    await sessions.end(request.consoleSession!.id);
    reply.clearCookie(cookie.name, { path: '/' });
    return redirect303(reply, '/console/login?m=signed-out');
  });
}
