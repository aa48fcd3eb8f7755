// SSRF guard: a customer's endpoint URL must not make Switchboard call into its own network
// (loopback services, the database, cloud metadata credentials, the LAN).
//
// Two stages, both pure (no I/O happens here; DNS is an injected function):
// 1. `checkDestination(url)` — static, when the URL is known: scheme, credentials, and for IP
//    literals the address itself.
// 2. `resolveAndCheck(hostname, …, lookup)` — at delivery time: EVERY address the name resolves
//    to must be public (or inside SWITCHBOARD_ALLOWED_NETWORKS), and the caller connects to the
//    returned address, never to the name again. Resolving twice (once to check, once to connect)
//    would let a DNS server with a 0 s TTL answer "public" then "127.0.0.1" (DNS rebinding).
//
// Classification is an allow list of what is public, not a deny list of what is known bad: an
// IPv6 address outside 2000::/3 (the only global unicast space) is 'reserved', and addresses
// that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by that IPv4 address.

import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../platform/config.js';

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'unique-local'
  | 'multicast'
  | 'unspecified'
  | 'metadata'
  | 'reserved'
  | 'documentation'
  | 'broadcast';

/** SWITCHBOARD_ALLOWED_NETWORKS, parsed (see `parseAllowedNetworks`). */
export type AllowList = BlockList;

type Rule<T> = readonly [base: T, prefix: number, cls: AddressClass];

// Most specific first: the first match wins.
const IPV4_RULES: readonly Rule<string>[] = [
  ['255.255.255.255', 32, 'broadcast'],
  ['169.254.169.254', 32, 'metadata'], // AWS, GCP, Azure, OpenStack… instance metadata
  ['169.254.170.2', 32, 'metadata'], // AWS ECS task credentials
  ['100.100.100.200', 32, 'metadata'], // Alibaba Cloud metadata (inside CGNAT space)
  ['0.0.0.0', 8, 'unspecified'], // "this network"; connecting to 0.0.0.0 reaches the local host
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'documentation'], // TEST-NET-1
  ['192.88.99.0', 24, 'reserved'], // deprecated 6to4 relay anycast
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'documentation'], // TEST-NET-2
  ['203.0.113.0', 24, 'documentation'], // TEST-NET-3
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // "future use", never routed
];

// Prefixes whose low bits carry an IPv4 address, classified by that address instead.
const IPV4_MAPPED = v6('::ffff:0:0'); // /96, what a dual-stack socket shows for an IPv4 peer
const NAT64 = v6('64:ff9b::'); // /96, RFC 6052 well-known prefix: the gateway forwards to the IPv4
const SIX_TO_FOUR = v6('2002::'); // /16, the IPv4 address is bits 16–47

