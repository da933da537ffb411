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

/** A gateway process with a proxy in front, started for one `describe`, and clients on addresses of their own. */
function behindProxy(header: 'x-forwarded-for' | 'forwarded', env: Record<string, string>) {
  let gateway: ServerProcess;
  let proxy: ForwardingProxy;
  const clients: AddressedClient[] = [];
  beforeAll(async () => {
    gateway = await startServerProcess({ TRUSTED_PROXIES: PROXY_ADDRESS, ...env });
    proxy = await startForwardingProxy({ target: gateway.url, localAddress: PROXY_ADDRESS, header });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await proxy?.stop();
    await gateway?.stop();
  });

  /** Mints a session from `address`, through the proxy unless `direct`: the result and whom the access line names. */
  return async (address: string, headers: Record<string, string> = {}, direct = false) => {
    const client = clientFrom(address);
    clients.push(client);
    const requestId = randomUUID();
    const url = `${direct ? gateway.url : proxy.url}/graphql`;
    const input = { input: { conversationId: 'conv_1' } };
    const { body } = await client.post(url, CREATE_SESSION, input, { ...headers, 'x-request-id': requestId });
    const line = await accessLine(gateway, requestId);
    const result = body.data?.['createConversationSession'].__typename;
    return { result, address: line['clientAddress'], caller: line['caller'] };
  };
}

const seen = (result: string, address: string) => ({ result, address, caller: `ip:${address}` });

describe('behind a proxy that appends X-Forwarded-For', () => {
  const mint = behindProxy('x-forwarded-for', { RATE_LIMIT_POINTS: '2' });

  it('gives each client its own rate-limit budget and its own address in the access log', async () => {
    expect(await mint('127.0.0.2')).toEqual(seen('ConversationSession', '127.0.0.2'));
    expect(await mint('127.0.0.2')).toEqual(seen('ConversationSession', '127.0.0.2'));
    expect(await mint('127.0.0.2')).toEqual(seen('RateLimitedError', '127.0.0.2'));
    expect(await mint('127.0.0.3')).toEqual(seen('ConversationSession', '127.0.0.3'));
  });

  it('knows a client that sends its own X-Forwarded-For by its real address, whatever it claims', async () => {
    for (const claim of ['203.0.113.1', '203.0.113.2']) {
      expect(await mint('127.0.0.4', { 'x-forwarded-for': claim })).toEqual(seen('ConversationSession', '127.0.0.4'));
    }
    expect(await mint('127.0.0.4', { 'x-forwarded-for': '203.0.113.3' })).toEqual(
      seen('RateLimitedError', '127.0.0.4'),
    );
  });

  it('ignores X-Forwarded-For from a client that reaches the gateway directly', async () => {
    // It even claims to be the proxy, or someone behind it.
    for (const claim of [PROXY_ADDRESS, `203.0.113.5, ${PROXY_ADDRESS}`]) {
      expect(await mint('127.0.0.5', { 'x-forwarded-for': claim }, true)).toEqual(
        seen('ConversationSession', '127.0.0.5'),
      );
    }
    expect(await mint('127.0.0.5', { 'x-forwarded-for': '203.0.113.6' }, true)).toEqual(
      seen('RateLimitedError', '127.0.0.5'),
    );
  });
});

describe('behind a proxy that appends Forwarded (TRUSTED_PROXY_HEADER=forwarded)', () => {
  const mint = behindProxy('forwarded', { TRUSTED_PROXY_HEADER: 'forwarded', RATE_LIMIT_POINTS: '1' });

  it('gives each client its own rate-limit budget and its own address in the access log', async () => {
    expect(await mint('127.0.0.2')).toEqual(seen('ConversationSession', '127.0.0.2'));
    expect(await mint('127.0.0.2')).toEqual(seen('RateLimitedError', '127.0.0.2'));
    expect(await mint('127.0.0.3')).toEqual(seen('ConversationSession', '127.0.0.3'));
  });

  it('ignores the X-Forwarded-For a client sends through it', async () => {
    expect(await mint('127.0.0.4', { 'x-forwarded-for': '203.0.113.7' })).toEqual(
      seen('ConversationSession', '127.0.0.4'),
    );
  });
});
