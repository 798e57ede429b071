import { effectiveStatus, type HostedSession } from '../../services/sessions.service.js';
import type { SessionResponse } from './schemas.js';

export const iso = (date: Date | null) => date?.toISOString() ?? null;

export function sessionUrls(slug: string, publicBaseUrl: string) {
  return { page: `${publicBaseUrl}/s/${slug}`, ics: `${publicBaseUrl}/feeds/sessions/${slug}.ics` };
}

/** The organizer's view of a session. */
export function presentSession(row: HostedSession, publicBaseUrl: string, now: Date): SessionResponse {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    summary: row.summary,
    description: row.description,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    timezone: row.timezone,
    capacity: row.capacity,
    waitlist: { enabled: row.waitlistEnabled, limit: row.waitlistLimit, mode: row.waitlistMode, offerMinutes: row.offerMinutes },
    approval: row.approval,
    registrationOpensAt: iso(row.registrationOpensAt),
    registrationClosesAt: iso(row.registrationClosesAt),
    audience: row.audience,
    questions: row.questions,
    reminders: row.reminders,
    joinUrl: row.joinUrl,
    joinInstructions: row.joinInstructions,
    contact: { name: row.contactName, email: row.contactEmail },
    followUp: row.followUp,
    followUpSentAt: iso(row.followUpSentAt),
    emailTexts: row.emailTexts,
    status: effectiveStatus(row, now),
    sequence: row.sequence,
    cancelReason: row.cancelReason,
    counts: {
      confirmed: row.confirmedCount,
      waitlisted: row.waitlistedCount,
      cancelled: row.cancelledCount,
      pending: row.pendingCount,
      offered: row.offeredCount,
    },
    urls: sessionUrls(row.slug, publicBaseUrl),
    hosts: row.hosts,
    publishedAt: iso(row.publishedAt),
    cancelledAt: iso(row.cancelledAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
