import { createHash } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { attendees, registrations } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { NotFoundError } from '../errors.js';
import { freshCoalescer } from './coalesce.js';
import { inviteUid, renderFeed, sessionUid, type FeedEvent, type InviteSession } from './calendar/index.js';
import { inviteSequence } from './invites.js';
import { feedLinks, registrationLinks, type FeedLinks } from './links.js';
import type { SettingsService } from './settings.service.js';
import type { Tokens } from './tokens.js';

/**
 * Calendar subscription feeds (calendar.md, Feeds): the public feed of every published session,
 * one session's feed, one series' feed, and an attendee's personal feed with their join links.
 *
 * Calendar apps poll for years, so "has it changed?" must be cheap and answered the same by
 * every instance: each feed has a *version* read by one small SQL statement, and its ETag is a
 * hash of that version, never of the body, so a 304 renders nothing and no process keeps state.
 * - public feed: the change counter in feed_versions (kept by triggers on sessions) and the
 *   latest session to have left the 30-day window (two index probes);
 * - one session: its row's id, `updated_at`, status and sequence;
 * - personal feed: the token's version and aggregates over the attendee's registrations and
 *   their sessions (count, latest and summed `updated_at`), and the latest to have left the window.
 * Every ETag also covers the organisation's name (X-WR-CALNAME), read once per version or render
 * and used for both, so a body is cached only under the ETag of the name it shows.
 * The body is rendered from the data alone (DTSTAMP is the row's `updated_at`, never the clock),
 * so the same version always gives the same bytes and the ETag holds across restarts and
 * instances. A render reads its rows and its version in one statement (one snapshot), so a body
 * is never labelled with another state's ETag.
 */

/** Raised when the rendering changes, so every ETag changes with it. */
const FEED_FORMAT = 'convene-feed-2';
/** Sessions stay in the feeds this long after they end (cancelled ones: after the cancellation). */
const WINDOW_DAYS = 30;
const DAY_MS = 86_400_000;
/** What a slug can be (URL-unreserved characters): anything else is 404 without a query (a NUL would even fail it). */
const SLUG_PATTERN = /^[A-Za-z0-9._~-]{1,200}$/;
/** X-PUBLISHED-TTL and REFRESH-INTERVAL: an hour for public feeds (calendar.md), less for personal ones. */
const PUBLIC_REFRESH_MINUTES = 60;
const PERSONAL_REFRESH_MINUTES = 30;

export interface FeedVersion {
  /** A strong validator, quoted: `"..."`. */
  etag: string;
  /** The latest change of what the feed shows (HTTP dates have whole seconds). */
  lastModified: Date;
}

export interface RenderedFeed extends FeedVersion {
  body: string;
}


/** Midnight UTC of the day `WINDOW_DAYS` before `now`: the feeds change at most once a day by the clock. */
export function windowStart(now: Date): Date {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - WINDOW_DAYS * DAY_MS);
}

/** When a row whose window key (end, or cancellation) is `key` left the window: the first midnight past key + 30 days. */
function leftWindowAt(key: Date): Date {
  return new Date(Math.floor(key.getTime() / DAY_MS) * DAY_MS + (WINDOW_DAYS + 1) * DAY_MS);
}

interface VersionRow {
  n: number;
  /** extract(epoch ...) as text: exact to the microsecond, whatever the connection's time zone. */
  latest: string | null;
  total: string;
  left_at: Date | null;
}

interface SessionColumns {
  id: string;
  slug: string;
  title: string;
  summary: string | null;
  description: string | null;
  starts_at: Date;
  ends_at: Date;
  status: 'draft' | 'published' | 'cancelled';
  sequence: number;
  join_instructions: string | null;
  contact_name: string;
  contact_email: string;
  cancel_reason: string | null;
  updated_at: Date;
}

const SESSION_COLUMNS = `s.id, s.slug, s.title, s.summary, s.description, s.starts_at, s.ends_at, s.status, s.sequence,
  s.join_instructions, s.contact_name, s.contact_email, s.cancel_reason, s.updated_at`;

