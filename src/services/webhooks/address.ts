import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may go. Without WEBHOOK_ALLOW_PRIVATE an endpoint must be https and reach
 * only public addresses: a receiver URL is chosen by an organizer, so the server must not be
 * made to post into its own network (loopback, private ranges, cloud metadata at
 * 169.254.169.254). The URL is judged when saved (checkWebhookUrl), and every address is
 * judged again when a connection is made (the transport calls isPublicAddress), because a name
 * can resolve to a public address today and to 127.0.0.1 tomorrow.
 */

export const MAX_WEBHOOK_URL_LENGTH = 2000;

/** IPv4 ranges that are not the public internet (RFC 6890 and friends). */
const NON_PUBLIC_IPV4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, including the broadcast address below
  ['255.255.255.255', 32],
];

const NON_PUBLIC_IPV6: ReadonlyArray<readonly [string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (::a.b.c.d), deprecated since 2006: nothing legitimate uses it
  ['64:ff9b::', 96], // NAT64: would reach whatever IPv4 address is embedded
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['2001:db8::', 32], // documentation
];

const nonPublic = new BlockList();
for (const [network, prefix] of NON_PUBLIC_IPV4) {
  nonPublic.addSubnet(network, prefix, 'ipv4');
  // The same range as IPv4-mapped IPv6 (::ffff:a.b.c.d), which a dual-stack socket connects to
  // as the IPv4 address. BlockList already matches mapped addresses against IPv4 rules; the
  // explicit rule keeps that from resting on an implementation detail.
  nonPublic.addSubnet(`::ffff:${network}`, 96 + prefix, 'ipv6');
}
for (const [network, prefix] of NON_PUBLIC_IPV6) nonPublic.addSubnet(network, prefix, 'ipv6');

/** Whether an IP address (v4 or v6, without brackets) is on the public internet. Anything that is not an address is not. */
export function isPublicAddress(ip: string): boolean {
  // A zone (fe80::1%eth0) only qualifies a link-local address, and BlockList does not match
  // addresses that carry one.
  const address = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  const family = isIP(address);
  if (family === 0) return false;
  return !nonPublic.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The IP address a URL hostname spells, without IPv6 brackets, or null for a name. */
export function ipLiteralOf(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? null : bare;
}

// A DNS name: labels of letters, digits and inner hyphens (underscores too, which some real hosts use).
const DNS_NAME = /^(?=.{1,253}\.?$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?$/;

/**
 * Whether a webhook URL may be saved: null when it may, else why not (a sentence for the
 * organizer). allowPrivate (WEBHOOK_ALLOW_PRIVATE) also admits http and private addresses.
 * A name is accepted here and its addresses are judged each time a connection is made.
 */
export function checkWebhookUrl(url: string, allowPrivate: boolean): string | null {
  const parsed = parseWebhookUrl(url, allowPrivate);
  if (typeof parsed === 'string') return parsed;
  if (allowPrivate) return null;
  // The WHATWG parser has already turned numeric spellings (0x7f.1, 2130706433) into dotted
  // IPv4 and compressed IPv6, so a literal is recognised whatever way it was written.
  const literal = ipLiteralOf(parsed.hostname);
  if (literal !== null) return isPublicAddress(literal) ? null : 'the URL must point to a public address';
  const name = parsed.hostname.endsWith('.') ? parsed.hostname.slice(0, -1) : parsed.hostname;
  if (name === 'localhost' || name.endsWith('.localhost')) return 'the URL must point to a public address';
  // A single label (https://intranet/) is resolved through local search domains, never publicly.
  if (!name.includes('.')) return 'the URL must have a fully qualified host name';
  return null;
}

/**
 * The URL, parsed, when its form will do: absolute, at most MAX_WEBHOOK_URL_LENGTH long,
 * https (or http with allowPrivate), no credentials, a host that is a name or an IP address.
 * Otherwise why not. Which addresses it leads to is not judged here.
 */
export function parseWebhookUrl(url: string, allowPrivate: boolean): URL | string {
  if (url.length > MAX_WEBHOOK_URL_LENGTH) return `the URL must be at most ${MAX_WEBHOOK_URL_LENGTH} characters long`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'the URL must be an absolute URL such as https://example.com/webhooks';
  }
  if (parsed.protocol !== 'https:' && !(allowPrivate && parsed.protocol === 'http:')) {
    return allowPrivate ? 'the URL must start with https:// or http://' : 'the URL must start with https://';
  }
  if (parsed.username !== '' || parsed.password !== '') return 'the URL must not contain a user name or password';
  if (ipLiteralOf(parsed.hostname) === null && !DNS_NAME.test(parsed.hostname)) return 'the URL must have a host name or an IP address';
  return parsed;
}
