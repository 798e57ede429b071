import { createHash, timingSafeEqual } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../../db/client.js';
import { registrations, sessions, type RegistrationRow, type SessionRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../errors.js';
import { availabilityOf, closedError } from '../availability.js';
import { CONSENT } from '../consent.js';
import { isKnownZone } from '../../text.js';
import { emailDomain } from '../email-address.js';
import { membershipsOf, type Membership } from '../organisations.service.js';
import { freshCoalescer, groupedCalls } from '../coalesce.js';
import type { OutboxRelay } from '../notifications/relay.js';
import type { OfferTimers } from '../offer-timers.js';
import type { Tokens } from '../tokens.js';
import type { Admission } from './admission.js';
import { cancelAndPromote } from './cancel.js';
import { checkPerson, type RegistrationInput } from './person.js';
import type { RegistrationDetail, RegistrationQueries } from './queries.js';
import type { RegistrationWorkflow } from './workflow.js';

/**
 * What a public registration answers: only the session. Whether the address was new, confirmed
 * or waiting goes by e-mail, so the answer cannot tell a stranger who is registered.
 */
export interface RegistrationReceipt {
  session: SessionRow;
}

export interface RegisterOptions {
  /**
   * Called once the request is valid for a session open for registration, before anything is
   * written: the per-recipient rate limit, so that posts which register nothing (a missing
   * session, no consent, a closed session) never count against a real person.
   */
  admitRecipient?: (email: string) => Promise<void>;
}

export interface ManageView {
  registration: RegistrationDetail;
  session: SessionRow;
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given.trim()).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The session's audience (403): the invited organisations' domains, the access code, or an
 * active member organisation (the refusal names none: it tells nothing about the list).
 */
function checkAudience(session: SessionRow, email: string, accessCode: string | undefined, organisation: Membership | null): void {
  const audience = session.audience;
  if (audience.kind === 'members' && organisation?.status !== 'active') {
    throw new ForbiddenError('This session is open only to people of member organisations');
  }
  if (audience.kind === 'domains' && !audience.domains.includes(emailDomain(email))) {
    throw new ForbiddenError('This session is open only to addresses of the invited organisations');
  }
  if (audience.kind === 'code' && (!accessCode || !sameSecret(accessCode, audience.code))) {
    throw new ForbiddenError('The access code is not correct');
  }
}

export interface PublicRegistrationsDeps {
  db: Database;
  clock: Clock;
  tokens: Tokens;
  outbox: OutboxRelay;
  offerTimers: OfferTimers;
  queries: RegistrationQueries;
  workflow: RegistrationWorkflow;
  admission: Admission;
}

/** What a visitor does: register, and, with the secret manage token, see or cancel it. */
export function createPublicRegistrations({ db, clock, tokens, outbox, offerTimers, queries, workflow, admission }: PublicRegistrationsDeps) {
  // The hot path of a registration, prepared once per connection.
  const sessionBySlug = db
    .select()
    .from(sessions)
    .where(eq(sessions.slug, sql.placeholder('slug')))
    .prepare('convene-session-by-slug');
  // A crowd on one session: the requests that arrive while a read runs share the next one (each
  // still sees every change committed before it arrived), and their addresses' member
  // organisations are looked up together, so a registration costs no query of its own before
  // its group's claim.
  const readSession = freshCoalescer<SessionRow | undefined>();
  const sessionOf = (slug: string) => readSession(slug, async () => (await sessionBySlug.execute({ slug }))[0]);
  const lookUpMembership = groupedCalls<string, Membership | null>(async (_key, emails) => {
    const found = await membershipsOf(db, emails);
    return emails.map((email) => ({ status: 'fulfilled', value: found.get(email) ?? null }));
  });

  /**
   * Public registration. Every valid request for a session open for registration gets the same
   * receipt, and every refusal the same error, whether the address is new or registered; both do
   * the same database work (one seat statement, see capacity.ts). The outcome goes by e-mail
   * only: the confirmation or waitlist notice to a new person, the manage link again (at most
   * once per window) to someone already registered, also when the session is full.
   */
  async function register(slug: string, input: RegistrationInput, options: RegisterOptions = {}): Promise<RegistrationReceipt> {
    const now = clock.now();
    const session = await sessionOf(slug);
    if (!session || session.status === 'draft') throw new NotFoundError('No published session with this address');
    const person = checkPerson(session, input, true);
    // Capacity is left to the seat statement, which also answers a repeat on a full session.
    const availability = availabilityOf(session, session, now);
    if (!availability.accepting) throw closedError(availability);
    // Looked up for every audience: each registration records its organisation.
    const organisation = await lookUpMembership('', person.email);
    checkAudience(session, person.email, input.accessCode, organisation);
    await options.admitRecipient?.(person.email);

    // Any zone the runtime does not know is dropped, never an error: the field is a hint from a script.
    const attendeeTimezone = typeof input.timezone === 'string' && isKnownZone(input.timezone) ? input.timezone : null;
    const seatOptions = { source: 'public', force: false, addedBy: null, consentVersion: CONSENT.version, attendeeTimezone, organisation } as const;
    const result = await admission.admit(session, person, seatOptions, now);
    outbox.kick();
    if (result.taken || result.room) return { session };
    if (result.organisationFull) throw new ConflictError('The places for your organisation at this session are all taken');
    const current = await queries.sessionById(session.id);
    if (current.status !== 'published') throw new ConflictError('This session is no longer open for registration');
    throw new ConflictError(current.waitlistEnabled ? 'The session and its waitlist are full' : 'The session is full');
  }

  async function byManageToken(token: string): Promise<RegistrationRow> {
    const hash = tokens.lookupHash(token);
    if (!hash) throw new NotFoundError('This link is not valid');
    const [row] = await db.select().from(registrations).where(eq(registrations.manageTokenHash, hash));
    if (!row) throw new NotFoundError('This link is not valid');
    return row;
  }

  /** The registrant's own view, found by the secret manage token. */
  async function viewByManageToken(token: string): Promise<ManageView> {
    const row = await byManageToken(token);
    return { registration: await queries.detail(row), session: await queries.sessionById(row.sessionId) };
  }

  async function cancelByManageToken(token: string): Promise<ManageView> {
    const row = await byManageToken(token);
    await cancelAndPromote({ db, clock, outbox, offerTimers, queries }, row.id);
    return viewByManageToken(token);
  }

  /** The offered person takes the seat held for it (a POST from the manage page: never a GET of an e-mailed link). */
  async function acceptByManageToken(token: string): Promise<ManageView> {
    const row = await byManageToken(token);
    await workflow.accept(row.id);
    return viewByManageToken(token);
  }

  return { register, viewByManageToken, cancelByManageToken, acceptByManageToken };
}
