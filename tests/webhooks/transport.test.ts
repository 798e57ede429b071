import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, signatureHeaders } from '../../src/services/webhooks/signing.js';
import { createWebhookTransport, type WebhookResolver, type WebhookTransportOptions } from '../../src/services/webhooks/transport.js';
import { freePort } from '../helpers/processes.js';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const TEN_MEGABYTES = 10 * 1024 * 1024;

/** A receiver on a loopback port, answering by path, recording every request and connection. */
async function startReceiver(t: Test) {
  const received: Received[] = [];
  let connections = 0;
  let hugeBody = { sent: 0, finished: false };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      respond(req.url ?? '', res);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });

  function respond(path: string, res: ServerResponse) {
    switch (path) {
      case '/ok':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
        return;
      case '/fail':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('something broke');
        return;
      case '/gone':
        res.writeHead(410).end();
        return;
      case '/redirect':
        res.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end();
        return;
      case '/redirect-307':
        res.writeHead(307, { location: `http://127.0.0.1:${port}/target` }).end();
        return;
      case '/target':
        res.writeHead(200).end('followed');
        return;
      case '/slow':
        return; // never answers
      case '/slow-body':
        res.writeHead(200, { 'content-type': 'text/plain' }).write('partial'); // and never ends
        return;
      case '/multibyte':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('x' + 'é'.repeat(1000));
        return;
      case '/huge': {
        // 10 MB, written as fast as the client takes it.
        hugeBody = { sent: 0, finished: false };
        const chunk = Buffer.alloc(64 * 1024, 'a');
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(TEN_MEGABYTES) });
        res.on('finish', () => {
          hugeBody.finished = true;
        });
        const writeMore = () => {
          while (hugeBody.sent < TEN_MEGABYTES && !res.destroyed) {
            hugeBody.sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', writeMore);
          }
          if (!res.destroyed) res.end();
        };
        writeMore();
        return;
      }
      default:
        res.writeHead(404).end();
    }
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    received,
    hits: (path: string) => received.filter((request) => request.path === path).length,
    connections: () => connections,
    hugeBody: () => hugeBody,
  };
}

function transportFor(t: Test, options: WebhookTransportOptions) {
  const transport = createWebhookTransport(options);
  t.teardown(() => transport.close());
  return transport;
}

/** A resolver that knows a few names, as a DNS server under someone else's control would answer. */
function resolverOf(names: Record<string, Array<{ address: string; family: 4 | 6 }>>): WebhookResolver {
  return async (hostname) => {
    const addresses = names[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
    return addresses;
  };
}

const payload = JSON.stringify({ type: 'ping', timestamp: new Date().toISOString(), data: {} });

t.test('a 2xx: body and headers arrive intact, signed and verifiable', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: true });
  const secret = newWebhookSecret();
  const headers = signatureHeaders({ id: 'msg_ok', timestamp: new Date(), body: payload, secrets: [secret] });

  const result = await transport.post(`${receiver.origin}/ok`, payload, headers);
  t.same(result, { statusCode: 200, error: null, responseExcerpt: 'thanks' });

  t.equal(receiver.received.length, 1);
  const request = receiver.received[0]!;
  t.equal(request.method, 'POST');
  t.equal(request.body, payload);
  t.equal(request.headers['content-type'], 'application/json');
  t.equal(request.headers['user-agent'], 'Convene-Webhooks/1');
  t.equal(request.headers['webhook-id'], 'msg_ok');
  t.equal(request.headers['webhook-timestamp'], headers['webhook-timestamp']);
  t.equal(request.headers['webhook-signature'], headers['webhook-signature']);
  const verified = new Webhook(secret).verify(request.body, {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  });
  t.same(verified, JSON.parse(payload), 'the receiver verifies it with the reference library');
});

