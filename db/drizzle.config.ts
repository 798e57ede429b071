import { defineConfig } from 'drizzle-kit';

// drizzle-kit only compares the TypeScript schema with the committed migrations; it needs no
// database for `generate` and `check`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema/index.ts',
  out: './db/migrations',
});
