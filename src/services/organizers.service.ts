import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Database } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { organizers, type OrganizerRole, type OrganizerRow } from '../../db/schema/index.js';
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../errors.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import type { PasswordHasher } from './passwords.js';
import { isUuid } from '../ids.js';

export interface Organizer {
  id: string;
  email: string;
  name: string;
  role: OrganizerRole;
  /** Null while the account is enabled. */
  disabledAt: Date | null;
  /** The `ver` claim a token must carry; raised by a logout, a password change or disabling. */
  tokenVersion: number;
  createdAt: Date;
}

export interface NewOrganizer {
  email: string;
  name: string;
  password: string;
  role: OrganizerRole;
}

export interface OrganizerChanges {
  name?: string;
  role?: OrganizerRole;
  disabled?: boolean;
}

/** An account's new password and name: the API's schemas and the console's forms both take these limits. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;
export const ORGANIZER_NAME_MAX_LENGTH = 200;

export function normalizeOrganizerEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

function toOrganizer(row: OrganizerRow): Organizer {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    disabledAt: row.disabledAt,
    tokenVersion: row.tokenVersion,
    createdAt: row.createdAt,
  };
}

export interface OrganizersServiceDeps {
  db: Database;
  passwords: PasswordHasher;
  /**
   * How long a token check may trust an account read earlier. Another instance sees a
   * revocation at most this late; this instance forgets its entry as soon as it makes a change.
   */
  accountCacheMs?: number;
}

