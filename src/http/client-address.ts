import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import parseForwarded from 'forwarded-parse';
import proxyAddr from 'proxy-addr';
import { type ForwardingHeader, type ProxyOptions, proxyAddrEntries } from './options.ts';

/*
 * The client's address: the socket's peer, or, when that peer is a trusted proxy, the right-most
 * hop of its forwarding header that is not itself a trusted proxy. proxy-addr (Express's) compiles
 * the trust (CIDRs, IPv4-mapped addresses, named ranges); its own walk reads X-Forwarded-For only,
 * so the walk is written here once for both headers, and RFC 7239's Forwarded is parsed by
 * forwarded-parse. A hop that is not an IP address (`unknown`, an obfuscated `_name`, garbage)
 * stops the walk at the last address known; a header that cannot be parsed leaves the peer.
 */

type ForwardedRequest = Pick<IncomingMessage, 'headers'> & { socket: { remoteAddress?: string | undefined } };

/** Computes a request's client address; once per request, by the edge. */
export type ClientAddress = (request: ForwardedRequest) => string;

const peerOf = (request: ForwardedRequest): string => request.socket.remoteAddress ?? 'unknown';

export function createClientAddress(options: ProxyOptions): ClientAddress {
  // No proxy trusted (the default): no header is read, no address parsed.
  if (options.trusted.length === 0) return peerOf;
  const compiled = proxyAddr.compile(proxyAddrEntries(options.trusted));
  // Compiled trust ignores proxy-addr's hop index.
  const trusted = (address: string) => compiled(address, 0);
  const hopsOf = options.header === 'forwarded' ? forwardedHops : xForwardedForHops;
  return (request) => {
    const peer = peerOf(request);
    if (!trusted(peer)) return peer;
    let client = peer;
    for (const hop of hopsOf(request.headers)) {
      if (hop === undefined) return client;
      client = hop;
      if (!trusted(hop)) return client;
    }
    return client;
  };
}

/** X-Forwarded-For's hops, right-most first; `undefined` for one that is not an address. */
function xForwardedForHops(headers: IncomingHttpHeaders): (string | undefined)[] {
  const header = headers['x-forwarded-for' satisfies ForwardingHeader];
  if (typeof header !== 'string' || header === '') return [];
  return header
    .split(',')
    .reverse()
    .map((hop) => addressOf(hop.trim()));
}

/** Forwarded's `for=` hops, right-most first; none when the header cannot be parsed. */
function forwardedHops(headers: IncomingHttpHeaders): (string | undefined)[] {
  const header = headers['forwarded' satisfies ForwardingHeader];
  if (typeof header !== 'string' || header === '') return [];
  try {
    return parseForwarded(header)
      .reverse()
      .map((element) => addressOf(element['for'] ?? ''));
  } catch {
    return [];
  }
}

// A node as RFC 7239 §6 writes it, with a port: `[2001:db8::1]:4711`, `192.0.2.43:4711`.
const WITH_PORT = /^\[(?<v6>[^\]]+)\](?::\d{1,5})?$|^(?<v4>[\d.]+):\d{1,5}$/;

/** The IP address in a hop, strictly (no `0x7f.1`, no host names), or `undefined`. */
function addressOf(hop: string): string | undefined {
  if (isIP(hop) !== 0) return hop;
  const { v6, v4 } = WITH_PORT.exec(hop)?.groups ?? {};
  if (v6 !== undefined && isIP(v6) === 6) return v6;
  if (v4 !== undefined && isIP(v4) === 4) return v4;
  return undefined;
}

/**
 * The rate-limit key of a client address. One IPv6 client holds a whole /64 (about 2^64
 * addresses), so per-address budgets count IPv6 clients by their /64; an IPv4-mapped address
 * counts as the IPv4 address it is.
 */
export function budgetKeyOf(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return `ip:${mapped[1]}`;
  if (isIP(address) !== 6) return `ip:${address}`;
  return `ip:${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** An IPv6 address's eight groups, `::` expanded, without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const groupsOf = (part: string) =>
    part === '' ? [] : part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group]));
  const first = groupsOf(head);
  const last = tail === undefined ? [] : groupsOf(tail);
  const zeros = Array<string>(8 - first.length - last.length).fill('0');
  return [...first, ...zeros, ...last].map((group) => Number.parseInt(group, 16).toString(16));
}
