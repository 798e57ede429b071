import { sql } from 'drizzle-orm';
import { check, customType, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

/**
 * The organisation's branding (GET/PATCH /api/v1/settings): one row (id 1), read by pages,
 * e-mails, invites and feeds. A null field falls back to the service's default. The logo is
 * stored here and served by Convene at /assets/logo, so no page or e-mail loads a third-party asset.
 */
export const settings = pgTable(
  'settings',
  {
    id: integer('id').primaryKey().default(1),
    name: text('name'),
    website: text('website'),
    accentColor: text('accent_color'),
    mailFromName: text('mail_from_name'),
    footer: text('footer'),
    privacyUrl: text('privacy_url'),
    logo: bytea('logo'),
    logoType: text('logo_type'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check('settings_single_row', sql`${table.id} = 1`)],
);

export type SettingsRow = typeof settings.$inferSelect;