t.test('connections are kept alive and reused for the same origin', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: true });
  for (let i = 0; i < 20; i += 1) t.equal((await transport.post(`${receiver.origin}/ok`, payload, {})).statusCode, 200);
  // undici may open a second connection while the first is being handed back; never one per request.
  t.ok(receiver.connections() <= 2, `20 requests over ${receiver.connections()} connection(s)`);
  const together = await Promise.all(Array.from({ length: 3 }, () => transport.post(`${receiver.origin}/fail`, payload, {})));
  t.same(together.map((result) => result.statusCode), [500, 500, 500], 'concurrent requests each get their answer');
  t.equal(receiver.received.length, 23);
});

t.test('a non-2xx is reported with the start of its body', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: true });
  t.same(await transport.post(`${receiver.origin}/fail`, payload, {}), { statusCode: 500, error: null, responseExcerpt: 'something broke' });
  t.same(await transport.post(`${receiver.origin}/gone`, payload, {}), { statusCode: 410, error: null, responseExcerpt: '' });
});

t.test('redirects are not followed: a 3xx is just a status', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: true });
  t.equal((await transport.post(`${receiver.origin}/redirect`, payload, {})).statusCode, 302);
  t.equal((await transport.post(`${receiver.origin}/redirect-307`, payload, {})).statusCode, 307);
  t.equal(receiver.hits('/target'), 0, 'the Location was never requested');
});

t.test('a receiver that does not answer: timeout', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: true, timeoutMs: 300 });
  const started = Date.now();
  const result = await transport.post(`${receiver.origin}/slow`, payload, {});
  const elapsed = Date.now() - started;
  t.same(result, { statusCode: null, error: 'timeout', responseExcerpt: '' });
  t.ok(elapsed >= 250 && elapsed < 2000, `gave up after ${elapsed} ms`);
  t.equal((await transport.post(`${receiver.origin}/ok`, payload, {})).statusCode, 200, 'the next request is not held up');
});

t.test('a resolver slower than the timeout: timeout too (the timeout covers connecting), and nothing is sent', async (t) => {
  const receiver = await startReceiver(t);
  const slowResolver: WebhookResolver = () =>
    new Promise((resolve) => setTimeout(() => resolve([{ address: '127.0.0.1', family: 4 }]), 1000));
  const transport = transportFor(t, { allowPrivate: true, timeoutMs: 300, lookup: slowResolver });
  const started = Date.now();
  t.same(await transport.post(`http://slow-dns.example:${receiver.port}/ok`, payload, {}), { statusCode: null, error: 'timeout', responseExcerpt: '' });
  t.ok(Date.now() - started < 900, 'not waiting for the resolver');
  await new Promise((resolve) => setTimeout(resolve, 1200));
  t.equal(receiver.received.length, 0, 'the request given up on was never sent later');
});

t.test('an answer whose body never ends: the status stands, the excerpt is what came', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: true, timeoutMs: 300 });
  const started = Date.now();
  t.same(await transport.post(`${receiver.origin}/slow-body`, payload, {}), { statusCode: 200, error: null, responseExcerpt: 'partial' });
  t.ok(Date.now() - started < 2000, 'returned at the timeout');
});

t.test('a 10 MB answer: at most 1 KB is read and the call returns at once', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: true, timeoutMs: 5000 });
  const started = Date.now();
  const result = await transport.post(`${receiver.origin}/huge`, payload, {});
  const elapsed = Date.now() - started;
  t.equal(result.statusCode, 200);
  t.equal(result.error, null);
  t.equal(result.responseExcerpt, 'a'.repeat(1024));
  t.ok(elapsed < 2000, `returned after ${elapsed} ms`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.notOk(receiver.hugeBody().finished, `the rest was not downloaded (${receiver.hugeBody().sent} bytes offered)`);
  t.equal((await transport.post(`${receiver.origin}/ok`, payload, {})).statusCode, 200, 'the transport carries on');
});

t.test('the excerpt never ends in half a character', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: true });
  const result = await transport.post(`${receiver.origin}/multibyte`, payload, {});
  t.equal(result.responseExcerpt, 'x' + 'é'.repeat(511), '1 + 511 × 2 bytes; the 1024th byte is half an é');
});

