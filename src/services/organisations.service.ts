import { createHash } from 'node:crypto';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { organisationDomains, organisations, type OrganisationRow, type OrganisationStatus } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { BadRequestError, ConflictError, NotFoundError, type FieldError } from '../errors.js';
import { isUuid } from '../ids.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import { domainAndParents, emailDomain, normalizeDomain } from './email-address.js';
import { parseOrganisationsCsv, type ImportLine } from './organisations-import.js';

export const ORGANISATION_NAME_MAX_LENGTH = 200;
export const ORGANISATION_DOMAINS_MAX = 50;
/** The longest domain name DNS allows (in its ASCII form). */
export const ORGANISATION_DOMAIN_MAX_LENGTH = 253;

export interface Organisation {
  id: string;
  name: string;
  status: OrganisationStatus;
  /** ASCII (IDNA) forms, sorted. */
  domains: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface OrganisationInput {
  name: string;
  domains: string[];
  status?: OrganisationStatus;
}

export type OrganisationChanges = Partial<OrganisationInput>;

/** The organisation an address belongs to, as a registration records it. */
export interface Membership {
  id: string;
  name: string;
  status: OrganisationStatus;
}

/**
 * A 409 that says which field holds what another organisation has (`/name`, `/domains`), so
 * that the API's errors and the console's form point at it.
 */
export class OrganisationConflictError extends ConflictError {
  constructor(
    detail: string,
    override readonly errors: FieldError[],
  ) {
    super(detail);
  }
}

/**
 * The member organisation of an address: the one owning the longest listed domain the address's
 * domain is or ends in, label by label (`mail.cityofx.gov` → `cityofx.gov`; never
 * `cityofx.gov.evil.example`, whose parents are `gov.evil.example` and `evil.example`). The
 * address is normalised (IDNA) already. One indexed query, whatever the answer.
 */
export async function membershipOf(executor: Executor, normalizedEmail: string): Promise<Membership | null> {
  return (await membershipsOf(executor, [normalizedEmail])).get(normalizedEmail) ?? null;
}

/** membershipOf for many addresses in one indexed query (a crowd registering at once): address → membership. */
export async function membershipsOf(executor: Executor, normalizedEmails: string[]): Promise<Map<string, Membership | null>> {
  const pairs = [...new Set(normalizedEmails)].flatMap((email) => domainAndParents(emailDomain(email)).map((domain) => [email, domain] as const));
  const found = new Map<string, Membership | null>(normalizedEmails.map((email) => [email, null]));
  if (pairs.length === 0) return found;
  const result = await executor.execute<{ email: string; id: string; name: string; status: OrganisationStatus }>(sql`
    SELECT DISTINCT ON (c.email) c.email, o.id, o.name, o.status
    FROM unnest(${sql.param(pairs.map(([email]) => email))}::text[], ${sql.param(pairs.map(([, domain]) => domain))}::text[]) AS c(email, domain)
      JOIN ${organisationDomains} d ON d.domain = c.domain
      JOIN ${organisations} o ON o.id = d.organisation_id
    ORDER BY c.email, length(d.domain) DESC`);
  for (const row of result.rows) found.set(row.email, { id: row.id, name: row.name, status: row.status });
  return found;
}

/** The domains as typed, checked and in their stored form (errors at `/domains/<i>`). */
function domainsOf(raw: string[], errors: FieldError[], path = '/domains'): string[] {
  const domains: string[] = [];
  raw.forEach((typed, index) => {
    const domain = normalizeDomain(typed);
    if (!domain) errors.push({ path: `${path}/${index}`, message: `"${typed}" is not a domain name` });
    else if (!domains.includes(domain)) domains.push(domain);
  });
  if (domains.length > ORGANISATION_DOMAINS_MAX) errors.push({ path, message: `may have at most ${ORGANISATION_DOMAINS_MAX} domains` });
  return domains.sort();
}

/** The name as stored: spaces collapsed (so that "City  of X" and "City of X" are one name). */
function nameOf(raw: string, errors: FieldError[]): string {
  const name = raw.replace(/\s+/g, ' ').trim();
  if (!name) errors.push({ path: '/name', message: 'is required' });
  else if (name.length > ORGANISATION_NAME_MAX_LENGTH) errors.push({ path: '/name', message: `must be at most ${ORGANISATION_NAME_MAX_LENGTH} characters` });
  return name;
}

function takenError(taken: string[]): OrganisationConflictError {
  return new OrganisationConflictError(
    `${taken.join(', ')} ${taken.length === 1 ? 'belongs' : 'belong'} to another organisation already`,
    taken.map((domain) => ({ path: '/domains', message: `${domain} belongs to another organisation already` })),
  );
}

/** The constraint a concurrent change hit between our check and our write, as the same 409. */
function conflictOf(error: unknown): ConflictError | null {
  if (isUniqueViolation(error, 'organisation_domains_pkey')) {
    return new OrganisationConflictError('A domain belongs to another organisation already', [
      { path: '/domains', message: 'a domain belongs to another organisation already' },
    ]);
  }
  if (isUniqueViolation(error, 'organisations_name_unique')) {
    return new OrganisationConflictError('Another organisation has this name', [{ path: '/name', message: 'is taken by another organisation already' }]);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Importing a CSV of organisations: what each line would change, checked against the
// organisations as they are; nothing is written until the same plan is applied.

export type ImportOutcome = 'new' | 'changed' | 'unchanged' | 'refused';

export interface ImportRowPlan {
  line: number;
  /** As the CSV writes it (spaces collapsed). */
  name: string;
  outcome: ImportOutcome;
  /** The existing organisation of the same name (whatever the case), or null. */
  organisationId: string | null;
  /** Its name as stored (the import keeps it), or null. */
  existingName: string | null;
  /** The domains the organisation would have (ASCII forms, sorted); the line's whole list replaces the old one. */
  domains: string[];
  added: string[];
  removed: string[];
  /** Why the line is refused (left out of the import). */
  reasons: string[];
}

export interface ImportPlan {
  rows: ImportRowPlan[];
  counts: Record<ImportOutcome, number>;
  /** Names this exact plan: Apply writes only what the admin saw (applyImport). */
  digest: string;
}

/**
 * What importing these lines would do to the organisations as they are (pure). A line names an
 * organisation (matched by name, whatever the case) and its whole list of domains: a new one is
 * added (active); an existing one gets the domains added and removed that make its list the
 * line's, and keeps its name and status. A line is refused, and left out, when it has no name or
 * no domain, repeats an earlier line's organisation, lists a domain that is not one, lists too
 * many, lists a domain of another organisation (move it by editing that organisation first) or a
 * domain an earlier line lists.
 */
export function planOrganisationsImport(lines: ImportLine[], existing: Organisation[]): ImportPlan {
  const byName = new Map(existing.map((organisation) => [organisation.name.toLowerCase(), organisation]));
  const owners = new Map(existing.flatMap((organisation) => organisation.domains.map((domain) => [domain, organisation] as const)));
  const lineOfName = new Map<string, number>();
  const lineOfDomain = new Map<string, number>();
  const rows = lines.map((line): ImportRowPlan => {
    const errors: FieldError[] = [];
    const name = nameOf(line.name, errors);
    const domains = domainsOf(line.domains, errors);
    const reasons = errors.map((error) => (error.path !== '/name' ? error.message : name ? `the name ${error.message}` : 'has no name'));
    // An empty cell would take every domain away from an existing organisation: never by accident.
    if (line.domains.length === 0) reasons.push('lists no domain');
    const key = name.toLowerCase();
    const match = name ? (byName.get(key) ?? null) : null;
    const earlierLine = name ? lineOfName.get(key) : undefined;
    if (earlierLine !== undefined) reasons.push(`repeats the organisation on line ${earlierLine}`);
    else if (name) lineOfName.set(key, line.line);
    for (const domain of domains) {
      const owner = owners.get(domain);
      if (owner && owner.id !== match?.id) reasons.push(`${domain} belongs to ${owner.name} already`);
      const listedOn = lineOfDomain.get(domain);
      if (listedOn !== undefined) reasons.push(`${domain} is also listed on line ${listedOn}`);
      else lineOfDomain.set(domain, line.line);
    }
    const before = match?.domains ?? [];
    const added = domains.filter((domain) => !before.includes(domain));
    const removed = before.filter((domain) => !domains.includes(domain));
    const outcome: ImportOutcome = reasons.length > 0 ? 'refused' : !match ? 'new' : added.length + removed.length > 0 ? 'changed' : 'unchanged';
    return {
      line: line.line,
      name,
      outcome,
      organisationId: match?.id ?? null,
      existingName: match?.name ?? null,
      domains,
      added: outcome === 'refused' ? [] : added,
      removed: outcome === 'refused' ? [] : removed,
      reasons,
    };
  });
  const counts: Record<ImportOutcome, number> = { new: 0, changed: 0, unchanged: 0, refused: 0 };
  for (const row of rows) counts[row.outcome] += 1;
  const digest = createHash('sha256').update(JSON.stringify(rows)).digest('base64url');
  return { rows, counts, digest };
}

/** The result of an Apply: `applied` false when the organisations changed since the preview (nothing written; `plan` is the new one). */
export interface ImportResult {
  applied: boolean;
  plan: ImportPlan;
}

/**
 * The network's member organisations (api.md "Member organisations and series"): admins add and
 * change them, organizers read them. A domain belongs to one organisation (its primary key);
 * a change that would give a domain to a second one is a 409 naming the domain.
 */
export function createOrganisationsService({ db, clock }: { db: Database; clock: Clock }) {
  async function withDomains(rows: OrganisationRow[], executor: Executor = db): Promise<Organisation[]> {
    if (rows.length === 0) return [];
    const domainRows = await executor
      .select()
      .from(organisationDomains)
      .where(
        inArray(
          organisationDomains.organisationId,
          rows.map((row) => row.id),
        ),
      )
      .orderBy(asc(organisationDomains.domain));
    return rows.map((row) => ({ ...row, domains: domainRows.filter((d) => d.organisationId === row.id).map((d) => d.domain) }));
  }

  async function list(executor: Executor = db): Promise<Organisation[]> {
    const rows = await executor.select().from(organisations).orderBy(sql`lower(${organisations.name})`, asc(organisations.id));
    return withDomains(rows, executor);
  }

  async function get(id: string, executor: Executor = db, lock = false): Promise<Organisation> {
    if (!isUuid(id)) throw new NotFoundError('No such organisation');
    const query = executor.select().from(organisations).where(eq(organisations.id, id));
    const [row] = lock ? await query.for('update') : await query;
    if (!row) throw new NotFoundError('No such organisation');
    return (await withDomains([row], executor))[0]!;
  }

  /** The domains owned by another organisation than `id`: the 409 names them. */
  async function takenDomains(executor: Executor, domains: string[], id: string | null): Promise<string[]> {
    if (domains.length === 0) return [];
    const rows = await executor.select().from(organisationDomains).where(inArray(organisationDomains.domain, domains));
    return rows.filter((row) => row.organisationId !== id).map((row) => row.domain);
  }

  async function writeDomains(tx: Executor, id: string, domains: string[]): Promise<void> {
    await tx.delete(organisationDomains).where(eq(organisationDomains.organisationId, id));
    if (domains.length > 0) await tx.insert(organisationDomains).values(domains.map((domain) => ({ domain, organisationId: id })));
  }

  /** A create inside a transaction (the API's, the console's, each new line of an import). */
  async function createIn(tx: Executor, input: OrganisationInput, actor: AuditActor | null, now: Date): Promise<Organisation> {
    const errors: FieldError[] = [];
    const name = nameOf(input.name, errors);
    const domains = domainsOf(input.domains, errors);
    if (errors.length > 0) throw new BadRequestError('The organisation is not valid', errors);
    const taken = await takenDomains(tx, domains, null);
    if (taken.length > 0) throw takenError(taken);
    const [row] = await tx.insert(organisations).values({ name, status: input.status ?? 'active', createdAt: now, updatedAt: now }).returning();
    await writeDomains(tx, row!.id, domains);
    const details = { name, domains, status: row!.status };
    await recordAudit(tx, { at: now, actor, action: 'organisation.create', subjectType: 'organisation', subjectId: row!.id, details });
    return (await withDomains([row!], tx))[0]!;
  }

  /** An update inside a transaction; a change to nothing writes nothing (no audit entry either). */
  async function updateIn(tx: Executor, id: string, changes: OrganisationChanges, actor: AuditActor | null, now: Date): Promise<Organisation> {
    const errors: FieldError[] = [];
    const name = changes.name === undefined ? undefined : nameOf(changes.name, errors);
    const domains = changes.domains === undefined ? undefined : domainsOf(changes.domains, errors);
    if (errors.length > 0) throw new BadRequestError('The organisation is not valid', errors);
    // Locked: two changes of one organisation apply one after the other, each to what the other left.
    const before = await get(id, tx, true);
    const after = { name: name ?? before.name, domains: domains ?? before.domains, status: changes.status ?? before.status };
    const fields = (['name', 'domains', 'status'] as const).filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
    if (fields.length === 0) return before;
    if (fields.includes('domains')) {
      const taken = await takenDomains(tx, after.domains, id);
      if (taken.length > 0) throw takenError(taken);
    }
    await tx.update(organisations).set({ name: after.name, status: after.status, updatedAt: now }).where(eq(organisations.id, id));
    if (fields.includes('domains')) await writeDomains(tx, id, after.domains);
    const details = { fields, ...Object.fromEntries(fields.map((field) => [field, after[field]])) };
    await recordAudit(tx, { at: now, actor, action: 'organisation.update', subjectType: 'organisation', subjectId: id, details });
    return { ...before, ...after, updatedAt: now };
  }

  /** One transaction; a unique index hit by a concurrent change is the same 409 as our own check. */
  async function inTransaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    try {
      return await db.transaction(work);
    } catch (error) {
      throw conflictOf(error) ?? error;
    }
  }

  async function create(input: OrganisationInput, actor: AuditActor | null): Promise<Organisation> {
    return inTransaction((tx) => createIn(tx, input, actor, clock.now()));
  }

  /**
   * Changes name, domains (the whole list) or status. Registrations keep the organisation they
   * recorded: a domain given up later does not move anyone's past registrations.
   */
  async function update(id: string, changes: OrganisationChanges, actor: AuditActor | null): Promise<Organisation> {
    return inTransaction((tx) => updateIn(tx, id, changes, actor, clock.now()));
  }

  async function byName(name: string, executor: Executor = db): Promise<Organisation | null> {
    const [row] = await executor.select().from(organisations).where(and(sql`lower(${organisations.name}) = lower(${name})`));
    return row ? (await withDomains([row], executor))[0]! : null;
  }

  /** What importing this CSV text would change (planOrganisationsImport); writes nothing. 400 at `/csv` when unreadable. */
  async function previewImport(csv: string): Promise<ImportPlan> {
    return planOrganisationsImport(parseOrganisationsCsv(csv), await list());
  }

  /**
   * Applies the import of this CSV text if it still plans to what the admin previewed (`digest`):
   * every new and changed organisation in one transaction, all or nothing, each audited as the
   * API's create and update are; refused and unchanged lines are left out. When the plan differs
   * now (someone changed the organisations meanwhile), nothing is written and the new plan is
   * returned, to be previewed again.
   */
  async function applyImport(csv: string, digest: string, actor: AuditActor | null): Promise<ImportResult> {
    const lines = parseOrganisationsCsv(csv);
    return inTransaction(async (tx) => {
      // Every organisation locked before it is read: an edit or another import waits for this
      // one, and the plan is made against what is then written over.
      await tx.select({ id: organisations.id }).from(organisations).orderBy(asc(organisations.id)).for('update');
      const plan = planOrganisationsImport(lines, await list(tx));
      if (plan.digest !== digest) return { applied: false, plan };
      const now = clock.now();
      for (const row of plan.rows) {
        if (row.outcome === 'new') await createIn(tx, { name: row.name, domains: row.domains }, actor, now);
        else if (row.outcome === 'changed') await updateIn(tx, row.organisationId!, { domains: row.domains }, actor, now);
      }
      return { applied: true, plan };
    });
  }

  return {
    list: (executor: Executor = db) => list(executor),
    get: (id: string, executor: Executor = db) => get(id, executor),
    byName,
    create,
    update,
    previewImport,
    applyImport,
    membershipOf: (email: string) => membershipOf(db, email),
  };
}

export type OrganisationsService = ReturnType<typeof createOrganisationsService>;
