import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

async function openapiPlugin(app: FastifyInstance, { publicBaseUrl }: { publicBaseUrl: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Convene API',
        version: '1.0.0',
        description:
          'Event registration and virtual sessions. Errors are RFC 9457 problem details (application/problem+json).',
      },
      servers: [{ url: publicBaseUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or API key', description: 'A token from POST /api/v1/auth/login (12 hours), or an API key (`cvk_...`) that acts as its organizer until deleted' },
        },
      },
      tags: [
        { name: 'auth', description: 'Organizer login and accounts' },
        { name: 'webhooks', description: 'Signed event deliveries (Standard Webhooks) to the endpoints an organizer registers' },
        { name: 'sessions', description: 'Sessions (organizer)' },
        { name: 'registrations', description: "A session's registrations (organizer)" },
        { name: 'messages', description: 'Messages to the people of a session (organizer)' },
        { name: 'organisations', description: 'Member organisations, recognised by their e-mail domains (admins change, organizers read)' },
        { name: 'series', description: 'Series of sessions joined with one form (organizer)' },
        { name: 'exports', description: 'Attendee exports and the participation report' },
        { name: 'public', description: 'What visitors read and post (no sign-in)' },
        { name: 'ops', description: 'Health, readiness and metrics' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

export default fp(openapiPlugin, { name: 'convene-openapi' });
