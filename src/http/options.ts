import { isIP } from 'node:net';
import proxyAddr from 'proxy-addr';

/** The headers a proxy may name the client in; the gateway reads the one its proxies write. */
export const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded'] as const;
export type ForwardingHeader = (typeof FORWARDING_HEADERS)[number];

/** Who the client is when proxies stand in front of the gateway. */
export interface ProxyOptions {
  /**
   * Addresses and CIDR ranges of the proxies whose forwarding header is believed, or the
   * shortcuts `loopback` and `private`. Empty (the default): the socket's peer is the client.
   */
  trusted: readonly string[];
  /** The header those proxies write; the other one is never read. Default `x-forwarded-for`. */
  header: ForwardingHeader;
}

// Our shortcut names, as proxy-addr names the same ranges.
const NAMED_RANGES: Readonly<Record<string, string>> = { loopback: 'loopback', private: 'uniquelocal' };

/** The entries as proxy-addr's `compile` takes them: shortcuts replaced by its names. */
export function proxyAddrEntries(trusted: readonly string[]): string[] {
  return trusted.map((entry) => NAMED_RANGES[entry] ?? entry);
}

/** Whether one TRUSTED_PROXIES entry is a shortcut, an IP address or a CIDR range that proxy-addr accepts. */
export function isTrustedProxyEntry(entry: string): boolean {
  if (Object.hasOwn(NAMED_RANGES, entry)) return true;
  if (isIP(entry.split('/')[0] ?? '') === 0) return false;
  try {
    proxyAddr.compile(entry);
    return true;
  } catch {
    return false;
  }
}

/** Whether a URL's hostname names this machine's loopback: `localhost`, `127.x.x.x` or `[::1]`. */
export function isLoopbackHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || (isIP(hostname) === 4 && hostname.startsWith('127.'));
}