t.test('failures to connect are reported, not thrown', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: true, lookup: resolverOf({ 'nowhere.example': [] }) });
  const closedPort = await freePort();
  t.same(await transport.post(`http://127.0.0.1:${closedPort}/hook`, payload, {}), { statusCode: null, error: 'connection refused', responseExcerpt: '' });
  const tls = await transport.post(`https://127.0.0.1:${receiver.port}/ok`, payload, {});
  t.equal(tls.statusCode, null);
  t.match(tls.error, /^TLS: wrong version number$/, `a receiver that does not speak TLS: ${tls.error}`);
  t.match((await transport.post('http://unknown.example/hook', payload, {})).error, /host not found/);
  t.match((await transport.post('http://nowhere.example/hook', payload, {})).error, /host not found/);
  t.match((await transport.post('not a url', payload, {})).error, /absolute URL/);
  t.match((await transport.post('http://127.0.0.1/hook', payload, { 'webhook-id': 'bad\r\nvalue' })).error, /./, 'a header undici refuses');
});

t.test('the resolver decides where a name goes (allowed when private addresses are)', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: true, lookup: resolverOf({ 'rebind.example': [{ address: '127.0.0.1', family: 4 }] }) });
  const result = await transport.post(`http://rebind.example:${receiver.port}/ok`, payload, {});
  t.equal(result.statusCode, 200);
  t.equal(receiver.received[0]?.headers.host, `rebind.example:${receiver.port}`);
});

t.test('without private addresses: loopback, private and mapped addresses are refused before connecting', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, {
    allowPrivate: false,
    lookup: resolverOf({
      'rebind.example': [{ address: '127.0.0.1', family: 4 }],
      'mixed.example': [
        { address: '93.184.216.34', family: 4 },
        { address: '10.1.2.3', family: 4 },
      ],
      'v6.example': [{ address: '::ffff:127.0.0.1', family: 6 }],
    }),
  });
  const port = receiver.port;
  const cases: Array<[string, RegExp]> = [
    [`http://127.0.0.1:${port}/ok`, /https/],
    [`https://127.0.0.1:${port}/ok`, /^address not allowed: 127\.0\.0\.1$/],
    [`https://[::1]:${port}/ok`, /^address not allowed: ::1$/],
    [`https://[::ffff:127.0.0.1]:${port}/ok`, /^address not allowed: ::ffff:7f00:1$/],
    ['https://10.0.0.1/hook', /^address not allowed: 10\.0\.0\.1$/],
    ['https://169.254.169.254/latest/meta-data', /^address not allowed: 169\.254\.169\.254$/],
    [`https://rebind.example:${port}/ok`, /^address not allowed: 127\.0\.0\.1$/],
    [`https://mixed.example:${port}/ok`, /^address not allowed: 10\.1\.2\.3$/],
    [`https://v6.example:${port}/ok`, /^address not allowed: ::ffff:127\.0\.0\.1$/],
  ];
  for (const [url, message] of cases) {
    const started = Date.now();
    const result = await transport.post(url, payload, {});
    t.equal(result.statusCode, null, url);
    t.match(result.error, message, `${url}: ${result.error}`);
    t.ok(Date.now() - started < 1000, 'refused at once, without trying to connect');
  }
  t.equal(receiver.connections(), 0, 'the receiver saw no connection at all');
  t.equal(receiver.received.length, 0);
});

t.test('without private addresses: the system resolver too (localhost is loopback)', async (t) => {
  const receiver = await startReceiver(t);
  const transport = transportFor(t, { allowPrivate: false });
  const result = await transport.post(`https://localhost:${receiver.port}/ok`, payload, {});
  t.match(result.error, /^address not allowed: (127\.0\.0\.1|::1)$/);
  t.equal(receiver.connections(), 0);
});

t.test('after close, a post is answered with an error, not thrown', async (t) => {
  const receiver = await startReceiver(t);
  const transport = createWebhookTransport({ allowPrivate: true });
  t.equal((await transport.post(`${receiver.origin}/ok`, payload, {})).statusCode, 200);
  await transport.close();
  const result = await transport.post(`${receiver.origin}/ok`, payload, {});
  t.equal(result.statusCode, null);
  t.equal(result.error, 'the webhook transport is closed');
});
