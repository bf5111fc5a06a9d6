import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Whether an address is one a webhook must not reach (unless its host is in WEBHOOK_ALLOW_HOSTS):
 * decided by the address's class, as ipaddr.js names it, and only "unicast" (public) passes. So
 * this machine, private networks, link-local (cloud metadata at 169.254.169.254), shared, reserved,
 * multicast and broadcast ranges are refused, and so is every IPv6 form that carries an IPv4
 * address inside it (mapped, NAT64, 6to4, Teredo, SIIT), whatever that address is. The deprecated
 * IPv4-compatible form (::a.b.c.d), which ipaddr.js counts as unicast, is refused by hand.
 */
export function isForbiddenAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const parts = (parsed as ipaddr.IPv6).parts;
    if (parts.slice(0, 6).every((part) => part === 0)) return true;
  }
  return parsed.range() !== 'unicast';
}

export type Lookup = (host: string) => Promise<LookupAddress[]>;

export const systemLookup: Lookup = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );

/** Why a URL cannot be a webhook endpoint, or null when it can. */
export async function webhookUrlProblem(
  raw: string,
  allowHosts: readonly string[],
  lookup: Lookup = systemLookup,
): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const allowed = allowHosts.includes(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowed)) return 'must start with https://';
  if (url.username || url.password) return 'must not carry a user name or password';
  if (url.hash) return 'must not have a #fragment';
  if (allowed) return null;
  if (isIP(host)) return isForbiddenAddress(host) ? 'points at a private, loopback or link-local address' : null;
  let addresses: LookupAddress[];
  try {
    addresses = await lookup(host);
  } catch {
    return 'has a host name that does not resolve';
  }
  if (addresses.length === 0) return 'has a host name that does not resolve';
  if (addresses.some((entry) => isForbiddenAddress(entry.address))) {
    return 'resolves to a private, loopback or link-local address';
  }
  return null;
}

/**
 * A DNS lookup that refuses forbidden addresses at connection time, so a host that resolved to a
 * public address at registration cannot be pointed at this machine or the network later.
 */
export function guardedLookup(allowed: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return (callback as (error: Error) => void)(error);
      const usable = allowed ? addresses : addresses.filter((entry) => !isForbiddenAddress(entry.address));
      if (usable.length === 0) {
        return (callback as (error: Error) => void)(
          Object.assign(new Error('the host resolves to a forbidden address'), { code: 'EFORBIDDEN' }),
        );
      }
      if ((options as { all?: boolean }).all) return (callback as (e: null, a: LookupAddress[]) => void)(null, usable);
      const first = usable[0] as LookupAddress;
      return (callback as (e: null, a: string, f: number) => void)(null, first.address, first.family);
    });
  };
}

/** A connection refused by the address rules (code EFORBIDDEN, as guardedLookup's). */
export class OutboundRefused extends Error {
  readonly code = 'EFORBIDDEN';
  constructor(address: string) {
    super(`refused to connect to a forbidden address (${address})`);
  }
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();

/**
 * The one way out to the network for webhooks, calendar addresses and CalDAV: an HTTP(S) request
 * checked against the address rules where it connects, whatever form its host takes. A name is
 * resolved by guardedLookup; a literal address (127.1, 2130706433 and [::ffff:127.0.0.1] reach here
 * as the URL parser writes them: 127.0.0.1, ::ffff:7f00:1) is refused before any socket opens; and
 * the address the socket actually reached is checked again as it connects, before a byte of the
 * request (or a TLS handshake) is sent. `allowed`: the host is in an ALLOW_HOSTS setting.
 * Throws OutboundRefused for a forbidden literal address.
 */
export function openOutbound(
  url: URL,
  options: Omit<RequestOptions, 'lookup' | 'agent'>,
  allowed: boolean,
  onResponse?: (response: IncomingMessage) => void,
): ClientRequest {
  const host = hostOf(url);
  if (!allowed && isIP(host) && isForbiddenAddress(host)) throw new OutboundRefused(host);
  const client = url.protocol === 'https:' ? https : http;
  const request = client.request(url, { ...options, lookup: guardedLookup(allowed), agent: false }, onResponse);
  if (!allowed) {
    request.on('socket', (socket) => {
      // prependOnceListener: ahead of the listeners that write the request (or start TLS) on connect.
      socket.prependOnceListener('connect', () => {
        const reached = socket.remoteAddress;
        if (!reached || isForbiddenAddress(reached)) request.destroy(new OutboundRefused(reached ?? 'unknown'));
      });
    });
  }
  return request;
}
