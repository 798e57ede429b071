import t from 'tap';
import { Webhook } from 'standardwebhooks';
import { decryptSecret, encryptSecret, newWebhookSecret, secretsKey, signatureHeaders } from '../../src/services/webhooks/signing.js';

const body = JSON.stringify({ type: 'registration.created', timestamp: new Date().toISOString(), data: { registrationId: 'r1' } });

t.test('a new secret is whsec_ and base64 of 32 random bytes', async (t) => {
  const secret = newWebhookSecret();
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  t.equal(Buffer.from(secret.slice('whsec_'.length), 'base64').length, 32);
  t.not(newWebhookSecret(), secret, 'never the same twice');
});

t.test('headers per Standard Webhooks, verified by the reference library', async (t) => {
  const secret = newWebhookSecret();
  const timestamp = new Date();
  const headers = signatureHeaders({ id: 'msg_1', timestamp, body, secrets: [secret] });
  t.equal(headers['webhook-id'], 'msg_1');
  t.equal(headers['webhook-timestamp'], String(Math.floor(timestamp.getTime() / 1000)), 'unix seconds');
  t.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
  t.same(new Webhook(secret).verify(body, headers), JSON.parse(body));
  t.equal(headers['webhook-signature'], new Webhook(secret).sign('msg_1', timestamp, body), 'the same signature as the reference signer');
});

t.test('during a rotation: two signatures, each verifying under its own secret', async (t) => {
  const current = newWebhookSecret();
  const previous = newWebhookSecret();
  const headers = signatureHeaders({ id: 'msg_2', timestamp: new Date(), body, secrets: [current, previous] });
  const signatures = headers['webhook-signature'].split(' ');
  t.equal(signatures.length, 2);
  t.ok(new Webhook(current).verify(body, headers), 'a receiver with the new secret accepts');
  t.ok(new Webhook(previous).verify(body, headers), 'a receiver still on the old secret accepts');
  t.ok(new Webhook(current).verify(body, { ...headers, 'webhook-signature': signatures[0]! }), 'the first signature alone is the current one');
  t.ok(new Webhook(previous).verify(body, { ...headers, 'webhook-signature': signatures[1]! }), 'the second alone is the previous one');
  t.throws(() => new Webhook(current).verify(body, { ...headers, 'webhook-signature': signatures[1]! }), 'the old signature does not pass for the new secret');
});

t.test('anything altered fails verification', async (t) => {
  const secret = newWebhookSecret();
  const headers = signatureHeaders({ id: 'msg_3', timestamp: new Date(), body, secrets: [secret] });
  const webhook = new Webhook(secret);
  t.throws(() => webhook.verify(body.replace('r1', 'r2'), headers), 'tampered body');
  t.throws(() => webhook.verify(body, { ...headers, 'webhook-id': 'msg_4' }), 'another id');
  t.throws(() => webhook.verify(body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) }), 'another timestamp');
  t.throws(() => new Webhook(newWebhookSecret()).verify(body, headers), 'another secret');
});

t.test('signing needs a secret of the right form', async (t) => {
  t.throws(() => signatureHeaders({ id: 'x', timestamp: new Date(), body, secrets: [] }));
  t.throws(() => signatureHeaders({ id: 'x', timestamp: new Date(), body, secrets: ['not-a-secret'] }));
});

t.test('secrets are stored encrypted (AES-256-GCM) and read back', async (t) => {
  const key = secretsKey('a-token-secret-of-enough-length-for-tests');
  t.equal(key.length, 32);
  t.same(secretsKey('a-token-secret-of-enough-length-for-tests'), key, 'the same key from the same token secret');
  t.notSame(secretsKey('another-token-secret-of-enough-length'), key);

  const secret = newWebhookSecret();
  const stored = encryptSecret(secret, key);
  t.match(stored, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/, 'v1.<iv>.<tag>.<ciphertext>, base64url');
  t.notMatch(stored, secret.slice('whsec_'.length));
  t.equal(decryptSecret(stored, key), secret, 'round trip');
  t.not(encryptSecret(secret, key), stored, 'a fresh IV each time');

  const [version, iv, tag, data] = stored.split('.') as [string, string, string, string];
  const flipFirst = (part: string) => {
    const bytes = Buffer.from(part, 'base64url');
    bytes[0] = bytes[0]! ^ 1;
    return bytes.toString('base64url');
  };
  t.throws(() => decryptSecret([version, iv, tag, flipFirst(data)].join('.'), key), /could not be decrypted/, 'altered ciphertext');
  t.throws(() => decryptSecret([version, iv, flipFirst(tag), data].join('.'), key), /could not be decrypted/, 'altered tag');
  t.throws(() => decryptSecret([version, flipFirst(iv), tag, data].join('.'), key), /could not be decrypted/, 'altered IV');
  t.throws(() => decryptSecret(stored, secretsKey('another-token-secret-of-enough-length')), /could not be decrypted/, 'another key');
  t.throws(() => decryptSecret(`v2.${iv}.${tag}.${data}`, key), /not an encrypted webhook secret/, 'unknown version');
  t.throws(() => decryptSecret(secret, key), /not an encrypted webhook secret/, 'plain text');
});