/**
 * The public feed's rows: published sessions that ended at most 30 days ago (at midnight UTC),
 * and cancelled ones for 30 days after the cancellation. Drafts never. Each branch is a range
 * scan of a partial index (sessions_feed_published_idx, sessions_feed_cancelled_idx).
 */
const PUBLIC_ROWS = (columns: string) => `
  SELECT ${columns} FROM sessions s WHERE s.status = 'published' AND s.ends_at >= $1
  UNION ALL
  SELECT ${columns} FROM sessions s WHERE s.status = 'cancelled' AND s.cancelled_at >= $1`;

/**
 * The public feed's version: its change counter (feed_versions, kept by triggers on sessions,
 * migration 0007) and the latest window key of the rows that have left the feed; one row read
 * and two index probes, whatever the number of sessions.
 */
const PUBLIC_VERSION = `v.version_id::text AS version_id, v.changed_at,
  greatest(
    (SELECT max(ends_at) FROM sessions WHERE status = 'published' AND ends_at < $1),
    (SELECT max(cancelled_at) FROM sessions WHERE status = 'cancelled' AND cancelled_at < $1)
  ) AS left_at
  FROM (SELECT 1) AS one LEFT JOIN feed_versions v ON v.name = 'sessions'`;

/** Exported for the benchmark, which shows its plan. */
export const PUBLIC_VERSION_SQL = `SELECT ${PUBLIC_VERSION}`;

/** The rows and the version in one statement: one snapshot. */
const PUBLIC_RENDER_SQL = `
  WITH v AS (SELECT ${PUBLIC_VERSION}),
  f AS (${PUBLIC_ROWS(`${SESSION_COLUMNS}, s.cancelled_at`)})
  SELECT v.version_id, v.changed_at, v.left_at, f.*
  FROM v LEFT JOIN f ON true
  ORDER BY f.starts_at, f.id`;

interface PublicVersionRow {
  version_id: string | null;
  changed_at: Date | null;
  left_at: Date | null;
}

/** One session's feed: published or cancelled, whatever its age. */
const SESSION_VERSION_SQL = `
  SELECT s.id, s.status, s.sequence, extract(epoch FROM s.updated_at)::text AS latest
  FROM sessions s WHERE s.slug = $1 AND s.status IN ('published', 'cancelled')`;

const SESSION_RENDER_SQL = `
  SELECT ${SESSION_COLUMNS}, extract(epoch FROM s.updated_at)::text AS latest
  FROM sessions s WHERE s.slug = $1 AND s.status IN ('published', 'cancelled')`;

/**
 * A series' feed: its published and cancelled sessions, whatever their age (as one session's
 * feed). Its version covers the series row (its title names the feed; every change of its
 * sessions or their order raises its `updated_at`) and aggregates over those sessions (a session
 * leaves a series otherwise only by being deleted, which only a draft can be, and drafts are not shown).
 */
const SERIES_VERSION_SQL = `
  SELECT sr.id AS series_id, sr.title AS series_title, extract(epoch FROM sr.updated_at)::text AS series_latest,
    count(s.id)::int AS n,
    extract(epoch FROM max(s.updated_at))::text AS latest,
    coalesce(sum(extract(epoch FROM s.updated_at)), 0)::text AS total
  FROM series sr
  LEFT JOIN series_sessions ss ON ss.series_id = sr.id
  LEFT JOIN sessions s ON s.id = ss.session_id AND s.status IN ('published', 'cancelled')
  WHERE sr.slug = $1
  GROUP BY sr.id`;

/** The rows and the version in one statement: one snapshot. */
const SERIES_RENDER_SQL = `
  WITH v AS (${SERIES_VERSION_SQL}),
  f AS (
    SELECT ${SESSION_COLUMNS} FROM v
    JOIN series_sessions ss ON ss.series_id = v.series_id
    JOIN sessions s ON s.id = ss.session_id
    WHERE s.status IN ('published', 'cancelled')
  )
  SELECT v.*, f.* FROM v LEFT JOIN f ON true
  ORDER BY f.starts_at, f.id`;

/**
 * A registration that held a seat when its session was cancelled: the cancellation cancels every
 * registration with the session's own `cancelled_at` (capacity.ts, cancelAllRegistrations), and
 * only a seated one has `confirmed_at` (a waitlisted one never had an invite, nor a feed entry).
 */
