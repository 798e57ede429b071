import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { LoginThrottle } from '../../plugins/login-throttle.js';
import { ORGANIZER_NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, type Organizer, type OrganizersService } from '../../services/organizers.service.js';
import { bearer, problems, StringEnum } from '../schemas.js';

const OrganizerSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  name: Type.String(),
  role: StringEnum(['admin', 'organizer'] as const),
  disabled: Type.Boolean({ description: 'A disabled organizer cannot log in and its tokens are refused.' }),
  createdAt: Type.String({ format: 'date-time' }),
});

const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
const NewPassword = Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH });
const Name = Type.String({ minLength: 1, maxLength: ORGANIZER_NAME_MAX_LENGTH });
const Role = StringEnum(['admin', 'organizer'] as const);

/** A new organizer account: the API's body, and the console's add form checked against it (src/routes/console/admin.ts). */
export const NewOrganizerBody = Type.Object({ email: Email, name: Name, password: NewPassword, role: Type.Optional(Role) }, { additionalProperties: false });

function present(organizer: Organizer) {
  return {
    id: organizer.id,
    email: organizer.email,
    name: organizer.name,
    role: organizer.role,
    disabled: organizer.disabledAt !== null,
    createdAt: organizer.createdAt.toISOString(),
  };
}

export interface AuthRoutesOptions {
  organizers: OrganizersService;
  throttle: LoginThrottle;
}

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, { organizers, throttle }) => {
  app.addHook('onRequest', app.organizerAnswer);

  app.post(
    '/auth/login',
    {
      onRequest: throttle.perIp,
      schema: {
        tags: ['auth'],
        summary: 'Log in as an organizer',
        description:
          'A wrong password, an unknown e-mail and a disabled account get the same 401. After too many failures for one e-mail ' +
          '(known or not) every login for it is 429 with Retry-After until the window ends; so is a client address sending too many logins. ' +
          'While too many logins wait for password checking, 503 with Retry-After.',
        body: Type.Object(
          { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ token: Type.String(), expiresAt: Type.String({ format: 'date-time' }), organizer: OrganizerSchema }),
          ...problems(400, 401, 429, 503),
        },
      },
    },
    async (request) => {
      const { email, password } = request.body;
      const organizer = await throttle.guard(email, () => organizers.authenticate(email, password));
      const { token, expiresAt } = app.issueToken(organizer);
      return { token, expiresAt: expiresAt.toISOString(), organizer: present(organizer) };
    },
  );

  app.get(
    '/auth/me',
    {
      onRequest: app.authenticate,
      schema: { tags: ['auth'], summary: 'The organizer of the token', security: bearer, response: { 200: OrganizerSchema, ...problems(401) } },
    },
    async (request) => present(request.organizer),
  );

  app.patch(
    '/auth/me',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['auth'],
        summary: "Change the caller's name",
        description: 'The same change (and audit entry, organizer.update) as an admin renaming the account; the role and state stay.',
        security: bearer,
        body: Type.Object({ name: Name }, { additionalProperties: false }),
        response: { 200: OrganizerSchema, ...problems(400, 401) },
      },
    },
    async (request) => present(await organizers.update(request.organizer.id, { name: request.body.name }, request.organizer)),
  );

  app.post(
    '/auth/password',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['auth'],
        summary: "Change the caller's password",
        description: 'Every token issued to the caller before, this one included, stops working: log in again with the new password.',
        security: bearer,
        body: Type.Object({ currentPassword: Type.String({ minLength: 1, maxLength: 1024 }), newPassword: NewPassword }, { additionalProperties: false }),
        response: { 204: Type.Null({ description: 'changed' }), ...problems(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const { currentPassword, newPassword } = request.body;
      // Wrong current passwords count with failed logins, so a stolen token cannot guess its way to the password.
      await throttle.guard(request.organizer.email, () => organizers.changePassword(request.organizer, currentPassword, newPassword));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/logout',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['auth'],
        summary: 'Log out everywhere',
        description: 'Every token issued to the caller before, this one included, stops working.',
        security: bearer,
        response: { 204: Type.Null({ description: 'logged out' }), ...problems(401) },
      },
    },
    async (request, reply) => {
      await organizers.logout(request.organizer);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/organizers',
    {
      onRequest: app.requireAdmin,
      schema: {
        tags: ['auth'],
        summary: 'Create an organizer account (admin)',
        security: bearer,
        body: NewOrganizerBody,
        response: { 201: OrganizerSchema, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const organizer = await organizers.create({ ...request.body, role: request.body.role ?? 'organizer' }, request.organizer);
      return reply.code(201).send(present(organizer));
    },
  );

  app.get(
    '/organizers',
    {
      onRequest: app.requireAdmin,
      schema: {
        tags: ['auth'],
        summary: 'List organizer accounts (admin)',
        security: bearer,
        response: { 200: Type.Object({ items: Type.Array(OrganizerSchema) }), ...problems(401, 403) },
      },
    },
    async () => ({ items: (await organizers.list()).map(present) }),
  );

  app.patch(
    '/organizers/:id',
    {
      onRequest: app.requireAdmin,
      schema: {
        tags: ['auth'],
        summary: 'Change an organizer account (admin)',
        description:
          'Disabling ends every token of the account at once and makes its logins fail like a wrong password. ' +
          'Disabling yourself, or demoting or disabling the last enabled admin, is 409.',
        security: bearer,
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        body: Type.Object(
          { name: Type.Optional(Name), role: Type.Optional(Role), disabled: Type.Optional(Type.Boolean()) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: OrganizerSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => present(await organizers.update(request.params.id, request.body, request.organizer)),
  );
};