const IPV6_RULES: readonly Rule<bigint>[] = [
  [v6('::'), 128, 'unspecified'],
  [v6('::1'), 128, 'loopback'],
  [v6('fd00:ec2::254'), 128, 'metadata'], // AWS instance metadata over IPv6
  [v6('fc00::'), 7, 'unique-local'],
  [v6('fe80::'), 10, 'link-local'],
  [v6('fec0::'), 10, 'private'], // deprecated site-local
  [v6('ff00::'), 8, 'multicast'],
  [v6('2001:db8::'), 32, 'documentation'],
  [v6('3fff::'), 20, 'documentation'], // RFC 9637
  [v6('2001::'), 23, 'reserved'], // IETF protocol assignments: Teredo, benchmarking, ORCHID…
  [v6('2000::'), 3, 'public'], // global unicast; everything else falls through to 'reserved'
];

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** A valid IPv6 text (as `isIP` accepts it, no zone) as a 128-bit integer. */
function v6(ip: string): bigint {
  let text = ip;
  let tail: number[] = [];
  if (text.includes('.')) {
    // A trailing dotted quad (`::ffff:1.2.3.4`) stands for the last two groups.
    const lastColon = text.lastIndexOf(':');
    const n = v4ToInt(text.slice(lastColon + 1));
    tail = [Math.floor(n / 65536), n % 65536];
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const zeros = rest === undefined ? 0 : 8 - tail.length - left.length - right.length;
  const groups = [...left, ...new Array<number>(zeros).fill(0), ...right, ...tail];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

function inV4(ip: number, base: string, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  return Math.floor(ip / size) === Math.floor(v4ToInt(base) / size);
}

function inV6(ip: bigint, base: bigint, prefix: number): boolean {
  const shift = BigInt(128 - prefix);
  return ip >> shift === base >> shift;
}

function classifyV4(ip: number): AddressClass {
  for (const [base, prefix, cls] of IPV4_RULES) if (inV4(ip, base, prefix)) return cls;
  return 'public';
}

/** Drop an IPv6 zone (`fe80::1%eth0`): it does not change what the address is. */
function stripZone(ip: string): string {
  const percent = ip.indexOf('%');
  return percent < 0 ? ip : ip.slice(0, percent);
}

/** Accepts `[::1]` as well, the way `URL.hostname` spells IPv6 literals. */
function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The IPv4 address an IPv6 address stands for, if it embeds one (mapped, NAT64, 6to4). */
function embeddedV4(ip: bigint): number | undefined {
  if (inV6(ip, IPV4_MAPPED, 96) || inV6(ip, NAT64, 96)) return Number(ip & 0xffffffffn);
  if (inV6(ip, SIX_TO_FOUR, 16)) return Number((ip >> 80n) & 0xffffffffn);
  return undefined;
}

/**
 * What kind of address `ip` is. Throws a TypeError for something that is not an IP address
 * (a hostname must be resolved first).
 */
export function classifyAddress(ip: string): AddressClass {
  const address = stripZone(unbracket(ip));
  const family = isIP(address);
  if (family === 4) return classifyV4(v4ToInt(address));
  if (family !== 6) throw new TypeError(`not an IP address: "${ip}"`);
  const value = v6(address);
  const v4 = embeddedV4(value);
  if (v4 !== undefined) return classifyV4(v4);
  for (const [base, prefix, cls] of IPV6_RULES) if (inV6(value, base, prefix)) return cls;
  return 'reserved';
}

/**
 * SWITCHBOARD_ALLOWED_NETWORKS as a node:net `BlockList` (used here as an allow list). Each
 * entry is a CIDR (`127.0.0.0/8`, `::1/128`) or a bare address (one host). Throws a ConfigError naming the
 * bad entry, so a typo stops the start instead of silently refusing (or allowing) deliveries.
 * Note that Node's BlockList matches IPv4 rules against IPv4-mapped IPv6 addresses too
 * (`::ffff:127.0.0.1` is allowed by `127.0.0.0/8`), which is right: it is the same host.
 */
export function parseAllowedNetworks(list: readonly string[]): AllowList {
  const allowList = new BlockList();
  for (const raw of list) {
    const entry = raw.trim();
    if (entry === '') continue;
    const bad = (why: string) =>
      new ConfigError(`SWITCHBOARD_ALLOWED_NETWORKS: "${entry}" is not a valid CIDR (${why})`);
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    if (family === 0) throw bad(`"${address}" is not an IP address`);
    const max = family === 4 ? 32 : 128;
    const prefixText = slash < 0 ? String(max) : entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw bad(`the prefix length must be 0–${max} for IPv${family}`);
    }
    allowList.addSubnet(address, Number(prefixText), family === 4 ? 'ipv4' : 'ipv6');
  }
  return allowList;
}

/** Whether `ip` is inside the allow list. A non-IP string is never allowed. */
export function isAllowed(ip: string, allowList: AllowList): boolean {
  const address = stripZone(unbracket(ip));
  const family = isIP(address);
  if (family === 0) return false;
  return allowList.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export type Refusal = { ok: false; reason: string };

export interface Destination {
  ok: true;
  url: URL;
  protocol: 'http:' | 'https:';
  /** The hostname without IPv6 brackets, lower case (as the URL parser normalises it). */
  host: string;
  /** The explicit port, or 80 / 443. */
  port: number;
  /** The host is an IP literal: it needs no lookup (`resolveAndCheck` checks it directly). */
  ipLiteral: boolean;
}

const CLASS_NAMES: Record<AddressClass, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private address',
  'link-local': 'a link-local address',
  cgnat: 'a carrier-grade NAT (shared) address',
  'unique-local': 'a unique-local address',
  multicast: 'a multicast address',
  unspecified: 'an unspecified address',
  metadata: 'a cloud metadata address',
  reserved: 'a reserved address',
  documentation: 'a documentation address',
  broadcast: 'a broadcast address',
};
const HINT = '(set SWITCHBOARD_ALLOWED_NETWORKS to allow it)';

/** Why `ip` may not be called, or undefined if it may (public or allowed). */
function addressRefusal(ip: string, allowList: AllowList, hostname?: string): string | undefined {
  const cls = classifyAddress(ip);
  if (cls === 'public' || isAllowed(ip, allowList)) return undefined;
  return hostname === undefined
    ? `refused: ${ip} is ${CLASS_NAMES[cls]} ${HINT}`
    : `refused: ${hostname} resolves to ${ip}, which is ${CLASS_NAMES[cls]} ${HINT}`;
}

/**
 * Why `ip` may not be called (a refusal message), or undefined when it may: public, or inside
 * the allow list. For a hook that sees resolved addresses one by one (an HTTP agent's `lookup`).
 */
export function checkAddress(ip: string, allowList: AllowList): string | undefined {
  if (isIP(stripZone(unbracket(ip))) === 0) return `refused: "${ip}" is not an IP address`;
  return addressRefusal(ip, allowList);
}

/** `localhost` and its RFC 6761 subdomains (`api.localhost`), with or without the root dot. */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return name === 'localhost' || name.endsWith('.localhost');
}