export function createOrganizersService({ db, passwords, accountCacheMs = 1_000 }: OrganizersServiceDeps) {
  // Every authenticated request checks the account; a second of caching spares Postgres the
  // same primary-key read for each request of a busy console, and is short enough for revocation.
  const accounts = accountCacheMs > 0 ? new LRUCache<string, Organizer>({ max: 10_000, ttl: accountCacheMs }) : null;
  // Raised by every change, so that a read that started before it is not cached after it.
  let accountWrites = 0;

  function forget(id: string): void {
    accountWrites += 1;
    accounts?.delete(id);
  }

  async function findById(id: string): Promise<Organizer | null> {
    // A malformed id would only reach Postgres to fail there as a cast error.
    if (!isUuid(id)) return null;
    const [row] = await db.select().from(organizers).where(eq(organizers.id, id));
    return row ? toOrganizer(row) : null;
  }

  /** The account a token names, as of at most `accountCacheMs` ago; null when there is none. */
  async function findForToken(id: string): Promise<Organizer | null> {
    const cached = accounts?.get(id);
    if (cached) return cached;
    const writesBefore = accountWrites;
    const organizer = await findById(id);
    if (organizer && writesBefore === accountWrites) accounts?.set(id, organizer);
    return organizer;
  }

  async function create(input: NewOrganizer, actor?: AuditActor | null): Promise<Organizer> {
    const passwordHash = await passwords.hash(input.password);
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

  /** The account with this e-mail (any case), or null; the console adds hosts by e-mail. */
  async function findByEmail(email: string): Promise<Organizer | null> {
    const [row] = await db
      .select()
      .from(organizers)
      .where(eq(sql`lower(${organizers.email})`, normalizeOrganizerEmail(email)));
    return row ? toOrganizer(row) : null;
  }

  async function list(): Promise<Organizer[]> {
    const rows = await db.select().from(organizers).orderBy(asc(organizers.createdAt), asc(organizers.email));
    return rows.map(toOrganizer);
  }

  /**
   * Checks a password. A wrong password, an unknown e-mail and a disabled account give the
   * same error after the same work, so the answer says nothing about which accounts exist.
   */
  async function authenticate(email: string, password: string): Promise<Organizer> {
    const [row] = await db
      .select()
      .from(organizers)
      .where(eq(sql`lower(${organizers.email})`, normalizeOrganizerEmail(email)));
    const ok = await passwords.verify(password, row?.passwordHash ?? null);
    if (!row || !ok || row.disabledAt !== null) throw new UnauthorizedError('Wrong e-mail or password');
    return toOrganizer(row);
  }

  /**
   * An admin's change of name, role or enabled state. Disabling ends every token the account
   * holds. Nobody disables themselves, and the last enabled admin stays an enabled admin.
   */
  async function update(id: string, changes: OrganizerChanges, actor: AuditActor): Promise<Organizer> {
    if (!isUuid(id)) throw new NotFoundError('No such organizer');
    if (changes.disabled === true && id === actor.id) throw new ConflictError('You cannot disable your own account');
    const row = await db.transaction(async (tx) => {
      // Locking every enabled admin serialises concurrent demotions: two admins removing each
      // other would otherwise both see the other one remain.
      const admins = await tx
        .select({ id: organizers.id })
        .from(organizers)
        .where(and(eq(organizers.role, 'admin'), isNull(organizers.disabledAt)))
        .for('update');
      const [current] = await tx.select().from(organizers).where(eq(organizers.id, id)).for('update');
      if (!current) throw new NotFoundError('No such organizer');
      const isEnabledAdmin = current.role === 'admin' && current.disabledAt === null;
      const staysEnabledAdmin = (changes.role ?? current.role) === 'admin' && !(changes.disabled ?? current.disabledAt !== null);
      if (isEnabledAdmin && !staysEnabledAdmin && admins.length <= 1) {
        throw new ConflictError('This is the last enabled admin; make another admin first');
      }
      const disabling = changes.disabled === true && current.disabledAt === null;
      const [updated] = await tx
        .update(organizers)
        .set({
          ...(changes.name !== undefined ? { name: changes.name.trim() } : {}),
          ...(changes.role !== undefined ? { role: changes.role } : {}),
          ...(changes.disabled === false ? { disabledAt: null } : {}),
          ...(disabling ? { disabledAt: sql`now()`, tokenVersion: sql`${organizers.tokenVersion} + 1` } : {}),
          updatedAt: sql`now()`,
        })
        .where(eq(organizers.id, id))
        .returning();
      await recordAudit(tx, { actor, action: 'organizer.update', subjectType: 'organizer', subjectId: id, details: { ...changes } });
      return updated!;
    });
    forget(id);
    return toOrganizer(row);
  }

  /** Ends every token issued to the organizer so far. */
  async function revokeTokens(id: string, actor: AuditActor, action: 'organizer.logout' | 'organizer.password', passwordHash?: string): Promise<void> {
    await db.transaction(async (tx) => {
      await tx
        .update(organizers)
        .set({ tokenVersion: sql`${organizers.tokenVersion} + 1`, updatedAt: sql`now()`, ...(passwordHash ? { passwordHash } : {}) })
        .where(eq(organizers.id, id));
      await recordAudit(tx, { actor, action, subjectType: 'organizer', subjectId: id });
    });
    forget(id);
  }

  async function logout(organizer: Organizer): Promise<void> {
    await revokeTokens(organizer.id, organizer, 'organizer.logout');
  }

  /** A new password for the caller, who proves the current one; every earlier token stops working. */
  async function changePassword(organizer: Organizer, currentPassword: string, newPassword: string): Promise<void> {
    const [row] = await db.select({ passwordHash: organizers.passwordHash }).from(organizers).where(eq(organizers.id, organizer.id));
    if (!row || !(await passwords.verify(currentPassword, row.passwordHash))) {
      throw new ForbiddenError('The current password is wrong');
    }
    await revokeTokens(organizer.id, organizer, 'organizer.password', await passwords.hash(newPassword));
  }

  /** Creates the configured first admin when no organizer has that e-mail yet. */
  async function ensureAdmin(email: string, password: string): Promise<{ created: boolean }> {
    const normalized = normalizeOrganizerEmail(email);
    const [existing] = await db.select({ id: organizers.id }).from(organizers).where(eq(sql`lower(${organizers.email})`, normalized));
    if (existing) return { created: false };
    const passwordHash = await passwords.hash(password);
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

  return { findById, findByEmail, findForToken, create, list, authenticate, update, logout, changePassword, ensureAdmin };
}

export type OrganizersService = ReturnType<typeof createOrganizersService>;
