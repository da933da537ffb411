import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_SESSION } from '../helpers/gateway.ts';
import { type ServerProcess, startServerProcess } from '../helpers/process.ts';
import { type AddressedClient, clientFrom, type ForwardingProxy, startForwardingProxy } from '../helpers/proxy.ts';

/*
 * The gateway as `npm start` runs it, behind a real reverse proxy in its own process that
 * connects from 127.0.0.10, the one address TRUSTED_PROXIES names. Clients bind addresses of
 * their own (Linux routes all of 127.0.0.0/8 to loopback), so each is told apart by address only.
 */

const PROXY_ADDRESS = '127.0.0.10';

/** The access line of one request, once the gateway's batched stdout has written it. */
async function accessLine(server: ServerProcess, requestId: string): Promise<Record<string, unknown>> {
  for (;;) {
    const line = server
      .output()
      .split('\n')
      .find((entry) => entry.includes(`"requestId":"${requestId}"`) && entry.includes('"msg":"request"'));
    if (line) return JSON.parse(line) as Record<string, unknown>;
    if (server.child.exitCode !== null) throw new Error(`gateway exited:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Mints a session as `client` and returns the result's type and who the access line says asked. */
async function mint(server: ServerProcess, client: AddressedClient, url: string, headers: Record<string, string> = {}) {
  const requestId = randomUUID();
  const { body } = await client.post(
    `${url}/graphql`,
    CREATE_SESSION,
    { input: { conversationId: 'conv_1' } },
    {
      ...headers,
      'x-request-id': requestId,
    },
  );
  const line = await accessLine(server, requestId);
  return {
    result: body.data?.['createConversationSession'].__typename,
    address: line['clientAddress'],
    caller: line['caller'],
  };
}

const seen = (result: string, address: string) => ({ result, address, caller: `ip:${address}` });

describe('behind a proxy that appends X-Forwarded-For', () => {
  let gateway: ServerProcess;
  let proxy: ForwardingProxy;
  const clients: AddressedClient[] = [];
  const from = (address: string) => {
    const client = clientFrom(address);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gateway = await startServerProcess({ TRUSTED_PROXIES: PROXY_ADDRESS, RATE_LIMIT_POINTS: '2' });
    proxy = await startForwardingProxy({ target: gateway.url, localAddress: PROXY_ADDRESS });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await proxy?.stop();
    await gateway?.stop();
  });

  it('gives each client its own rate-limit budget and its own address in the access log', async () => {
    const [first, second] = [from('127.0.0.2'), from('127.0.0.3')];
    expect(await mint(gateway, first, proxy.url)).toEqual(seen('ConversationSession', '127.0.0.2'));
    expect(await mint(gateway, first, proxy.url)).toEqual(seen('ConversationSession', '127.0.0.2'));
    expect(await mint(gateway, first, proxy.url)).toEqual(seen('RateLimitedError', '127.0.0.2'));
    expect(await mint(gateway, second, proxy.url)).toEqual(seen('ConversationSession', '127.0.0.3'));
  });

  it('knows a client that sends its own X-Forwarded-For by its real address, whatever it claims', async () => {
    const liar = from('127.0.0.4');
    for (const claim of ['203.0.113.1', '203.0.113.2']) {
      expect(await mint(gateway, liar, proxy.url, { 'x-forwarded-for': claim })).toEqual(
        seen('ConversationSession', '127.0.0.4'),
      );
    }
    expect(await mint(gateway, liar, proxy.url, { 'x-forwarded-for': '203.0.113.3' })).toEqual(
      seen('RateLimitedError', '127.0.0.4'),
    );
  });

  it('ignores X-Forwarded-For from a client that reaches the gateway directly', async () => {
    const direct = from('127.0.0.5');
    // It even claims to be the proxy, or someone behind it.
    for (const claim of [PROXY_ADDRESS, `203.0.113.5, ${PROXY_ADDRESS}`]) {
      expect(await mint(gateway, direct, gateway.url, { 'x-forwarded-for': claim })).toEqual(
        seen('ConversationSession', '127.0.0.5'),
      );
    }
    expect(await mint(gateway, direct, gateway.url, { 'x-forwarded-for': '203.0.113.6' })).toEqual(
      seen('RateLimitedError', '127.0.0.5'),
    );
  });
});

describe('behind proxies that append Forwarded (TRUSTED_PROXY_HEADER=forwarded)', () => {
  let gateway: ServerProcess;
  let ipv4Proxy: ForwardingProxy;
  let ipv6Proxy: ForwardingProxy;
  const clients: AddressedClient[] = [];
  const from = (address: string) => {
    const client = clientFrom(address);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gateway = await startServerProcess({
      TRUSTED_PROXIES: PROXY_ADDRESS,
      TRUSTED_PROXY_HEADER: 'forwarded',
      RATE_LIMIT_POINTS: '1',
    });
    const proxy = { target: gateway.url, localAddress: PROXY_ADDRESS, header: 'forwarded' } as const;
    [ipv4Proxy, ipv6Proxy] = await Promise.all([
      startForwardingProxy(proxy),
      startForwardingProxy({ ...proxy, host: '::1' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([ipv4Proxy?.stop(), ipv6Proxy?.stop()]);
    await gateway?.stop();
  });

  it('tells an IPv4 and an IPv6 client apart, by budget and in the access log', async () => {
    const [ipv4, ipv6] = [from('127.0.0.2'), from('::1')];
    expect(await mint(gateway, ipv4, ipv4Proxy.url)).toEqual(seen('ConversationSession', '127.0.0.2'));
    expect(await mint(gateway, ipv4, ipv4Proxy.url)).toEqual(seen('RateLimitedError', '127.0.0.2'));
    expect(await mint(gateway, ipv6, ipv6Proxy.url)).toEqual(seen('ConversationSession', '::1'));
  });

  it('ignores the X-Forwarded-For a client sends through them', async () => {
    const liar = from('127.0.0.3');
    expect(await mint(gateway, liar, ipv4Proxy.url, { 'x-forwarded-for': '203.0.113.7' })).toEqual(
      seen('ConversationSession', '127.0.0.3'),
    );
  });
});
