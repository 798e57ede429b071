import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ErasureService } from '../../services/erasure.service.js';
import { bearer, problems } from '../schemas.js';

/** The right to be forgotten (admin). */
export const attendeeRoutes: FastifyPluginAsyncTypebox<{ erasure: ErasureService }> = async (app, { erasure }) => {
  app.post(
    '/attendees/erase',
    {
      onRequest: app.requireAdmin,
      schema: {
        tags: ['attendees'],
        summary: 'Erase a person from every registration (admin)',
        description:
          'Anonymises the person (by normalised e-mail) in every registration: name, e-mail, organisation, job title and answers; revokes their manage, join and feed links; drops e-mails not yet sent. Registrations keep their status, so counts and capacity stay; the member organisation recorded stays for the counts of the participation report only, and no view of the registration shows it any more. Idempotent: an unknown or already erased address answers 200 with `affected: 0`, never 404, so the status never says whether someone registered.',
        security: bearer,
        body: Type.Object({ email: Type.String({ minLength: 3, maxLength: 254 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            affected: Type.Integer({ description: 'registrations anonymised' }),
            notificationsDropped: Type.Integer({ description: 'pending e-mails that will not be sent' }),
          }),
          ...problems(400, 401, 403, 413, 415),
        },
      },
    },
    async (request) => erasure.erase(request.body.email, request.organizer),
  );
};
