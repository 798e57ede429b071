import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ORGANISATION_STATUSES } from '../../../db/schema/index.js';
import {
  ORGANISATION_DOMAIN_MAX_LENGTH,
  ORGANISATION_DOMAINS_MAX,
  ORGANISATION_NAME_MAX_LENGTH,
  type Organisation,
  type OrganisationsService,
} from '../../services/organisations.service.js';
import { bearer, IdParams, problems, StringEnum } from '../schemas.js';

const Name = Type.String({
  minLength: 1,
  maxLength: ORGANISATION_NAME_MAX_LENGTH,
  description: 'unique whatever the case; spaces are collapsed',
});

const Domains = Type.Array(
  Type.String({
    minLength: 1,
    maxLength: ORGANISATION_DOMAIN_MAX_LENGTH,
    description: 'an e-mail domain such as cityofx.gov, in Unicode or its xn-- form (a leading @ is ignored)',
  }),
  {
    maxItems: ORGANISATION_DOMAINS_MAX,
    description:
      'the whole list: an address belongs to the organisation of the longest listed domain its domain is or ends in (mail.cityofx.gov belongs to cityofx.gov). A domain belongs to one organisation: one listed by another is 409 naming it',
  },
);

const Status = StringEnum(ORGANISATION_STATUSES, {
  description: "lapsed: its people keep their registrations but may not register anew for members-only sessions",
});

export const OrganisationSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  status: StringEnum(ORGANISATION_STATUSES),
  domains: Type.Array(Type.String(), { description: 'ASCII (IDNA) forms, lower-case, sorted' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const NewOrganisationBody = Type.Object(
  { name: Name, domains: Domains, status: Type.Optional(Status) },
  { additionalProperties: false, description: 'status defaults to active' },
);

const OrganisationPatchBody = Type.Object(
  { name: Type.Optional(Name), domains: Type.Optional(Domains), status: Type.Optional(Status) },
  { additionalProperties: false, minProperties: 1 },
);

function present(organisation: Organisation) {
  const { id, name, status, domains, createdAt, updatedAt } = organisation;
  return { id, name, status, domains, createdAt: createdAt.toISOString(), updatedAt: updatedAt.toISOString() };
}

/** The network's member organisations (api.md "Member organisations and series"): organizers read, admins change. */
export const organisationRoutes: FastifyPluginAsyncTypebox<{ organisations: OrganisationsService }> = async (app, { organisations }) => {
  const common = { tags: ['organisations'], security: bearer };

  app.post(
    '/organisations',
    {
      onRequest: app.requireAdmin,
      schema: {
        ...common,
        summary: 'Add a member organisation (admin)',
        description: 'Audited as `organisation.create`. 409 when a domain belongs to another organisation (the answer names it) or the name is taken.',
        body: NewOrganisationBody,
        response: { 201: OrganisationSchema, ...problems(400, 401, 403, 409, 413, 415) },
      },
    },
    async (request, reply) => reply.code(201).send(present(await organisations.create(request.body, request.organizer))),
  );

  app.get(
    '/organisations',
    {
      onRequest: app.authenticate,
      schema: {
        ...common,
        summary: 'The member organisations, by name',
        response: { 200: Type.Object({ items: Type.Array(OrganisationSchema) }), ...problems(401) },
      },
    },
    async () => ({ items: (await organisations.list()).map(present) }),
  );

  app.get(
    '/organisations/:id',
    {
      onRequest: app.authenticate,
      schema: {
        ...common,
        summary: 'One member organisation',
        params: IdParams,
        response: { 200: OrganisationSchema, ...problems(400, 401, 404) },
      },
    },
    async (request) => present(await organisations.get(request.params.id)),
  );

  app.patch(
    '/organisations/:id',
    {
      onRequest: app.requireAdmin,
      schema: {
        ...common,
        summary: 'Change a member organisation (admin)',
        description:
          'Any of name, domains (the whole new list) and status. Registrations keep the organisation they recorded. Audited as `organisation.update` with the fields changed; a change to nothing writes nothing. 409 as for a new one.',
        params: IdParams,
        body: OrganisationPatchBody,
        response: { 200: OrganisationSchema, ...problems(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request) => present(await organisations.update(request.params.id, request.body, request.organizer)),
  );
};
