import { Type, type Static } from '@sinclair/typebox';
import { registrationStatus } from '../../../db/schema/index.js';
import { FeedLinksSchema } from '../feeds/schemas.js';
import { DateTime, Nullable, StringEnum } from '../schemas.js';

const AnswerValue = Type.Unsafe<string | boolean>({ type: ['string', 'boolean'], maxLength: 5000 });

const person = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  email: Type.String({ minLength: 3, maxLength: 254 }),
  organization: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  jobTitle: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  answers: Type.Optional(Type.Record(Type.String({ maxLength: 40 }), AnswerValue, { maxProperties: 30 })),
};

export const RegisterBody = Type.Object(
  {
    ...person,
    consent: Type.Boolean({ description: 'must be true: the person accepts the consent wording' }),
    accessCode: Type.Optional(Type.String({ maxLength: 64 })),
    timezone: Type.Optional(
      // No length limit: whatever is not a zone this server knows is ignored, never refused.
      Type.String({ description: "the attendee's IANA time zone (e.g. America/New_York), so e-mails lead with their own time; anything else is ignored" }),
    ),
  },
  { additionalProperties: false },
);

export const OrganizerRegisterBody = Type.Object(
  {
    ...person,
    consent: Type.Optional(Type.Boolean()),
    force: Type.Optional(Type.Boolean({ description: 'confirm even beyond capacity (recorded)' })),
  },
  { additionalProperties: false },
);

export const PublicSessionSchema = Type.Object({
  slug: Type.String(),
  title: Type.String(),
  summary: Nullable(Type.String()),
  description: Nullable(Type.String()),
  startsAt: Type.String({ format: 'date-time' }),
  endsAt: Type.String({ format: 'date-time' }),
  timezone: Type.String(),
  status: StringEnum(['published', 'cancelled', 'finished'] as const),
  seatsLeft: Nullable(Type.Integer(), { description: 'null when the capacity is unlimited' }),
  waitlistOpen: Type.Boolean(),
  registrationOpen: Type.Boolean(),
  registrationOpensAt: Nullable(Type.String({ format: 'date-time' })),
  registrationClosesAt: Nullable(Type.String({ format: 'date-time' })),
  audience: Type.Object({
    kind: StringEnum(['public', 'domains', 'code', 'members'] as const),
    domains: Type.Optional(Type.Array(Type.String())),
    perOrganisationLimit: Type.Optional(Type.Integer()),
  }),
  questions: Type.Array(
    Type.Object({
      id: Type.String(),
      label: Type.String(),
      type: StringEnum(['text', 'textarea', 'select', 'checkbox'] as const),
      required: Type.Boolean(),
      options: Type.Optional(Type.Array(Type.String())),
    }),
  ),
  contact: Type.Object({ name: Type.String(), email: Type.String() }),
  consent: Type.Object({ version: Type.String(), text: Type.String() }),
  urls: Type.Object({ page: Type.String(), ics: Type.String() }),
});

/**
 * The same bytes for every valid request to a session open for registration: no status, place
 * or count, and no field that moves with the counters (seatsLeft), so the answer cannot tell
 * whether the address was already registered. The outcome goes by e-mail.
 */
export const RegistrationAnswerSchema = Type.Object(
  {
    status: Type.Literal('received'),
    session: Type.Object({
      slug: Type.String(),
      title: Type.String(),
      startsAt: Type.String({ format: 'date-time' }),
      endsAt: Type.String({ format: 'date-time' }),
      timezone: Type.String(),
    }),
  },
  { description: 'The request was received; whether it gave a seat, a waitlist place or the manage link again goes by e-mail only.' },
);

const REGISTRATION_STATUSES = registrationStatus.enumValues;
/** An organisation's id (any case, as src/ids.ts reads one), or `none`. */
const ORGANISATION_FILTER = '^(none|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$';
const STATUS_LIST = `^(${REGISTRATION_STATUSES.join('|')})(,(${REGISTRATION_STATUSES.join('|')}))*$`;

