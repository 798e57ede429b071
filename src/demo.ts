import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DateTime } from 'luxon';
import type { Config } from './config.js';
import type { Services } from './services/index.js';
import type { SessionInput } from './services/session-values.js';

export const DEMO_SLUG = 'online-privacy-and-security-for-mayors';

/** The example of product.md: the next December 4, 14:00-15:30 in Chicago. */
export function demoSession(now: Date): SessionInput {
  let start = DateTime.fromObject({ year: now.getUTCFullYear(), month: 12, day: 4, hour: 14 }, { zone: 'America/Chicago' });
  if (start.plus({ minutes: 90 }).toJSDate() <= now) start = start.plus({ years: 1 });
  return {
    title: 'Online Privacy and Security for Mayors',
    slug: DEMO_SLUG,
    summary: 'Understand the threats and protect your personal information online.',
    description:
      'A practical training for mayors and their advisors: doxxing, account takeover, phishing, and what to do when harassment starts.',
    startsAt: start.toUTC().toISO()!,
    endsAt: start.plus({ minutes: 90 }).toUTC().toISO()!,
    timezone: 'America/Chicago',
    capacity: 100,
    waitlist: { enabled: true, limit: null },
    registrationOpensAt: start.minus({ weeks: 2 }).toUTC().toISO()!,
    registrationClosesAt: null,
    audience: { kind: 'public' },
    questions: [
      { id: 'city', label: 'Your city', type: 'text', required: true },
      { id: 'role', label: 'Role', type: 'select', options: ['Mayor', 'Staff'], required: false },
    ],
    reminders: [1440, 60],
    joinUrl: 'https://meet.example.org/j/123',
    joinInstructions: 'Passcode 4321',
    contact: { name: 'Programme team', email: 'programs@example.org' },
  };
}

/** Adds the published example session when it is absent. */
export async function seedDemo(services: Services, config: Pick<Config, 'adminEmail'>): Promise<{ slug: string; created: boolean }> {
  if (await services.sessions.getBySlug(DEMO_SLUG)) return { slug: DEMO_SLUG, created: false };
  const admins = (await services.organizers.list()).filter((organizer) => organizer.role === 'admin');
  const owner = admins.find((admin) => admin.email === config.adminEmail?.toLowerCase()) ?? admins[0] ?? null;
  const session = await services.sessions.create(demoSession(new Date()), owner);
  await services.sessions.publish(session.id);
  return { slug: DEMO_SLUG, created: true };
}

const runAsScript = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (runAsScript) {
  const { loadConfig } = await import('./config.js');
  const { createDb } = await import('../db/client.js');
  const { migrateDatabase } = await import('../db/migrate.js');
  const { createServices } = await import('./services/index.js');
  const { systemClock } = await import('./clock.js');
  try {
    const { config } = loadConfig();
    await migrateDatabase(config.databaseUrl);
    const database = createDb(config.databaseUrl);
    const result = await seedDemo(createServices({ db: database.db, clock: systemClock, config }), config);
    console.log(result.created ? `created the demo session /s/${result.slug}` : `the demo session /s/${result.slug} exists already`);
    await database.pool.end();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
