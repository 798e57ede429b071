import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, TooManyRequestsError } from '../../errors.js';
import type { LoginThrottle } from '../../plugins/login-throttle.js';
import type { ConsoleSessions } from '../../services/console-sessions.js';
import {
  ORGANIZER_NAME_MAX_LENGTH,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  type Organizer,
  type OrganizersService,
} from '../../services/organizers.service.js';
import type { AccountData, ConsoleFlash } from '../../web/console/views.js';
import {
  consoleContext,
  errorSummary,
  field,
  focusFirstError,
  formText,
  redirect303,
  renderConsoleTemplate,
  sendConsolePage,
  type ConsoleFieldView,
} from './layout.js';
import type { ConsoleCookie } from './session.js';

export interface AccountRoutesOptions {
  organizers: OrganizersService;
  sessions: ConsoleSessions;
  throttle: LoginThrottle;
  cookie: ConsoleCookie;
}

function nameFields(name: string): ConsoleFieldView[] {
  return [field({ name: 'name', label: 'Name', kind: 'text', value: name, required: true, autocomplete: 'name', maxlength: ORGANIZER_NAME_MAX_LENGTH })];
}

function passwordFields(): ConsoleFieldView[] {
  return [
    field({ name: 'currentPassword', label: 'Current password', kind: 'password', required: true, autocomplete: 'current-password', maxlength: PASSWORD_MAX_LENGTH }),
    field({
      name: 'newPassword',
      label: 'New password',
      kind: 'password',
      required: true,
      autocomplete: 'new-password',
      maxlength: PASSWORD_MAX_LENGTH,
      hint: `At least ${PASSWORD_MIN_LENGTH} characters. A few unrelated words make a strong one.`,
    }),
    field({ name: 'repeatPassword', label: 'Repeat the new password', kind: 'password', required: true, autocomplete: 'new-password', maxlength: PASSWORD_MAX_LENGTH }),
  ];
}

interface AccountForms {
  name?: ConsoleFieldView[];
  password?: ConsoleFieldView[];
  passwordErrors?: string[];
  status?: number;
  flash?: ConsoleFlash | null;
}

function sendAccount(request: FastifyRequest, reply: FastifyReply, organizer: Organizer, csrf: string, forms: AccountForms = {}): FastifyReply {
  const name = forms.name ?? nameFields(organizer.name);
  const password = forms.password ?? passwordFields();
  const data: AccountData = {
    csrf,
    email: organizer.email,
    role: organizer.role === 'admin' ? 'Administrator' : 'Organizer',
    nameForm: { fields: name, errors: errorSummary(name) },
    passwordForm: { fields: password, errors: errorSummary(password, forms.passwordErrors) },
  };
  const bodyHtml = renderConsoleTemplate('@console-account', data);
  return sendConsolePage(request, reply, { title: 'Account', bodyHtml, section: 'account', status: forms.status, flash: forms.flash });
}

/**
 * `GET|POST /console/account`: the caller's name (the organizers service's update, as
 * `PATCH /api/v1/auth/me`) and password (its changePassword, throttled with the failed logins
 * as `POST /api/v1/auth/password`). A password change ends every console session and API token
 * of the account, this browser's included: the login page follows with a message.
 */
export async function accountRoutes(app: FastifyInstance, { organizers, sessions, throttle, cookie }: AccountRoutesOptions): Promise<void> {
  app.get('/account', { schema: { hide: true } }, async (request, reply) => {
    const { organizer, csrf } = consoleContext(request);
    const saved = (request.query as Record<string, unknown>).m === 'name-saved';
    return sendAccount(request, reply, organizer, csrf, { flash: saved ? { tone: 'good', text: 'Your name has been saved.' } : null });
  });

  app.post('/account', { schema: { hide: true } }, async (request, reply) => {
    const { organizer, csrf } = consoleContext(request);
    const change = formText(request.body, 'change');

    if (change === 'name') {
      const name = formText(request.body, 'name').trim();
      const fields = nameFields(name);
      if (name === '') fields[0]!.error = 'Enter your name';
      else if (name.length > ORGANIZER_NAME_MAX_LENGTH) fields[0]!.error = `Name must be at most ${ORGANIZER_NAME_MAX_LENGTH} characters`;
      if (fields[0]!.error) {
        focusFirstError(fields);
        return sendAccount(request, reply, organizer, csrf, { name: fields, status: 400 });
      }
      await organizers.update(organizer.id, { name }, organizer);
      return redirect303(reply, '/console/account?m=name-saved');
    }

    if (change === 'password') {
      const current = formText(request.body, 'currentPassword');
      const next = formText(request.body, 'newPassword');
      const repeat = formText(request.body, 'repeatPassword');
      const fields = passwordFields();
      const [currentField, newField, repeatField] = fields as [ConsoleFieldView, ConsoleFieldView, ConsoleFieldView];
      if (current === '') currentField.error = 'Enter your current password';
      else if (current.length > PASSWORD_MAX_LENGTH) currentField.error = `Current password must be at most ${PASSWORD_MAX_LENGTH} characters`;
      if (next.length < PASSWORD_MIN_LENGTH) newField.error = `New password must be at least ${PASSWORD_MIN_LENGTH} characters`;
      else if (next.length > PASSWORD_MAX_LENGTH) newField.error = `New password must be at most ${PASSWORD_MAX_LENGTH} characters`;
      if (!newField.error && repeat !== next) repeatField.error = 'Repeat the new password exactly as above';
      if (!currentField.error && !newField.error && !repeatField.error) {
        try {
          await throttle.guard(organizer.email, () => organizers.changePassword(organizer, current, next));
          await sessions.end(request.consoleSession!.id);
          reply.clearCookie(cookie.name, { path: '/' });
          return redirect303(reply, '/console/login?m=password');
        } catch (error) {
          if (error instanceof ForbiddenError) currentField.error = 'The current password is wrong';
          else if (error instanceof TooManyRequestsError) {
            if (error.headers) reply.headers(error.headers);
            focusFirstError(fields);
            return sendAccount(request, reply, organizer, csrf, { password: fields, passwordErrors: [error.detail], status: 429 });
          } else throw error;
        }
      }
      focusFirstError(fields);
      return sendAccount(request, reply, organizer, csrf, { password: fields, status: currentField.error === 'The current password is wrong' ? 403 : 400 });
    }

    return sendAccount(request, reply, organizer, csrf, { status: 400, flash: { tone: 'stop', text: 'Nothing was changed: the form was not understood.' } });
  });
}
