import t from 'tap';
import { checkWebhookUrl, isPublicAddress, MAX_WEBHOOK_URL_LENGTH } from '../../src/services/webhooks/address.js';

t.test('isPublicAddress: private, reserved and special ranges are not public', async (t) => {
  const notPublic = [
    '127.0.0.1', '127.255.255.254', '0.0.0.0', '0.1.2.3', '10.0.0.1', '10.255.255.255',
    '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '169.254.0.1',
    '100.64.0.1', '100.127.255.255', '192.0.0.8', '192.0.2.1', '198.18.0.1', '198.19.255.255',
    '198.51.100.7', '203.0.113.9', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255',
    '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'ff02::1', '2001:db8::1',
    '64:ff9b::a00:1', '64:ff9b::808:808',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::ffff:192.168.0.1',
    '::127.0.0.1', '::a00:1', '::8.8.8.8',
    'localhost', 'example.com', '', '999.1.1.1', '1.2.3', '[::1]',
  ];
  for (const ip of notPublic) t.equal(isPublicAddress(ip), false, `${ip} is not public`);
});

t.test('isPublicAddress: the rest of the internet is', async (t) => {
  const isPublic = [
    '8.8.8.8', '1.1.1.1', '93.184.216.34', '11.0.0.1', '126.255.255.255', '128.0.0.1', '172.15.255.255',
    '172.32.0.1', '192.167.255.255', '192.169.0.1', '169.253.255.255', '100.63.255.255', '100.128.0.1',
    '198.17.255.255', '198.20.0.1', '223.255.255.255',
    '2606:4700:4700::1111', '2001:4860:4860::8888', '2a00:1450::1', '::ffff:8.8.8.8', '::ffff:808:808',
  ];
  for (const ip of isPublic) t.equal(isPublicAddress(ip), true, `${ip} is public`);
});

t.test('checkWebhookUrl without private addresses', async (t) => {
  const ok = [
    'https://example.com/webhooks',
    'https://hooks.example.co.uk:8443/in?token=abc',
    'https://8.8.8.8/hook',
    'https://[2606:4700:4700::1111]/hook',
    'https://xn--bcher-kva.example/hook',
    'https://bücher.example/hook',
    'https://example.com./hook',
  ];
  for (const url of ok) t.equal(checkWebhookUrl(url, false), null, `${url} may be saved`);

  const refused: Array<[string, RegExp]> = [
    ['http://example.com/hook', /https/],
    ['ftp://example.com/hook', /https/],
    ['/webhooks', /absolute/],
    ['example.com/webhooks', /absolute/],
    ['not a url', /absolute/],
    ['https://user:pass@example.com/hook', /user name or password/],
    ['https://user@example.com/hook', /user name or password/],
    ['https://127.0.0.1/hook', /public address/],
    ['https://2130706433/hook', /public address/], // 127.0.0.1 spelt as a number
    ['https://0x7f.1/hook', /public address/],
    ['https://10.0.0.1/hook', /public address/],
    ['https://169.254.169.254/latest/meta-data', /public address/],
    ['https://[::1]/hook', /public address/],
    ['https://[::ffff:127.0.0.1]/hook', /public address/],
    ['https://[fd00::1]/hook', /public address/],
    ['https://localhost/hook', /public address/],
    ['https://api.localhost/hook', /public address/],
    ['https://intranet/hook', /fully qualified/],
    ['https://exa mple.com/hook', /absolute/],
    [`https://example.com/${'a'.repeat(MAX_WEBHOOK_URL_LENGTH)}`, /at most 2000/],
  ];
  for (const [url, message] of refused) t.match(checkWebhookUrl(url, false), message, `${url.slice(0, 60)} is refused`);
});

t.test('checkWebhookUrl with private addresses allowed (development, tests)', async (t) => {
  for (const url of ['http://127.0.0.1:3000/hook', 'https://[::1]:8443/hook', 'http://localhost/hook', 'http://receiver/hook', 'https://10.0.0.1/hook']) {
    t.equal(checkWebhookUrl(url, true), null, `${url} may be saved`);
  }
  t.match(checkWebhookUrl('ftp://127.0.0.1/hook', true), /https:\/\/ or http:\/\//);
  t.match(checkWebhookUrl('http://user:pass@127.0.0.1/hook', true), /user name or password/);
  t.match(checkWebhookUrl(`http://127.0.0.1/${'a'.repeat(MAX_WEBHOOK_URL_LENGTH)}`, true), /at most/);
  t.equal(checkWebhookUrl(`https://example.com/${'a'.repeat(MAX_WEBHOOK_URL_LENGTH - 'https://example.com/'.length)}`, true), null, 'exactly the limit');
});
