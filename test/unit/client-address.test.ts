import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { budgetKeyOf, createClientAddress } from '../../src/http/client-address.ts';
import { FORWARDING_HEADERS } from '../../src/http/options.ts';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('TRUSTED_PROXIES and TRUSTED_PROXY_HEADER', () => {
  it('accept addresses, CIDR ranges of either family and the loopback and private shortcuts', () => {
    const config = loadConfig({
      TRUSTED_PROXIES: 'loopback, private, 10.1.2.3, 10.0.0.0/8, 2001:db8::1, 2001:db8::/32',
      TRUSTED_PROXY_HEADER: 'forwarded',
    });
    expect(config.proxies).toEqual({
      trusted: ['loopback', 'private', '10.1.2.3', '10.0.0.0/8', '2001:db8::1', '2001:db8::/32'],
      header: 'forwarded',
    });
  });

  it('refuse each entry that is not one, by name, in one line each', () => {
    expect(problemsOf({ TRUSTED_PROXIES: 'loopback, nginx, 10.0.0.0/33, 0.0.0.0/0, localhost' })).toEqual(
      ['nginx', '10.0.0.0/33', '0.0.0.0/0', 'localhost'].map(
        (entry) =>
          "TRUSTED_PROXIES must list your proxies' IP addresses or CIDR ranges (10.0.0.0/8, fd00::/8), loopback " +
          `or private (got "${entry}")`,
      ),
    );
  });
});

describe('the client address', () => {
  const request = (remoteAddress: string, headers: Record<string, string>) => ({ socket: { remoteAddress }, headers });
  const hop = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.constantFrom('unknown', '_hidden', '127.0.0.1', '[::1]:80', '"', '\\', ';', ',', '=', ' ', 'for=', '0x7f.1'),
    fc.string({ maxLength: 12 }),
  );
  const element = fc.oneof(
    hop,
    hop.map((value) => `for=${value}`),
    hop.map((value) => `for="${value}"`),
  );
  const header = fc
    .tuple(fc.array(element, { maxLength: 6 }), fc.constantFrom(',', ', ', ';'))
    .map(([elements, separator]) => elements.join(separator));

  it.each(FORWARDING_HEADERS)('from any %s value is the peer or an IP address, and never throws', (name) => {
    const clientAddress = createClientAddress({ trusted: ['loopback'], header: name });
    fc.assert(
      fc.property(header, (value) => {
        const address = clientAddress(request('127.0.0.1', { [name]: value }));
        expect(address === '127.0.0.1' || isIP(address) !== 0).toBe(true);
      }),
    );
  });
});

describe('budgetKeyOf', () => {
  it.each([
    ['203.0.113.7', 'ip:203.0.113.7'],
    ['::ffff:203.0.113.7', 'ip:203.0.113.7'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', 'ip:2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::1', 'ip:2001:db8:1:2::/64'],
    ['2001:db8::1', 'ip:2001:db8:0:0::/64'],
    ['::1', 'ip:0:0:0:0::/64'],
    ['fe80::1%eth0', 'ip:fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', 'ip:64:ff9b:0:0::/64'],
  ])('counts %s as %s', (address, key) => {
    expect(budgetKeyOf(address)).toBe(key);
  });
});
