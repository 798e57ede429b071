import type { SessionRow } from '../../../db/schema/index.js';
import { CONSENT } from '../../services/consent.js';
import type { RegistrationDetail } from '../../services/registrations/index.js';
import { availabilityOf } from '../../services/availability.js';
import { effectiveStatus } from '../../services/sessions.service.js';
import { iso, sessionUrls } from '../sessions/presenter.js';

/** What anyone may see of a published session: no join URL, no access code, no counts but seats left. */
export function presentPublicSession(row: SessionRow, publicBaseUrl: string, now: Date) {
  const status = effectiveStatus(row, now);
  const availability = availabilityOf(row, row, now);
  return {
    slug: row.slug,
    title: row.title,
    summary: row.summary,
    description: row.description,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    timezone: row.timezone,
    status: status === 'draft' ? ('published' as const) : status,
    seatsLeft: availability.seatsLeft,
    waitlistOpen: availability.waitlistOpen,
    registrationOpen: availability.open,
    registrationOpensAt: iso(row.registrationOpensAt),
    registrationClosesAt: iso(row.registrationClosesAt),
    // Never the access code; the members' limit is part of the rules a visitor is told.
    audience: row.audience.kind === 'code' ? { kind: 'code' as const } : row.audience,
    questions: row.questions,
    contact: { name: row.contactName, email: row.contactEmail },
    consent: { version: CONSENT.version, text: CONSENT.text },
    urls: sessionUrls(row.slug, publicBaseUrl),
  };
}

/**
 * The answer to a public registration: only what does not move with the counters, so it is the
 * same bytes whatever the outcome was (see RegistrationAnswerSchema).
 */
export function presentRegistrationAnswer(row: SessionRow) {
  return {
    status: 'received' as const,
    session: { slug: row.slug, title: row.title, startsAt: row.startsAt.toISOString(), endsAt: row.endsAt.toISOString(), timezone: row.timezone },
  };
}

/** The organizer's view of a registration. */
export function presentRegistration(row: RegistrationDetail) {
  return {
    id: row.id,
    sessionId: row.sessionId,
    name: row.name,
    email: row.email,
    organization: row.organization,
    organisationId: row.organisationId,
    organisationName: row.organisationName,
    jobTitle: row.jobTitle,
    answers: row.answers,
    status: row.status,
    waitlistPosition: row.waitlistPosition,
    registeredAt: row.registeredAt.toISOString(),
    confirmedAt: iso(row.confirmedAt),
    cancelledAt: iso(row.cancelledAt),
    checkedInAt: iso(row.checkedInAt),
    firstJoinedAt: iso(row.firstJoinedAt),
    offerExpiresAt: iso(row.offerExpiresAt),
    declinedAt: iso(row.declinedAt),
    consentVersion: row.consentVersion,
    source: row.source as 'public' | 'organizer',
    forced: row.forced,
  };
}