export const RegistrationSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  sessionId: Type.String({ format: 'uuid' }),
  name: Type.String(),
  email: Type.String(),
  organization: Nullable(Type.String(), { description: 'the organisation as the person typed it' }),
  organisationId: Nullable(Type.String({ format: 'uuid' }), {
    description: "the member organisation the address belonged to when the person registered (by its domain); kept when the organisation's domains change later",
  }),
  organisationName: Nullable(Type.String(), { description: "that member organisation's current name" }),
  jobTitle: Nullable(Type.String()),
  answers: Type.Record(Type.String(), Type.Union([Type.String(), Type.Boolean()])),
  status: StringEnum(REGISTRATION_STATUSES),
  waitlistPosition: Nullable(Type.Integer()),
  registeredAt: Type.String({ format: 'date-time' }),
  confirmedAt: Nullable(Type.String({ format: 'date-time' })),
  cancelledAt: Nullable(Type.String({ format: 'date-time' })),
  checkedInAt: Nullable(Type.String({ format: 'date-time' })),
  firstJoinedAt: Nullable(Type.String({ format: 'date-time' })),
  offerExpiresAt: Nullable(Type.String({ format: 'date-time', description: 'until when a seat is held for this person (offered), or was (expired, or accepted)' })),
  declinedAt: Nullable(Type.String({ format: 'date-time' })),
  consentVersion: Nullable(Type.String()),
  source: StringEnum(['public', 'organizer'] as const),
  forced: Type.Boolean(),
});

export const ManageViewSchema = Type.Object({
  registration: Type.Object({
    status: StringEnum(REGISTRATION_STATUSES),
    waitlistPosition: Nullable(Type.Integer()),
    name: Type.String(),
    email: Type.String(),
    organization: Nullable(Type.String()),
    jobTitle: Nullable(Type.String()),
    answers: Type.Record(Type.String(), Type.Union([Type.String(), Type.Boolean()])),
    registeredAt: Type.String({ format: 'date-time' }),
    confirmedAt: Nullable(Type.String({ format: 'date-time' })),
    cancelledAt: Nullable(Type.String({ format: 'date-time' })),
    offerExpiresAt: Nullable(Type.String({ format: 'date-time', description: 'while offered: accept before this time' })),
  }),
  session: PublicSessionSchema,
  joinLink: Nullable(Type.String({ description: 'the personal join link, while the registration is confirmed' })),
  links: Type.Object({
    manage: Type.String(),
    invite: Type.String({ description: 'the .ics of the current invite' }),
    feed: FeedLinksSchema,
  }),
});

export const ListRegistrationsQuery = Type.Object(
  {
    status: Type.Optional(
      Type.String({ pattern: STATUS_LIST, description: 'comma-separated' }),
    ),
    attendance: Type.Optional(StringEnum(['attended', 'no-show'] as const)),
    organisationId: Type.Optional(
      Type.String({
        pattern: ORGANISATION_FILTER,
        description: 'the member organisation recorded at registration (its id), or `none`: the registrations that recorded none',
      }),
    ),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    sort: Type.Optional(
      StringEnum(['registeredAt', 'name'] as const, {
        description: 'registeredAt (the default): oldest first; name: by name, ignoring case. A cursor belongs to the sort that made it.',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    // A name cursor carries the lowered name (up to 200 characters, up to 4 bytes each in UTF-8, JSON-escaped, then base64).
    cursor: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const SlugParams = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 80 }) }, { additionalProperties: false });
export const TokenParams = Type.Object({ manageToken: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
export const RegistrationParams = Type.Object(
  { id: Type.String({ format: 'uuid' }), registrationId: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);

export const PublicSessionsQuery = Type.Object(
  { from: Type.Optional(DateTime()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) },
  { additionalProperties: false },
);

export type RegisterBodyType = Static<typeof RegisterBody>;

export const NotificationSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  kind: Type.String(),
  registrationId: Nullable(Type.String({ format: 'uuid' })),
  recipient: Nullable(Type.String()),
  status: StringEnum(['pending', 'queued', 'sent', 'failed', 'skipped'] as const),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String({ description: 'why it failed, or why it was skipped' })),
  messageId: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  sentAt: Nullable(Type.String({ format: 'date-time' })),
});
