import { and, asc, eq, gt, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../../db/client.js';
import { attendees, organisations, registrations, sessions, type RegistrationRow, type RegistrationStatus, type SessionRow } from '../../../db/schema/index.js';
import { BadRequestError, NotFoundError } from '../../errors.js';
import { isUuid } from '../../ids.js';
import { placeOnWaitlist, waitlistPosition } from '../capacity.js';
import { ERASED_ADDRESS_PATTERN, isErasedAddress } from '../erasure.service.js';
import { decodeKeysetCursor, decodeNameKeysetCursor, encodeKeysetCursor, encodeNameKeysetCursor } from '../keyset-cursor.js';

export interface RegistrationDetail extends RegistrationRow {
  email: string;
  waitlistPosition: number | null;
  /** The current name of the member organisation recorded at registration (organisationId), or null. */
  organisationName: string | null;
}

/** A member organisation as the people of a session recorded it (the console's filter). */
export interface RecordedOrganisation {
  id: string;
  name: string;
}

/**
 * The person showed up: checked in at the door or opened their personal join link. The one
 * definition of attendance, for the list's filters and the participation report
 * (src/services/participation.service.ts).
 */
export const showedUp: SQL = sql`(${registrations.checkedInAt} IS NOT NULL OR ${registrations.firstJoinedAt} IS NOT NULL)`;

export interface ListFilter {
  statuses?: RegistrationStatus[];
  attendance?: 'attended' | 'no-show';
  /** The member organisation recorded at registration; null: registrations that recorded none. */
  organisationId?: string | null;
  q?: string;
  /** 'registered' (the default): by registration time; 'name': by name, ignoring case. Ties by id. */
  sort?: ListSort;
  limit: number;
  /** From the previous page of the same sort (a cursor of the other sort is a 400). */
  cursor?: string;
}

export type ListSort = 'registered' | 'name';

export interface RegistrationPage {
  session: SessionRow;
  items: RegistrationDetail[];
  nextCursor: string | null;
}

/**
 * The name order's key: the one expression of registrations_session_name_idx (session_id,
 * lower(name) COLLATE "und-x-icu", id), so the order, the seek and the index agree. ICU's root
 * collation puts "Émile" beside "Emile" (the database's default, C.UTF-8, put it after "Zed").
 */
const nameKey = sql<string>`(lower(${registrations.name}) COLLATE "und-x-icu")`;

/** Where the page after `cursor` starts, in the list's order. */
function afterCursor(sort: ListSort, cursor: string): SQL {
  if (sort === 'name') {
    const { name, id } = decodeNameKeysetCursor(cursor);
    return sql`(${nameKey}, ${registrations.id}) > (${name}::text, ${id}::uuid)`;
  }
  const { at, id } = decodeKeysetCursor(cursor);
  return or(gt(registrations.registeredAt, at), and(eq(registrations.registeredAt, at), gt(registrations.id, id)))!;
}

function cursorAfter(sort: ListSort, row: { registration: RegistrationRow; nameKey: string }): string {
  const { id, registeredAt } = row.registration;
  return sort === 'name' ? encodeNameKeysetCursor({ name: row.nameKey, id }) : encodeKeysetCursor({ at: registeredAt, id });
}

/** Reading registrations: one, its detail, and the organizers' list. */
/**
 * An erased person's registration keeps its organisation for the participation report's counts,
 * but no view of the person shows it: with the session and the time, it could point back to them.
 */
const ERASED_ORGANISATION = { organisationId: null, organisationName: null } as const;
const erasedAttendee = sql`${attendees.email} LIKE ${ERASED_ADDRESS_PATTERN}`;

export function createRegistrationQueries({ db }: { db: Database }) {
  async function sessionById(id: string): Promise<SessionRow> {
    const [row] = await db.select().from(sessions).where(eq(sessions.id, id));
    if (!row) throw new NotFoundError('No such session');
    return row;
  }

  async function registrationById(id: string): Promise<RegistrationRow> {
    const [row] = await db.select().from(registrations).where(eq(registrations.id, id));
    if (!row) throw new NotFoundError('No such registration');
    return row;
  }

  /** A registration of this session (an id from another session is not found). */
  async function registrationOfSession(sessionId: string, registrationId: string): Promise<RegistrationRow> {
    const row = await registrationById(registrationId);
    if (row.sessionId !== sessionId) throw new NotFoundError('No such registration in this session');
    return row;
  }

  async function detail(row: RegistrationRow): Promise<RegistrationDetail> {
    const [attendee] = await db
      .select({
        email: attendees.email,
        organisationName: sql<string | null>`(SELECT ${organisations.name} FROM ${organisations} WHERE ${organisations.id} = ${row.organisationId})`,
      })
      .from(attendees)
      .where(eq(attendees.id, row.attendeeId));
    const email = attendee?.email ?? '';
    const shown = isErasedAddress(email) ? ERASED_ORGANISATION : { organisationId: row.organisationId, organisationName: attendee?.organisationName ?? null };
    return { ...row, email, waitlistPosition: await waitlistPosition(db, row), ...shown };
  }

  /**
   * A page of a session's registrations, oldest first or by name (ListFilter.sort). Also answers
   * the session it read (for the 404), so a page that shows the session beside its people reads
   * it once.
   */
  async function list(sessionId: string, filter: ListFilter): Promise<RegistrationPage> {
    const session = await sessionById(sessionId);
    const conditions: SQL[] = [eq(registrations.sessionId, sessionId)];
    if (filter.statuses && filter.statuses.length > 0) conditions.push(inArray(registrations.status, filter.statuses));
    if (filter.attendance === 'attended') {
      conditions.push(showedUp);
    } else if (filter.attendance === 'no-show') {
      conditions.push(eq(registrations.status, 'confirmed'), sql`NOT ${showedUp}`);
    }
    // By the organisation shown: an erased person's is not (their row counts for it only in the participation report).
    if (filter.organisationId === null) conditions.push(or(isNull(registrations.organisationId), erasedAttendee)!);
    else if (filter.organisationId !== undefined) {
      if (!isUuid(filter.organisationId)) throw new BadRequestError('The organisation is not valid', [{ path: '/querystring/organisationId', message: 'must be an id or none' }]);
      conditions.push(eq(registrations.organisationId, filter.organisationId.toLowerCase()), sql`NOT ${erasedAttendee}`);
    }
    if (filter.q) {
      const pattern = `%${filter.q.trim().toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      conditions.push(or(sql`lower(${registrations.name}) LIKE ${pattern}`, sql`${attendees.email} LIKE ${pattern}`)!);
    }
    const sort = filter.sort ?? 'registered';
    if (filter.cursor) conditions.push(afterCursor(sort, filter.cursor));
    const rows = await db
      .select({
        registration: registrations,
        email: attendees.email,
        organisationName: organisations.name,
        nameKey,
        waitlistPosition: sql<number | null>`CASE WHEN ${registrations.status} = 'waitlisted'
          THEN ${placeOnWaitlist(sql`${registrations.sessionId}`, sql`${registrations.waitlistTicket}`)} END`,
      })
      .from(registrations)
      .innerJoin(attendees, eq(attendees.id, registrations.attendeeId))
      .leftJoin(organisations, eq(organisations.id, registrations.organisationId))
      .where(and(...conditions))
      .orderBy(...(sort === 'name' ? [asc(nameKey), asc(registrations.id)] : [asc(registrations.registeredAt), asc(registrations.id)]))
      .limit(filter.limit + 1);
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      session,
      items: page.map((row) => ({
        ...row.registration,
        email: row.email,
        waitlistPosition: row.waitlistPosition,
        ...(isErasedAddress(row.email) ? ERASED_ORGANISATION : { organisationName: row.organisationName }),
      })),
      nextCursor: rows.length > filter.limit && last ? cursorAfter(sort, last) : null,
    };
  }

  /** The member organisations recorded by the session's registrations (any status), by name: the choices of the people page's filter. */
  async function organisationsOf(sessionId: string): Promise<RecordedOrganisation[]> {
    return db
      .select({ id: organisations.id, name: organisations.name })
      .from(registrations)
      .innerJoin(organisations, eq(organisations.id, registrations.organisationId))
      .innerJoin(attendees, eq(attendees.id, registrations.attendeeId))
      .where(and(eq(registrations.sessionId, sessionId), sql`NOT ${erasedAttendee}`))
      .groupBy(organisations.id)
      .orderBy(sql`lower(${organisations.name})`, asc(organisations.id));
  }

  return {
    sessionById,
    registrationById,
    registrationOfSession,
    detail,
    list,
    organisationsOf,
    get: async (id: string) => detail(await registrationById(id)),
  };
}

export type RegistrationQueries = ReturnType<typeof createRegistrationQueries>;
