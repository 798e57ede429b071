import { once } from 'node:events';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Test } from 'tap';
import { parseMime, type MimePart } from './mime.js';
import { waitFor } from './waiting.js';

/**
 * A real SMTP server (smtp-server) in the test process, and what it received, read by mailparser
 * (the flattened view: text, HTML, the invite) and by our MIME reader (the tree).
 */

export interface ReceivedInvite {
  /** The text/calendar alternative, decoded. */
  bytes: Buffer;
  text: string;
  /** The `method` parameter of its Content-Type. */
  method: string | undefined;
  /** The same invite attached as invite.ics (application/ics), decoded. */
  attachment: Buffer | null;
}

export interface ReceivedMail {
  raw: Buffer;
  mailFrom: string;
  rcptTo: string[];
  parsed: ParsedMail;
  mime: MimePart;
  messageId: string;
  text: string;
  html: string;
  invite: ReceivedInvite | null;
  receivedAt: number;
}

export interface FailureRule {
  remaining: number;
  code: number;
  message: string;
  /** Only messages to this address fail (lower case); any message when absent. */
  to?: string;
}

export interface SmtpSink {
  port: number;
  url: string;
  /** Accepted messages, in arrival order. */
  messages: ReceivedMail[];
  /** Messages answered with an error code. */
  refused: Array<{ rcptTo: string[]; code: number; at: number }>;
  /** Answers the next `count` messages (to `to`, when given) with `code`. */
  failNext(count: number, code: number, options?: { message?: string; to?: string }): void;
  /** Accepted messages to one recipient. */
  to(address: string): ReceivedMail[];
  /** Waits until `address` has received `count` messages (or more), returns them. */
  waitForMail(address: string, count?: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Hooks for crash tests: may delay the answer to RCPT TO, or hold a received message before answering. */
  hooks: {
    onRcptTo?: (address: string) => Promise<void> | void;
    afterData?: (mail: ReceivedMail) => Promise<void> | void;
  };
  close(): Promise<void>;
}

async function readStream(stream: SMTPServerDataStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function toReceivedMail(raw: Buffer, envelope: { mailFrom: string; rcptTo: string[] }): Promise<ReceivedMail> {
  const parsed = await simpleParser(raw);
  const calendars = parsed.attachments.filter((a) => a.contentType === 'text/calendar');
  const files = parsed.attachments.filter((a) => a.contentType === 'application/ics');
  const calendar = calendars[0];
  let invite: ReceivedInvite | null = null;
  if (calendar) {
    const contentType = calendar.headers.get('content-type') as { value: string; params?: Record<string, string> } | undefined;
    invite = {
      bytes: calendar.content,
      text: calendar.content.toString('utf8'),
      method: contentType?.params?.method,
      attachment: files[0]?.content ?? null,
    };
  }
  return {
    raw,
    mailFrom: envelope.mailFrom,
    rcptTo: envelope.rcptTo,
    parsed,
    mime: parseMime(raw),
    messageId: parsed.messageId ?? '',
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : '',
    invite,
    receivedAt: Date.now(),
  };
}

/** A real SMTP server (smtp-server) on a free port of 127.0.0.1; closed in teardown. */
export async function startSmtpSink(t: Test): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const refused: SmtpSink['refused'] = [];
  const rules: FailureRule[] = [];
  const hooks: SmtpSink['hooks'] = {};
  const address = (a: SMTPServerAddress | false) => (a ? a.address.toLowerCase() : '');

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onRcptTo(rcpt, _session, callback) {
      const hook = hooks.onRcptTo;
      if (!hook) return callback();
      Promise.resolve(hook(rcpt.address.toLowerCase())).then(
        () => callback(),
        () => callback(),
      );
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      void (async () => {
        const raw = await readStream(stream);
        const rcptTo = session.envelope.rcptTo.map(address);
        const rule = rules.find((r) => r.remaining > 0 && (!r.to || rcptTo.includes(r.to)));
        if (rule) {
          rule.remaining -= 1;
          refused.push({ rcptTo, code: rule.code, at: Date.now() });
          const error = new Error(rule.message) as Error & { responseCode: number };
          error.responseCode = rule.code;
          return callback(error);
        }
        const mail = await toReceivedMail(raw, { mailFrom: address(session.envelope.mailFrom), rcptTo });
        messages.push(mail);
        if (hooks.afterData) await hooks.afterData(mail);
        callback(null, `queued as ${messages.length}`);
      })().catch((error: unknown) => {
        try {
          callback(error as Error);
        } catch {
          // the client is gone (a crash test killed it)
        }
      });
    },
  });
  server.on('error', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const info = server.server.address();
  const port = typeof info === 'object' && info ? info.port : 0;

  const sink: SmtpSink = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    refused,
    hooks,
    failNext(count, code, options = {}) {
      rules.push({ remaining: count, code, message: options.message ?? (code >= 500 ? 'mailbox unavailable' : 'try later'), to: options.to?.toLowerCase() });
    },
    to(recipient) {
      const wanted = recipient.toLowerCase();
      return messages.filter((m) => m.rcptTo.includes(wanted));
    },
    async waitForMail(recipient, count = 1, timeoutMs = 15_000) {
      await waitFor(() => sink.to(recipient).length >= count, timeoutMs, `${count} message(s) to ${recipient}`);
      return sink.to(recipient);
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  t.teardown(() => sink.close());
  return sink;
}
