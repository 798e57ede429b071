import { Type, type Static } from '@sinclair/typebox';
import { DateTime, Nullable, StringEnum } from '../schemas.js';

/** The follow-up's limits (also the console's form hints). */
export const FOLLOW_UP_MESSAGE_MAX_LENGTH = 5000;
/** How long an offered seat may be held: 1 minute to 7 days (the console's form checks the same). */
export const EMAIL_TEXT_MAX_LENGTH = 2000;
export const OFFER_MINUTES_MIN = 1;
export const OFFER_MINUTES_MAX = 10_080;
export const FOLLOW_UP_URL_MAX_LENGTH = 2000;

const QUESTION_TYPES = ['text', 'textarea', 'select', 'checkbox'] as const;
export const SESSION_STATUSES = ['draft', 'published', 'cancelled', 'finished'] as const;

const Question = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,39}$', description: 'lowercase letters, digits, _ and -; starts with a letter' }),
    label: Type.String({ minLength: 1, maxLength: 200 }),
    type: StringEnum(QUESTION_TYPES),
    required: Type.Optional(Type.Boolean()),
    options: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 50 })),
  },
  { additionalProperties: false },
);

const Audience = Type.Object(
  {
    kind: StringEnum(['public', 'domains', 'code', 'members'] as const, {
      description: 'members: only addresses of active member organisations (by their e-mail domains, subdomains included)',
    }),
    domains: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { minItems: 1, maxItems: 100 })),
    code: Type.Optional(Type.String({ minLength: 4, maxLength: 64 })),
    perOrganisationLimit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000, description: 'members: at most this many active registrations per organisation' }),
    ),
  },
  { additionalProperties: false },
);

const Contact = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), email: Type.String({ format: 'email', maxLength: 254 }) },
  { additionalProperties: false },
);

const writable = {
  title: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
  slug: Type.String({ minLength: 1, maxLength: 80, pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$' }),
  summary: Nullable(Type.String({ maxLength: 500 })),
  description: Nullable(Type.String({ maxLength: 20000 })),
  startsAt: DateTime(),
  endsAt: DateTime(),
  timezone: Type.String({ minLength: 1, maxLength: 64, examples: ['America/Chicago'] }),
  capacity: Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000 }), { description: 'null means unlimited' }),
  waitlist: Type.Object(
    {
      enabled: Type.Boolean(),
      limit: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000 }))),
      mode: Type.Optional(
        StringEnum(['auto', 'offer'] as const, {
          description: 'auto (the default): a freed seat goes to the first waiting person; offer: it is held for them for offerMinutes',
        }),
      ),
      offerMinutes: Type.Optional(Type.Integer({ minimum: OFFER_MINUTES_MIN, maximum: OFFER_MINUTES_MAX, description: 'how long an offered seat is held (default 1440)' })),
    },
    { additionalProperties: false },
  ),
  approval: Type.Boolean({ description: 'public registrations wait for an organizer to approve them (default false)' }),
  registrationOpensAt: Nullable(DateTime()),
  registrationClosesAt: Nullable(DateTime()),
  audience: Audience,
  questions: Type.Array(Question, { maxItems: 30 }),
  reminders: Type.Array(Type.Integer({ minimum: 1, maximum: 30 * 1440 }), {
    maxItems: 5,
    description: 'minutes before the start',
  }),
  joinUrl: Nullable(Type.String({ format: 'uri', maxLength: 2000 })),
  joinInstructions: Nullable(Type.String({ maxLength: 2000 })),
  contact: Contact,
  followUp: Nullable(
    Type.Object(
      {
        message: Type.String({ minLength: 1, maxLength: FOLLOW_UP_MESSAGE_MAX_LENGTH }),
        recordingUrl: Type.Optional(Nullable(Type.String({ format: 'uri', maxLength: FOLLOW_UP_URL_MAX_LENGTH }))),
      },
      { additionalProperties: false },
    ),
    { description: 'sent after the session by POST /sessions/{id}/follow-up' },
  ),
  emailTexts: Type.Object(
    {
      confirmation: Type.Optional(Type.String({ maxLength: EMAIL_TEXT_MAX_LENGTH })),
      waitlisted: Type.Optional(Type.String({ maxLength: EMAIL_TEXT_MAX_LENGTH })),
      reminder: Type.Optional(Type.String({ maxLength: EMAIL_TEXT_MAX_LENGTH })),
    },
    {
      additionalProperties: false,
      description: "the organizer's own paragraph (plain text) at the top of the confirmation, waitlist and reminder e-mails; web addresses become links",
    },
  ),
};

