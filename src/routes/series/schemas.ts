import { Type, type Static } from '@sinclair/typebox';
import { PublicSessionSchema } from '../registrations/schemas.js';
import { Nullable, StringEnum, Uuid } from '../schemas.js';
import { SESSION_STATUSES } from '../sessions/schemas.js';
import { SERIES_DESCRIPTION_MAX_LENGTH, SERIES_SESSIONS_MAX, SERIES_TITLE_MAX_LENGTH } from '../../services/series.service.js';

const writable = {
  title: Type.String({ minLength: 1, maxLength: SERIES_TITLE_MAX_LENGTH, pattern: '\\S' }),
  slug: Type.String({ minLength: 1, maxLength: 80, pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', description: 'the address of its page (/series/{slug}); made from the title when absent' }),
  description: Nullable(Type.String({ maxLength: SERIES_DESCRIPTION_MAX_LENGTH })),
  sessionIds: Type.Array(Uuid, {
    minItems: 1,
    maxItems: SERIES_SESSIONS_MAX,
    description: 'sessions you host (an admin: any), in their order in the series; drafts may be listed and stay off the public page until published',
  }),
};

export const CreateSeriesBody = Type.Object(
  {
    title: writable.title,
    slug: Type.Optional(writable.slug),
    description: Type.Optional(writable.description),
    sessionIds: writable.sessionIds,
  },
  { additionalProperties: false },
);

export const PatchSeriesBody = Type.Partial(Type.Object(writable), { additionalProperties: false, minProperties: 1 });

export type CreateSeriesBodyType = Static<typeof CreateSeriesBody>;

const SeriesUrls = Type.Object({
  page: Type.String({ description: 'the public page with its one registration form' }),
  feed: Type.String({ description: 'the calendar feed of its sessions' }),
});

export const SeriesSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  slug: Type.String(),
  title: Type.String(),
  description: Nullable(Type.String()),
  sessions: Type.Array(
    Type.Object({
      id: Type.String({ format: 'uuid' }),
      slug: Type.String(),
      title: Type.String(),
      startsAt: Type.String({ format: 'date-time' }),
      endsAt: Type.String({ format: 'date-time' }),
      timezone: Type.String(),
      status: StringEnum(SESSION_STATUSES),
    }),
    { description: 'in their order in the series' },
  ),
  urls: SeriesUrls,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const PublicSeriesSchema = Type.Object({
  slug: Type.String(),
  title: Type.String(),
  description: Nullable(Type.String()),
  sessions: Type.Array(
    Type.Object({
      ...PublicSessionSchema.properties,
      seriesForm: Type.Boolean({
        description: 'the series form registers for it; false: it asks a required question of its own or an access code, so people register on its own page',
      }),
    }),
    { description: 'its published sessions that have not ended, in their order in the series' },
  ),
  urls: SeriesUrls,
});

/**
 * The same bytes for every valid request that a session of the series took: nothing about any
 * session's outcome, so the answer cannot tell who was registered before. The outcome goes by e-mail.
 */
export const SeriesAnswerSchema = Type.Object(
  {
    status: Type.Literal('received'),
    series: Type.Object({ slug: Type.String(), title: Type.String() }),
  },
  { description: 'The request was received; what each session did goes by e-mail only.' },
);

export const SeriesSlugParams = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 80 }) }, { additionalProperties: false });
