import { approvalBench } from './approvals.js';
import { consoleBench } from './console.js';
import { feedBenches } from './feeds.js';
import { enumerationBench } from './enumeration.js';
import { exportBench } from './export.js';
import { openBench, reportedRows } from './lib.js';
import { inviteLatencyBench } from './invite-latency.js';
import { offerBenches } from './offers.js';
import { registerBenches } from './register.js';
import { reminderBenches } from './reminders.js';
import { webhookBench } from './webhooks.js';

/** `npm run bench [name ...]`: every benchmark prints our figure beside a baseline measured in the same run. */
const benches: Record<string, typeof registerBenches> = {
  register: registerBenches,
  'invite-latency': inviteLatencyBench,
  export: exportBench,
  reminders: reminderBenches,
  feeds: feedBenches,
  enumeration: enumerationBench,
  console: consoleBench,
  offers: offerBenches,
  approvals: approvalBench,
  webhooks: webhookBench,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}

const ctx = await openBench();
try {
  for (const [name, run] of Object.entries(benches)) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    console.log(`\n== ${name}`);
    await run(ctx);
  }
} finally {
  await ctx.database.pool.end();
}
const missed = reportedRows().filter((row) => !row.ok);
console.log(`\n${reportedRows().length - missed.length} of ${reportedRows().length} figures on target`);