const SEATED_AT_SESSION_CANCEL = `(s.status = 'cancelled' AND r.status = 'cancelled'
  AND r.cancelled_at = s.cancelled_at AND r.confirmed_at IS NOT NULL)`;

/**
 * The personal feed's version covers every registration of the attendee and its session (a
 * superset of what the feed shows, so any change to a shown row, and any row that appears or
 * disappears, moves it), plus the rows that left the window and the token's version.
 * $1: the feed token's hash (attendees_feed_token_key), $2: the window start.
 */
const PERSONAL_AGGREGATES = `a.id AS attendee_id, a.feed_token_version,
  count(r.id)::int AS n,
  extract(epoch FROM max(greatest(r.updated_at, s.updated_at)))::text AS latest,
  coalesce(sum(extract(epoch FROM r.updated_at) + extract(epoch FROM s.updated_at)), 0)::text AS total,
  greatest(
    max(s.ends_at) FILTER (WHERE r.status = 'confirmed' AND s.status = 'published' AND s.ends_at < $2),
    max(s.cancelled_at) FILTER (WHERE ${SEATED_AT_SESSION_CANCEL} AND s.cancelled_at < $2)
  ) AS left_at`;

const PERSONAL_VERSION_SQL = `
  SELECT ${PERSONAL_AGGREGATES}
  FROM attendees a
  LEFT JOIN registrations r ON r.attendee_id = a.id
  LEFT JOIN sessions s ON s.id = r.session_id
  WHERE a.feed_token_hash = $1
  GROUP BY a.id`;

/**
 * The attendee's sessions in the window, as the public feed has them: confirmed registrations of
 * published sessions until 30 days after their end; cancelled sessions (STATUS:CANCELLED) for
 * the registrations seated at the cancellation, until 30 days after it; with the invite's
 * SEQUENCE inputs. A registration the person cancelled leaves the feed at once.
 */
const PERSONAL_RENDER_SQL = `
  WITH v AS (${PERSONAL_VERSION_SQL}),
  f AS (
    SELECT ${SESSION_COLUMNS}, r.id AS registration_id, r.token_version, r.updated_at AS registration_updated_at,
      (SELECT count(*)::int FROM registrations e
        WHERE e.session_id = r.session_id AND e.attendee_id = r.attendee_id
          AND (e.registered_at < r.registered_at OR (e.registered_at = r.registered_at AND e.id < r.id))) AS earlier
    FROM v
    JOIN registrations r ON r.attendee_id = v.attendee_id
    JOIN sessions s ON s.id = r.session_id
    WHERE (r.status = 'confirmed' AND s.status = 'published' AND s.ends_at >= $2)
      OR (${SEATED_AT_SESSION_CANCEL} AND s.cancelled_at >= $2)
  )
  SELECT v.attendee_id, v.feed_token_version, v.n, v.latest, v.total, v.left_at, f.*
  FROM v LEFT JOIN f ON true
  ORDER BY f.starts_at, f.id`;

export interface FeedsServiceDeps {
  db: Database;
  clock: Clock;
  tokens: Tokens;
  publicBaseUrl: string;
  /** The organisation's name (Branding.name) names the feeds. */
  settings: Pick<SettingsService, 'branding'>;
}

type PersonalRow = VersionRow & { attendee_id: string; feed_token_version: number };

