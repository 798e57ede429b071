import { crc32, deflateSync } from 'node:zlib';
import type { Test } from 'tap';
import { signIn, type SignedInOrganizer } from '../helpers/app.js';
import { startMailTest, type MailTest } from '../helpers/isolated-app.js';
import { startRedisProcess } from '../helpers/processes.js';

/**
 * Branding tests change the one global settings row, which every page and e-mail reads: each
 * file runs on a database of its own (and a throwaway redis-server), never on convene_test.
 */
export async function startBrandingTest(t: Test, name: string): Promise<MailTest & { admin: SignedInOrganizer }> {
  const redis = await startRedisProcess(t);
  const test = await startMailTest(t, { name, redisUrl: redis.url, smtp: false, worker: false });
  // Each run starts from the defaults (an earlier run of the same file may have left its branding).
  await test.database.pool.query('DELETE FROM settings');
  test.app.services.settings.forget();
  const admin = await signIn(test.app, 'admin');
  return { ...test, admin };
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A real PNG of one colour (RGB), `width` x `height`; `padding` adds that many bytes in a private chunk. */
export function pngImage(width = 4, height = 4, rgb: [number, number, number] = [200, 30, 30], padding = 0): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(8, 8); // bit depth
  header.writeUInt8(2, 9); // truecolour
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    ...(padding > 0 ? [chunk('pdDg', Buffer.alloc(padding, 7))] : []),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The first bytes of a JPEG (SOI, APP0 "JFIF") and some more: enough for the magic-byte check. */
export function jpegBytes(): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0', 'ascii'), Buffer.alloc(64, 1), Buffer.from([0xff, 0xd9])]);
}

export const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>');

/** A multipart/form-data body with text fields and files. */
export function multipartBody(
  fields: Record<string, string>,
  files: Array<{ name: string; filename: string; type: string; bytes: Buffer }>,
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----convene-test-${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  for (const file of files) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: ${file.type}\r\n\r\n`));
    parts.push(file.bytes, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}
