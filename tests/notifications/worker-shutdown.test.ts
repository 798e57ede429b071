import t from 'tap';
import { uniqueEmail } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { notificationsOf } from '../helpers/notification-rows.js';
import { createSession, registered } from '../helpers/registrations.js';
import { waitFor } from '../helpers/waiting.js';

/** SIGTERM for a worker: the job in flight finishes before close() resolves; none is cut off. */

const ctx = await startMailTest(t, { name: 'worker_shutdown', redisDb: 7 });
const { app, database, sink, owner } = ctx;

t.test('closing the worker lets the e-mail being sent finish first', async (t) => {
  const session = await createSession(app, owner.headers, {});
  const email = uniqueEmail('shutdown');
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let arrived = false;
  sink.hooks.afterData = async () => {
    arrived = true;
    await held;
  };
  await registered(app, session.slug, { name: 'Late Leaver', email });
  await waitFor(() => arrived, 10_000, 'the message reached the SMTP server');

  let closed = false;
  const closing = ctx.worker()!.close(10_000).then(() => (closed = true));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.notOk(closed, 'close() waits for the job in flight');
  release();
  await closing;
  sink.hooks.afterData = undefined;

  const rows = await notificationsOf(database, session.id, email);
  t.same(
    rows.map((row) => row.status),
    ['sent'],
    'the job finished and recorded its delivery before the worker closed',
  );
  t.equal(sink.to(email).length, 1, 'delivered once');
});
