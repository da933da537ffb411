import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import type { ProxyOptions } from '../../src/http/options.ts';
import {
  accessLine,
  CREATE_SESSION,
  type GatewayPair,
  postGraphQL,
  startGatewayPair,
  type TestGateway,
  withGateway,
} from '../helpers/gateway.ts';

/*
 * The test client connects from 127.0.0.1, a trusted proxy under TRUSTED_PROXIES=loopback, and
 * writes the forwarding headers itself; test/process/trusted-proxies.test.ts puts a real proxy
 * process in front. Each case runs on both request paths, which must agree.
 */

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

/** The client address and caller of one mutation sent with these headers, as its access line reports them. */
async function identify(gateway: TestGateway, headers: Record<string, string>) {
  const requestId = randomUUID();
  const { body } = await postGraphQL(
    gateway.url,
    CREATE_SESSION,
    { input: { conversationId: 'conv_1' } },
    { ...headers, 'x-request-id': requestId },
  );
  expect(body.data?.['createConversationSession'].__typename).toBe('ConversationSession');
  const line = await accessLine(gateway, requestId);
  return { clientAddress: line['clientAddress'], caller: line['caller'] };
}

function describeHeader(proxies: ProxyOptions, cases: [string, Record<string, string>, string][]) {
  describe(`TRUSTED_PROXIES=${proxies.trusted.join(',')} TRUSTED_PROXY_HEADER=${proxies.header}`, () => {
    let pair: GatewayPair;
    beforeAll(async () => {
      pair = await startGatewayPair(emulator.url, { config: { proxies } });
    });
    afterAll(() => pair.close());

    it.each(cases)('%s', async (_name, headers, expected) => {
      for (const gateway of [pair.known, pair.yogaOnly]) {
        expect(await identify(gateway, headers)).toEqual({ clientAddress: expected, caller: `ip:${expected}` });
      }
    });
  });
}

describeHeader({ trusted: ['loopback'], header: 'forwarded' }, [
  ['a quoted IPv6 node with a port', { forwarded: 'for="[2001:db8::1]:4711"' }, '2001:db8::1'],
  ['for= among other parameters', { forwarded: 'for=192.0.2.60;proto=https;by=203.0.113.43' }, '192.0.2.60'],
  ['an IPv4 node with a port, parameter name in capitals', { forwarded: 'For="198.51.100.17:80"' }, '198.51.100.17'],
  ['the right-most hop that is not trusted', { forwarded: 'for=192.0.2.43, for=198.51.100.17' }, '198.51.100.17'],
  ['past a trusted hop', { forwarded: 'for=192.0.2.43, for="[::1]"' }, '192.0.2.43'],
  ['stopped by unknown, at the last address known', { forwarded: 'for=192.0.2.43, for=unknown' }, '127.0.0.1'],
  ['stopped by an obfuscated node', { forwarded: 'for=192.0.2.43, for=_hidden, for=127.0.0.5' }, '127.0.0.5'],
  ['an element without for=', { forwarded: 'proto=https' }, '127.0.0.1'],
  ['a header that cannot be parsed', { forwarded: 'for=192.0.2.43,' }, '127.0.0.1'],
  ['an unterminated IPv6 node', { forwarded: 'for="[2001:db8::1"' }, '127.0.0.1'],
  ['X-Forwarded-For, which is not read', { 'x-forwarded-for': '198.51.100.2' }, '127.0.0.1'],
]);

describeHeader({ trusted: ['loopback'], header: 'x-forwarded-for' }, [
  ['the right-most hop that is not trusted', { 'x-forwarded-for': '203.0.113.1, 198.51.100.2' }, '198.51.100.2'],
  ['past a trusted hop', { 'x-forwarded-for': '203.0.113.1, 127.0.0.9' }, '203.0.113.1'],
  ['an IPv6 address', { 'x-forwarded-for': '2001:db8::3' }, '2001:db8::3'],
  ['addresses with ports', { 'x-forwarded-for': '[2001:db8::2]:443, 198.51.100.2:8080' }, '198.51.100.2'],
  ['stopped by a hop that is not an address', { 'x-forwarded-for': '203.0.113.1, garbage' }, '127.0.0.1'],
  ['no loose IPv4 forms (0x7f.1 is not 127.0.0.1)', { 'x-forwarded-for': '203.0.113.1, 0x7f.1' }, '127.0.0.1'],
  ['empty hops', { 'x-forwarded-for': ' , ' }, '127.0.0.1'],
  ['Forwarded, which is not read', { forwarded: 'for=198.51.100.9' }, '127.0.0.1'],
]);

describeHeader({ trusted: [], header: 'x-forwarded-for' }, [
  [
    'nothing trusted: the headers are ignored',
    { 'x-forwarded-for': '198.51.100.2', forwarded: 'for=1.2.3.4' },
    '127.0.0.1',
  ],
]);

describe('AUTH_MODE=passthrough behind a trusted proxy', () => {
  it('charges refused tokens to each forwarded client, and logs its address beside the token caller', async () => {
    // ChatBotKit as the emulator plays it: "own-token" mints, any other token is refused with 401.
    const chatbotkit = await startEmulator({ secret: 'own-token' });
    const config = {
      auth: { mode: 'passthrough' as const },
      proxies: { trusted: ['loopback'], header: 'x-forwarded-for' as const },
      limits: { failedAuthPoints: 1 },
    };
    try {
      await withGateway(chatbotkit.url, { config }, async (gateway) => {
        const mint = async (client: string, token: string) => {
          const requestId = randomUUID();
          const headers = { authorization: `Bearer ${token}`, 'x-forwarded-for': client, 'x-request-id': requestId };
          const { body } = await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'c' } }, headers);
          const line = await accessLine(gateway, requestId);
          const outcome = body.data?.['createConversationSession'].__typename ?? body.errors?.[0]?.extensions?.['code'];
          return [outcome, line['clientAddress'], line['caller']];
        };
        const caller = expect.stringMatching(/^token:/);
        expect(await mint('198.51.100.1', 'junk-1')).toEqual(['UNAUTHENTICATED', '198.51.100.1', caller]);
        expect(await mint('198.51.100.1', 'junk-2')).toEqual(['RateLimitedError', '198.51.100.1', caller]);
        expect(await mint('198.51.100.2', 'junk-1')).toEqual(['UNAUTHENTICATED', '198.51.100.2', caller]);
        expect(await mint('198.51.100.3', 'own-token')).toEqual(['ConversationSession', '198.51.100.3', caller]);
        // One IPv6 client holds a whole /64: its addresses share one budget.
        expect(await mint('2001:db8:0:1::a', 'junk-3')).toEqual(['UNAUTHENTICATED', '2001:db8:0:1::a', caller]);
        expect(await mint('2001:db8:0:1::b', 'junk-4')).toEqual(['RateLimitedError', '2001:db8:0:1::b', caller]);
        expect(await mint('2001:db8:0:2::a', 'junk-3')).toEqual(['UNAUTHENTICATED', '2001:db8:0:2::a', caller]);
      });
    } finally {
      await chatbotkit.close();
    }
  });
});