const { title, startsAt, endsAt, timezone, ...optional } = writable;

export const CreateSessionBody = Type.Object(
  {
    title,
    startsAt,
    endsAt,
    timezone,
    ...Type.Partial(Type.Object(optional)).properties,
  },
  { additionalProperties: false },
);

export const PatchSessionBody = Type.Partial(Type.Object(writable), { additionalProperties: false, minProperties: 1 });

export const ListSessionsQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(SESSION_STATUSES)),
    from: Type.Optional(DateTime()),
    to: Type.Optional(DateTime()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);

export const HostsBody = Type.Object(
  {
    organizerIds: Type.Array(Type.String({ format: 'uuid' }), {
      minItems: 1,
      maxItems: 100,
      description: 'the hosts from now on: enabled organizers; duplicates collapse; hosts who stay keep their place',
    }),
  },
  { additionalProperties: false },
);

export const CancelSessionBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false });

export const SessionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  slug: Type.String(),
  title: Type.String(),
  summary: Nullable(Type.String()),
  description: Nullable(Type.String()),
  startsAt: Type.String({ format: 'date-time' }),
  endsAt: Type.String({ format: 'date-time' }),
  timezone: Type.String(),
  capacity: Nullable(Type.Integer()),
  waitlist: Type.Object({
    enabled: Type.Boolean(),
    limit: Nullable(Type.Integer()),
    mode: StringEnum(['auto', 'offer'] as const),
    offerMinutes: Type.Integer(),
  }),
  approval: Type.Boolean(),
  registrationOpensAt: Nullable(Type.String({ format: 'date-time' })),
  registrationClosesAt: Nullable(Type.String({ format: 'date-time' })),
  audience: Type.Object({
    kind: StringEnum(['public', 'domains', 'code', 'members'] as const),
    domains: Type.Optional(Type.Array(Type.String())),
    code: Type.Optional(Type.String()),
    perOrganisationLimit: Type.Optional(Type.Integer()),
  }),
  questions: Type.Array(
    Type.Object({
      id: Type.String(),
      label: Type.String(),
      type: StringEnum(QUESTION_TYPES),
      required: Type.Boolean(),
      options: Type.Optional(Type.Array(Type.String())),
    }),
  ),
  reminders: Type.Array(Type.Integer()),
  joinUrl: Nullable(Type.String()),
  joinInstructions: Nullable(Type.String()),
  contact: Type.Object({ name: Type.String(), email: Type.String() }),
  followUp: Nullable(Type.Object({ message: Type.String(), recordingUrl: Nullable(Type.String()) })),
  followUpSentAt: Nullable(Type.String({ format: 'date-time' })),
  emailTexts: Type.Object({
    confirmation: Type.Optional(Type.String()),
    waitlisted: Type.Optional(Type.String()),
    reminder: Type.Optional(Type.String()),
  }),
  status: StringEnum(SESSION_STATUSES),
  sequence: Type.Integer({ description: 'the iCalendar SEQUENCE of the invites' }),
  cancelReason: Nullable(Type.String()),
  counts: Type.Object({
    confirmed: Type.Integer(),
    waitlisted: Type.Integer(),
    cancelled: Type.Integer(),
    pending: Type.Integer({ description: 'requests waiting for approval (no seat)' }),
    offered: Type.Integer({ description: 'seats held by open offers; confirmed + offered <= capacity' }),
  }),
  urls: Type.Object({ page: Type.String(), ics: Type.String() }),
  hosts: Type.Array(Type.String({ format: 'uuid' }), {
    description: 'ids of the organizers who host the session, the creator first, then in the order added; only they (and admins) see it',
  }),
  publishedAt: Nullable(Type.String({ format: 'date-time' })),
  cancelledAt: Nullable(Type.String({ format: 'date-time' })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export type SessionResponse = Static<typeof SessionSchema>;