export function createFeedsService({ db, clock, tokens, publicBaseUrl, settings }: FeedsServiceDeps) {
  const pool = db.$client;
  const uidDomain = new URL(publicBaseUrl).hostname;
  const organisationName = async (): Promise<string> => (await settings.branding()).name;
  // Concurrent polls of one feed share a version read (never one older than the poll): under
  // load a feed costs one read per database round trip, whatever the number of pollers.
  const sharedRead = freshCoalescer<FeedVersion | null>();

  /** `organisation`: the name the body shows, so a new name is a new ETag (and cache entry). */
  function etag(organisation: string, ...parts: Array<string | number>): string {
    const digest = createHash('sha256')
      .update(JSON.stringify([FEED_FORMAT, publicBaseUrl, organisation, ...parts]))
      .digest('base64url');
    return `"${digest.slice(0, 27)}"`;
  }

  /** Last-Modified: the latest change of a shown row, or the latest departure from the window. */
  function lastModified(latest: string | null, leftAt: Date | null): Date {
    const changed = latest === null ? 0 : Math.round(Number(latest) * 1000);
    const left = leftAt === null ? 0 : leftWindowAt(leftAt).getTime();
    return new Date(Math.max(changed, left));
  }

  function aggregateVersion(organisation: string, kind: string, row: VersionRow, ...extra: Array<string | number>): FeedVersion {
    const left = row.left_at === null ? '-' : leftWindowAt(row.left_at).toISOString();
    return {
      etag: etag(organisation, kind, ...extra, row.n, row.latest ?? '-', row.total, left),
      lastModified: lastModified(row.latest, row.left_at),
    };
  }

  const toSession = (row: SessionColumns, overrides: Partial<InviteSession> = {}): InviteSession => ({
    id: row.id,
    title: row.title,
    summary: row.summary,
    description: row.description,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    joinInstructions: row.join_instructions,
    contactName: row.contact_name,
    contactEmail: row.contact_email,
    ...overrides,
  });

  const cancelledTitle = (row: SessionColumns) => `Cancelled: ${row.title}`;

  /** A public entry: the session page as URL, no join details (the meeting is for registrants). */
  function publicEvent(row: SessionColumns): FeedEvent {
    const cancelled = row.status === 'cancelled';
    const page = `${publicBaseUrl}/s/${row.slug}`;
    return {
      uid: sessionUid(row.id, uidDomain),
      session: toSession(row, { joinInstructions: null, title: cancelled ? cancelledTitle(row) : row.title }),
      sequence: row.sequence,
      cancelled,
      stamp: row.updated_at,
      url: page,
      extraDescription: cancelled ? 'This session has been cancelled.' : `Details and registration: ${page}`,
    };
  }

  // ---- the public feed ------------------------------------------------------------------------

  function publicVersionOf(organisation: string, row: PublicVersionRow): FeedVersion {
    const left = row.left_at === null ? null : leftWindowAt(row.left_at);
    return {
      etag: etag(organisation, 'public', row.version_id ?? '-', left?.toISOString() ?? '-'),
      lastModified: new Date(Math.max(row.changed_at?.getTime() ?? 0, left?.getTime() ?? 0)),
    };
  }

  async function publicVersion(): Promise<FeedVersion> {
    const version = await sharedRead('public', async () => {
      const organisation = await organisationName();
      const { rows } = await pool.query<PublicVersionRow>({ name: 'convene-feed-public-version-v2', text: PUBLIC_VERSION_SQL, values: [windowStart(clock.now())] });
      return publicVersionOf(organisation, rows[0]!);
    });
    return version!;
  }

  async function renderPublic(): Promise<RenderedFeed> {
    const organisation = await organisationName();
    const { rows } = await pool.query<PublicVersionRow & SessionColumns>({ name: 'convene-feed-public-render-v3', text: PUBLIC_RENDER_SQL, values: [windowStart(clock.now())] });
    const version = publicVersionOf(organisation, rows[0]!);
    const events = rows.filter((row) => row.id !== null).map(publicEvent);
    const body = renderFeed({
      name: `${organisation}: sessions`,
      description: `Sessions of ${organisation}: upcoming ones, and those of the last ${WINDOW_DAYS} days`,
      refreshMinutes: PUBLIC_REFRESH_MINUTES,
      events,
    });
    return { ...version, body };
  }

  // ---- one session ----------------------------------------------------------------------------

  type SessionVersionRow = { id: string; status: string; sequence: number; latest: string };
  const sessionVersionOf = (organisation: string, row: SessionVersionRow): FeedVersion => ({
    etag: etag(organisation, 'session', row.id, row.status, row.sequence, row.latest),
    lastModified: lastModified(row.latest, null),
  });

  /** null when no published or cancelled session has this slug. */
  async function sessionVersion(slug: string): Promise<FeedVersion | null> {
    if (!SLUG_PATTERN.test(slug)) return null;
    return sharedRead(`session:${slug}`, async () => {
      const organisation = await organisationName();
      const { rows } = await pool.query<SessionVersionRow>({ name: 'convene-feed-session-version-v2', text: SESSION_VERSION_SQL, values: [slug] });
      return rows[0] ? sessionVersionOf(organisation, rows[0]) : null;
    });
  }

  async function renderSession(slug: string): Promise<RenderedFeed | null> {
    if (!SLUG_PATTERN.test(slug)) return null;
    const organisation = await organisationName();
    const { rows } = await pool.query<SessionColumns & { latest: string }>({ name: 'convene-feed-session-render-v2', text: SESSION_RENDER_SQL, values: [slug] });
    const row = rows[0];
    if (!row) return null;
    const body = renderFeed({ name: `${organisation}: ${row.title}`, refreshMinutes: PUBLIC_REFRESH_MINUTES, events: [publicEvent(row)] });
    return { ...sessionVersionOf(organisation, row), body };
  }

  // ---- one series -----------------------------------------------------------------------------

  type SeriesVersionRow = Omit<VersionRow, 'left_at'> & { series_id: string; series_title: string; series_latest: string };
  const seriesVersionOf = (organisation: string, row: SeriesVersionRow): FeedVersion => ({
    etag: etag(organisation, 'series', row.series_id, row.series_latest, row.n, row.latest ?? '-', row.total),
    lastModified: new Date(Math.max(lastModified(row.series_latest, null).getTime(), lastModified(row.latest, null).getTime())),
  });

  /** null when no series has this slug. */
  async function seriesVersion(slug: string): Promise<FeedVersion | null> {
    if (!SLUG_PATTERN.test(slug)) return null;
    return sharedRead(`series:${slug}`, async () => {
      const organisation = await organisationName();
      const { rows } = await pool.query<SeriesVersionRow>({ name: 'convene-feed-series-version-v1', text: SERIES_VERSION_SQL, values: [slug] });
      return rows[0] ? seriesVersionOf(organisation, rows[0]) : null;
    });
  }

  /** The series' sessions as the public feed has them: the same UIDs, so a calendar subscribed to both shows each once. */
  async function renderSeries(slug: string): Promise<RenderedFeed | null> {
    if (!SLUG_PATTERN.test(slug)) return null;
    const organisation = await organisationName();
    const { rows } = await pool.query<SeriesVersionRow & SessionColumns>({ name: 'convene-feed-series-render-v1', text: SERIES_RENDER_SQL, values: [slug] });
    const first = rows[0];
    if (!first) return null;
    const events = rows.filter((row) => row.id !== null).map(publicEvent);
    const body = renderFeed({
      name: `${organisation}: ${first.series_title}`,
      description: `The sessions of the series "${first.series_title}"`,
      refreshMinutes: PUBLIC_REFRESH_MINUTES,
      events,
    });
    return { ...seriesVersionOf(organisation, first), body };
  }

  // ---- the personal feed ----------------------------------------------------------------------

  /** null when the token is not (or no longer) an attendee's feed token. */
  async function personalVersion(feedToken: string): Promise<FeedVersion | null> {
    const hash = tokens.lookupHash(feedToken);
    if (!hash) return null;
    return sharedRead(`personal:${hash}`, async () => {
      const organisation = await organisationName();
      const { rows } = await pool.query<PersonalRow>({
        name: 'convene-feed-personal-version-v2',
        text: PERSONAL_VERSION_SQL,
        values: [hash, windowStart(clock.now())],
      });
      const row = rows[0];
      return row ? aggregateVersion(organisation, 'personal', row, row.attendee_id, row.feed_token_version) : null;
    });
  }

  type PersonalFeedRow = PersonalRow &
    SessionColumns & { registration_id: string; token_version: number; registration_updated_at: Date; earlier: number };

  /**
   * A personal entry: the e-mailed invite's UID and SEQUENCE, so calendars merge the two; the
   * join link while the session is on; once the session is cancelled, STATUS:CANCELLED with the
   * reason and no join details (as the e-mailed CANCEL).
   */
  function personalEvent(row: PersonalFeedRow, attendeeId: string): FeedEvent {
    const cancelled = row.status === 'cancelled';
    const stamp = new Date(Math.max(row.updated_at.getTime(), row.registration_updated_at.getTime()));
    const base = { uid: inviteUid(row.id, attendeeId, uidDomain), sequence: inviteSequence(row.sequence, row.earlier, false), stamp };
    if (cancelled) {
      const reason = row.cancel_reason?.trim();
      return {
        ...base,
        session: toSession(row, { joinInstructions: null, title: cancelledTitle(row) }),
        cancelled,
        url: null,
        extraDescription: reason ? `This session has been cancelled: ${reason}` : 'This session has been cancelled.',
      };
    }
    const { joinLink } = registrationLinks({ id: row.registration_id, tokenVersion: row.token_version }, tokens, publicBaseUrl);
    return { ...base, session: toSession(row), cancelled, url: joinLink, extraDescription: `Join: ${joinLink}` };
  }

  async function renderPersonal(feedToken: string): Promise<RenderedFeed | null> {
    const hash = tokens.lookupHash(feedToken);
    if (!hash) return null;
    const organisation = await organisationName();
    const { rows } = await pool.query<PersonalFeedRow>({
      name: 'convene-feed-personal-render-v2',
      text: PERSONAL_RENDER_SQL,
      values: [hash, windowStart(clock.now())],
    });
    const first = rows[0];
    if (!first) return null;
    const version = aggregateVersion(organisation, 'personal', first, first.attendee_id, first.feed_token_version);
    const events = rows.filter((row) => row.id !== null).map((row) => personalEvent(row, first.attendee_id));
    const body = renderFeed({ name: `${organisation}: your sessions`, refreshMinutes: PERSONAL_REFRESH_MINUTES, events });
    return { ...version, body };
  }

  // ---- the feed token -------------------------------------------------------------------------

  const linksForToken = (feedToken: string): FeedLinks => feedLinks(feedToken, publicBaseUrl);

  /**
   * The attendee's feed links. The first time, the hash of the token of version 0 (or the
   * current version) is stored, so the URL works from the moment it is first shown.
   */
  async function linksForAttendee(attendeeId: string): Promise<FeedLinks> {
    for (let attempt = 1; ; attempt += 1) {
      const [row] = await db
        .select({ version: attendees.feedTokenVersion, hash: attendees.feedTokenHash })
        .from(attendees)
        .where(eq(attendees.id, attendeeId));
      if (!row) throw new NotFoundError('This link is not valid');
      const token = tokens.derive('feed', attendeeId, row.version);
      if (row.hash !== null) return linksForToken(token);
      const stored = await db
        .update(attendees)
        .set({ feedTokenHash: tokens.hash(token) })
        .where(and(eq(attendees.id, attendeeId), isNull(attendees.feedTokenHash), eq(attendees.feedTokenVersion, row.version)))
        .returning({ id: attendees.id });
      if (stored.length > 0) return linksForToken(token);
      // A concurrent first view or replacement stored one meanwhile: read it again.
      if (attempt >= 3) throw new Error('the feed token keeps changing');
    }
  }

  /** A new feed URL for the attendee of this manage token; the old one answers 404 from the commit on. */
  async function replaceToken(manageToken: string): Promise<FeedLinks> {
    const hash = tokens.lookupHash(manageToken);
    const [registration] = hash
      ? await db.select({ attendeeId: registrations.attendeeId }).from(registrations).where(eq(registrations.manageTokenHash, hash))
      : [];
    if (!registration) throw new NotFoundError('This link is not valid');
    const { attendeeId } = registration;
    const token = await db.transaction(async (tx) => {
      const [row] = await tx.select({ version: attendees.feedTokenVersion }).from(attendees).where(eq(attendees.id, attendeeId)).for('update');
      if (!row) throw new NotFoundError('This link is not valid');
      const version = row.version + 1;
      const next = tokens.derive('feed', attendeeId, version);
      await tx.update(attendees).set({ feedTokenVersion: version, feedTokenHash: tokens.hash(next) }).where(eq(attendees.id, attendeeId));
      return next;
    });
    return linksForToken(token);
  }

  return { publicVersion, renderPublic, sessionVersion, renderSession, seriesVersion, renderSeries, personalVersion, renderPersonal, linksForAttendee, replaceToken };
}

export type FeedsService = ReturnType<typeof createFeedsService>;
