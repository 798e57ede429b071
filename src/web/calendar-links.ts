import type { SessionRow } from '../../db/schema/index.js';

/**
 * "Add to calendar" as a row of buttons (session page, confirmation page, manage page): this one
 * session in Google Calendar or Outlook.com, or any app through the session's .ics; the feed
 * subscriptions under "More". Every link here is public: no personal data and never the meeting
 * URL (the personal join link comes by e-mail and in the personal invite).
 */
export interface CalendarLink {
  href: string;
  text: string;
}

export interface CalendarLinksView {
  /** Google Calendar's event template for this session. */
  google: string;
  /** Outlook.com's compose page for this session. */
  outlook: string;
  /** The session's .ics (Apple Calendar, Outlook desktop, Thunderbird, ...). */
  ics: string;
  /** Under "More": subscriptions, in plain words. */
  more: CalendarLink[];
}

export interface CalendarLinksOptions {
  /** The site's absolute base URL (no trailing slash): the event's details link to the session page. */
  publicBaseUrl: string;
  /** Who runs these sessions, for "Subscribe to all sessions of …". */
  organisation: string;
  /** An .ics to use instead of the public one (the manage page: the personal invite). */
  ics?: string;
  /** Subscriptions listed before the public feed's (the manage page: the attendee's own feed). */
  extraSubscriptions?: CalendarLink[];
}

type CalendarSession = Pick<SessionRow, 'slug' | 'title' | 'summary' | 'startsAt' | 'endsAt'>;

/** 20261204T200000Z: the basic ISO form in UTC that Google's `dates` takes. */
export function googleInstant(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** 2026-12-04T20:00:00Z: Outlook's `startdt`/`enddt`, in UTC so that no zone is guessed. */
export function outlookInstant(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A query string with every value percent-encoded (spaces as %20: some apps show a `+` as is). */
function query(params: Array<[string, string]>): string {
  return params.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&');
}

export function sessionPageUrl(publicBaseUrl: string, slug: string): string {
  return `${publicBaseUrl}/s/${encodeURIComponent(slug)}`;
}

/** The public feed paths (src/routes/feeds). */
export const publicFeedPaths = {
  session: (slug: string) => `/feeds/sessions/${encodeURIComponent(slug)}.ics`,
  all: '/feeds/sessions.ics',
};

export function calendarLinks(session: CalendarSession, options: CalendarLinksOptions): CalendarLinksView {
  const page = sessionPageUrl(options.publicBaseUrl, session.slug);
  const details = [session.summary, `Details and how to join: ${page}`].filter(Boolean).join('\n\n');
  const location = 'Online';
  const google = `https://calendar.google.com/calendar/render?${query([
    ['action', 'TEMPLATE'],
    ['text', session.title],
    ['dates', `${googleInstant(session.startsAt)}/${googleInstant(session.endsAt)}`],
    ['details', details],
    ['location', location],
  ])}`;
  const outlook = `https://outlook.live.com/calendar/0/action/compose?${query([
    ['subject', session.title],
    ['startdt', outlookInstant(session.startsAt)],
    ['enddt', outlookInstant(session.endsAt)],
    ['body', details],
    ['location', location],
  ])}`;
  const feed = options.publicBaseUrl + publicFeedPaths.all;
  const webcal = feed.replace(/^https?:\/\//, 'webcal://');
  return {
    google,
    outlook,
    ics: options.ics ?? publicFeedPaths.session(session.slug),
    more: [
      ...(options.extraSubscriptions ?? []),
      { href: webcal, text: `Subscribe to all sessions of ${options.organisation} in your calendar app` },
      { href: `https://calendar.google.com/calendar/render?cid=${encodeURIComponent(webcal)}`, text: `Subscribe to all sessions of ${options.organisation} in Google Calendar` },
    ],
  };
}
