import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Organizer, OrganizersService } from '../../services/organizers.service.js';
import { bearer, problems, StringEnum } from '../schemas.js';

const OrganizerSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  name: Type.String(),
  role: StringEnum(['admin', 'organizer'] as const),
  createdAt: Type.String({ format: 'date-time' }),
});

const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });

function present(organizer: Organizer) {
  return { ...organizer, createdAt: organizer.createdAt.toISOString() };
}

export const authRoutes: FastifyPluginAsyncTypebox<{ organizers: OrganizersService }> = async (app, { organizers }) => {
  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in as an organizer',
        body: Type.Object(
          { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ token: Type.String(), expiresAt: Type.String({ format: 'date-time' }), organizer: OrganizerSchema }),
          ...problems(400, 401),
        },
      },
    },
    async (request) => {
      const organizer = await organizers.authenticate(request.body.email, request.body.password);
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

  app.post(
    '/organizers',
    {
      onRequest: app.requireAdmin,
      schema: {
        tags: ['auth'],
        summary: 'Create an organizer account (admin)',
        security: bearer,
        body: Type.Object(
          {
            email: Email,
            name: Type.String({ minLength: 1, maxLength: 200 }),
            password: Type.String({ minLength: 12, maxLength: 1024 }),
            role: Type.Optional(StringEnum(['admin', 'organizer'] as const)),
          },
          { additionalProperties: false },
        ),
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
};
