import { asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { organizers, type OrganizerRole, type OrganizerRow } from '../../db/schema/index.js';
import { ConflictError, UnauthorizedError } from '../errors.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import { decoyPasswordHash, hashPassword, verifyPassword } from './passwords.js';

export interface Organizer {
  id: string;
  email: string;
  name: string;
  role: OrganizerRole;
  createdAt: Date;
}

export interface NewOrganizer {
  email: string;
  name: string;
  password: string;
  role: OrganizerRole;
}

export function normalizeOrganizerEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

function toOrganizer(row: OrganizerRow): Organizer {
  return { id: row.id, email: row.email, name: row.name, role: row.role, createdAt: row.createdAt };
}

export function createOrganizersService({ db }: { db: Database }) {
  async function findById(id: string): Promise<Organizer | null> {
    const [row] = await db.select().from(organizers).where(eq(organizers.id, id));
    return row ? toOrganizer(row) : null;
  }

  async function create(input: NewOrganizer, actor?: AuditActor | null): Promise<Organizer> {
    const passwordHash = await hashPassword(input.password);
    try {
      const row = await db.transaction(async (tx) => {
        const [created] = await tx
          .insert(organizers)
          .values({ email: normalizeOrganizerEmail(input.email), name: input.name.trim(), passwordHash, role: input.role })
          .returning();
        const details = { email: created!.email, role: created!.role };
        await recordAudit(tx, { actor, action: 'organizer.create', subjectType: 'organizer', subjectId: created!.id, details });
        return created!;
      });
      return toOrganizer(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError('An organizer with this e-mail already exists');
      throw error;
    }
  }

  async function list(): Promise<Organizer[]> {
    const rows = await db.select().from(organizers).orderBy(asc(organizers.createdAt), asc(organizers.email));
    return rows.map(toOrganizer);
  }

  /**
   * Checks a password. A wrong password and an unknown e-mail give the same error after the
   * same work, so the answer says nothing about which accounts exist.
   */
  async function authenticate(email: string, password: string): Promise<Organizer> {
    const [row] = await db
      .select()
      .from(organizers)
      .where(eq(sql`lower(${organizers.email})`, normalizeOrganizerEmail(email)));
    const ok = await verifyPassword(password, row?.passwordHash ?? (await decoyPasswordHash()));
    if (!row || !ok) throw new UnauthorizedError('Wrong e-mail or password');
    return toOrganizer(row);
  }

  /** Creates the configured first admin when no organizer has that e-mail yet. */
  async function ensureAdmin(email: string, password: string): Promise<{ created: boolean }> {
    const normalized = normalizeOrganizerEmail(email);
    const [existing] = await db.select({ id: organizers.id }).from(organizers).where(eq(sql`lower(${organizers.email})`, normalized));
    if (existing) return { created: false };
    const passwordHash = await hashPassword(password);
    const inserted = await db
      .insert(organizers)
      .values({ email: normalized, name: 'Administrator', passwordHash, role: 'admin' })
      .onConflictDoNothing()
      .returning({ id: organizers.id });
    if (inserted[0]) {
      await recordAudit(db, { actor: null, action: 'organizer.create', subjectType: 'organizer', subjectId: inserted[0].id, details: { email: normalized, role: 'admin' } });
    }
    return { created: inserted.length > 0 };
  }

  return { findById, create, list, authenticate, ensureAdmin };
}

export type OrganizersService = ReturnType<typeof createOrganizersService>;
