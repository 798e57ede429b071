import type { RegistrationRow, SessionRow } from '../../db/schema/index.js';
import type { Tokens } from './tokens.js';

/**
 * "Which links does a person get, and when does the join link open?": the manage, join, invite
 * and feed links, and the join window, for e-mails, calendar feeds, the API and the pages alike.
 * Tokens are derived, never stored (services/tokens.ts), so a link can be built again anywhere.
 */

export type TokenOwner = Pick<RegistrationRow, 'id' | 'tokenVersion'>;

/** The personal links of one registration, as absolute URLs (e-mails, invites, feeds). */
export interface RegistrationLinks {
  manageLink: string;
  joinLink: string;
}

export interface FeedLinks {
  /** The feed over HTTP(S), under 200 characters. */
  url: string;
  /** The same address as webcal://, which calendar apps subscribe to. */
  webcal: string;
  /** Subscribe in Google Calendar. */
  google: string;
}

/** The console's webhook endpoints; one endpoint's page is `${WEBHOOKS_PAGE}/:id` (its owner is e-mailed a link to it). */
export const WEBHOOKS_PAGE = '/console/webhooks';

/** Paths inside the site, from a token in hand: the pages link to them relative to themselves. */
export const personalPaths = {
  manage: (manageToken: string) => `/m/${encodeURIComponent(manageToken)}`,
  join: (joinToken: string) => `/j/${encodeURIComponent(joinToken)}`,
  invite: (manageToken: string) => `/api/v1/registrations/${encodeURIComponent(manageToken)}/invite.ics`,
  feed: (feedToken: string) => `/feeds/attendees/${encodeURIComponent(feedToken)}.ics`,
};

export function joinToken(registration: TokenOwner, tokens: Tokens): string {
  return tokens.derive('join', registration.id, registration.tokenVersion);
}

export function registrationLinks(registration: TokenOwner, tokens: Tokens, publicBaseUrl: string): RegistrationLinks {
  return {
    manageLink: publicBaseUrl + personalPaths.manage(tokens.derive('manage', registration.id, registration.tokenVersion)),
    joinLink: publicBaseUrl + personalPaths.join(joinToken(registration, tokens)),
  };
}

/** The attendee's own calendar feed, and the same URL as calendar apps subscribe to it. */
export function feedLinks(feedToken: string, publicBaseUrl: string): FeedLinks {
  const url = publicBaseUrl + personalPaths.feed(feedToken);
  const webcal = url.replace(/^https?:\/\//, 'webcal://');
  return { url, webcal, google: `https://calendar.google.com/calendar/render?cid=${encodeURIComponent(webcal)}` };
}

/** The join link leads to the meeting from `minutesBefore` the start until the end. */
export interface JoinWindow {
  opensAt: Date;
  closesAt: Date;
  minutesBefore: number;
}

export type JoinWindowPhase = 'before' | 'open' | 'after';

export function joinWindowOf(session: Pick<SessionRow, 'startsAt' | 'endsAt'>, minutesBefore: number): JoinWindow {
  return { opensAt: new Date(session.startsAt.getTime() - minutesBefore * 60_000), closesAt: session.endsAt, minutesBefore };
}

export function joinWindowPhase(window: JoinWindow, now: Date): JoinWindowPhase {
  if (now.getTime() >= window.closesAt.getTime()) return 'after';
  return now.getTime() < window.opensAt.getTime() ? 'before' : 'open';
}

/** The links as the HTTP layer needs them, with the deployment's base URL and join window. */
export function createLinks({ tokens, publicBaseUrl, joinWindowMinutes }: { tokens: Tokens; publicBaseUrl: string; joinWindowMinutes: number }) {
  return {
    joinPath: (registration: TokenOwner) => personalPaths.join(joinToken(registration, tokens)),
    joinUrl: (registration: TokenOwner) => publicBaseUrl + personalPaths.join(joinToken(registration, tokens)),
    manageUrl: (manageToken: string) => publicBaseUrl + personalPaths.manage(manageToken),
    inviteUrl: (manageToken: string) => publicBaseUrl + personalPaths.invite(manageToken),
    feed: (feedToken: string) => feedLinks(feedToken, publicBaseUrl),
    joinWindow: (session: Pick<SessionRow, 'startsAt' | 'endsAt'>) => joinWindowOf(session, joinWindowMinutes),
  };
}

export type Links = ReturnType<typeof createLinks>;
