import { Type } from '@sinclair/typebox';

/** The attendee's personal calendar feed, in the three forms people subscribe with. */
export const FeedLinksSchema = Type.Object({
  url: Type.String({ description: 'the personal feed over HTTP(S) (under 200 characters; the token is the key)' }),
  webcal: Type.String({ description: 'the same feed as webcal://, which calendar apps open as a subscription' }),
  google: Type.String({ description: 'a link that subscribes Google Calendar to the feed' }),
});

export const SlugFeedParams = Type.Object({ slug: Type.String({ description: 'the session slug' }) }, { additionalProperties: false });
export const FeedTokenParams = Type.Object(
  { feedToken: Type.String({ description: "the attendee's secret feed token" }) },
  { additionalProperties: false },
);

export const CalendarBody = Type.String({ description: 'text/calendar; charset=utf-8 (RFC 5545), no METHOD' });

export const conditionalHeaders = Type.Object({
  'if-none-match': Type.Optional(Type.String({ description: 'an ETag from an earlier answer: 304 when the feed is unchanged' })),
  'if-modified-since': Type.Optional(Type.String({ description: 'an HTTP date: 304 when the feed has not changed since' })),
});
