import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { uniqueEmail } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { checkMail, MAIL_FROM_ADDRESS } from '../helpers/mail-checks.js';
import { notificationsOf } from '../helpers/notification-rows.js';
import { createSession, registered } from '../helpers/registrations.js';
import { toReceivedMail } from '../helpers/smtp-sink.js';
import { waitFor } from '../helpers/waiting.js';

/**
 * The development mailbox: without SMTP_URL the worker writes every message as an .eml file in
 * MAIL_DIR, a real MIME message with the invite, which mailparser and ical.js read back.
 */

const mailDir = await mkdtemp(join(tmpdir(), 'convene-mailbox-'));
t.teardown(() => rm(mailDir, { recursive: true, force: true }));
const ctx = await startMailTest(t, { name: 'dev_mailbox', redisDb: 10, smtp: false, env: { SMTP_URL: undefined, MAIL_DIR: mailDir } });
const { app, database, owner } = ctx;
const contact = { name: 'Mailbox Desk', email: 'mailbox-desk@org.example' };

t.test('a registration writes an .eml file with the invite', async (t) => {
  t.equal(ctx.config.smtpUrl, null, 'no SMTP_URL');
  const session = await createSession(app, owner.headers, { contact });
  const email = uniqueEmail('laptop');
  await registered(app, session.slug, { name: 'Laptop Developer', email });

  const files = await waitFor(async () => {
    const names = (await readdir(mailDir)).filter((name) => name.endsWith('.eml'));
    return names.length > 0 ? names : null;
  }, 10_000, 'an .eml file');
  t.equal(files.length, 1, 'one file');
  const [row] = await waitFor(async () => {
    const rows = await notificationsOf(database, session.id, email);
    return rows[0]?.status === 'sent' ? rows : null;
  }, 5_000, 'the row marked sent');
  t.match(files[0]!, new RegExp(`notification-${row!.id}`), 'the file is named after the Message-ID');

  const raw = await readFile(join(mailDir, files[0]!));
  t.notMatch(raw.toString('latin1'), /[^\r]\n/, 'CRLF line endings, as any mail client expects');
  // A file has no SMTP envelope: take it from the headers so the shared checks apply.
  const mail = await toReceivedMail(raw, { mailFrom: MAIL_FROM_ADDRESS, rcptTo: [email] });
  const facts = checkMail(t, mail, { to: email, contact, invite: 'REQUEST' }, 'development mailbox')!;
  t.equal(mail.messageId, row!.message_id, 'the Message-ID of the row');
  t.equal(facts.attendees[0]!.cn, 'Laptop Developer');
  t.equal(facts.summary, session.title);
  t.equal(facts.start.toISOString(), new Date(session.startsAt).toISOString());
});