function allowsLoopback(allowList: AllowList): boolean {
  return allowList.check('127.0.0.1', 'ipv4') || allowList.check('::1', 'ipv6');
}

/**
 * Static check of an endpoint URL (at registration and again before each delivery):
 * - only `http:` and `https:`;
 * - no `user:pass@`: credentials would be sent to whoever answers, and logged with the URL;
 * - an IP-literal host must be public or allowed;
 * - `https:` is required, except (development and private networks) when the host is an IP
 *   literal inside the allow list, or the name `localhost` (or `*.localhost`) while the allow
 *   list contains a loopback address (127.0.0.1 or ::1). Any other name needs https even if it
 *   resolves into the allow list: what it resolves to is only known at delivery time.
 * Passing this check does not make a hostname safe: call `resolveAndCheck` before connecting.
 */
export function checkDestination(url: string, allowList: AllowList): Destination | Refusal {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: `refused: "${url}" is not a valid URL` };
  }
  const protocol = parsed.protocol;
  if (protocol !== 'http:' && protocol !== 'https:') {
    return { ok: false, reason: `refused: the ${protocol} scheme is not supported (use https://)` };
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return { ok: false, reason: 'refused: credentials (user:pass@) are not allowed in the URL' };
  }
  const hostname = unbracket(parsed.hostname);
  if (hostname === '') return { ok: false, reason: 'refused: the URL has no host' };
  const ipLiteral = isIP(hostname) !== 0;
  if (ipLiteral) {
    const refusal = addressRefusal(hostname, allowList);
    if (refusal) return { ok: false, reason: refusal };
  }
  if (protocol === 'http:') {
    const exempt = ipLiteral
      ? isAllowed(hostname, allowList)
      : isLocalhostName(hostname) && allowsLoopback(allowList);
    if (!exempt) {
      return {
        ok: false,
        reason:
          `refused: ${hostname} must be called over https:// ` +
          '(http:// is only for hosts in SWITCHBOARD_ALLOWED_NETWORKS)',
      };
    }
  }
  const port = parsed.port === '' ? (protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return { ok: true, url: parsed, protocol, host: hostname, port, ipLiteral };
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

/**
 * Resolve `hostname` once with the injected `lookup` (the dispatcher passes
 * `(host) => dns.promises.lookup(host, { all: true })`), refuse unless EVERY address is public
 * or allowed — one private answer among public ones is what a rebinding attack looks like — and
 * return the first address: the connection must go to exactly that address (with the original
 * hostname kept for the Host header and TLS SNI/certificate check).
 *
 * A lookup failure (NXDOMAIN, timeout) is thrown, not returned as a refusal: it is a network
 * error that may heal, whereas a refusal is final and is not retried.
 */
export async function resolveAndCheck(
  hostname: string,
  allowList: AllowList,
  lookup: Lookup,
): Promise<(ResolvedAddress & { ok: true }) | Refusal> {
  const host = unbracket(hostname);
  const literal = isIP(stripZone(host));
  if (literal !== 0) {
    const refusal = addressRefusal(host, allowList);
    return refusal
      ? { ok: false, reason: refusal }
      : { ok: true, address: host, family: literal === 4 ? 4 : 6 };
  }
  const answers = await lookup(host);
  if (answers.length === 0) throw new Error(`DNS lookup of ${host} returned no addresses`);
  for (const { address } of answers) {
    if (isIP(stripZone(address)) === 0) {
      return { ok: false, reason: `refused: ${host} resolves to "${address}", not an IP address` };
    }
    const refusal = addressRefusal(address, allowList, host);
    if (refusal) return { ok: false, reason: refusal };
  }
  const first = answers[0];
  return { ok: true, address: first.address, family: isIP(stripZone(first.address)) === 4 ? 4 : 6 };
}
