import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CREATE_SESSION,
  type GraphQLResponse,
  postGraphQL,
  type TestGateway,
  withGateway,
} from '../helpers/gateway.ts';
import { type ScriptedUpstream, sessionBody, startScriptedUpstream } from '../helpers/upstream.ts';

/*
 * What a session call costs the caller: its own budget for each call that reaches ChatBotKit, and
 * in passthrough mode, for tokens ChatBotKit refuses, a small failed-auth budget of the client
 * address (src/session-budget.ts). Gateway and upstream are real servers on real ports.
 */

const upstreams: ScriptedUpstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((upstream) => upstream.close()));
});

async function upstreamFor(...args: Parameters<typeof startScriptedUpstream>): Promise<ScriptedUpstream> {
  const upstream = await startScriptedUpstream(...args);
  upstreams.push(upstream);
  return upstream;
}

/** The mutation's result type, or the GraphQL error's code when there is none. */
function outcomeOf({ body }: GraphQLResponse): unknown {
  return body.data?.['createConversationSession']?.__typename ?? body.errors?.[0]?.extensions?.['code'];
}

async function mint(gateway: TestGateway, headers: Record<string, string> = {}): Promise<unknown> {
  return outcomeOf(await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv1' } }, headers));
}

async function mintTimes(gateway: TestGateway, times: number, headers: Record<string, string> = {}) {
  const outcomes: unknown[] = [];
  for (let i = 0; i < times; i++) outcomes.push(await mint(gateway, headers));
  return outcomes;
}

describe('AUTH_MODE=passthrough: tokens ChatBotKit refuses', () => {
  const GOOD = { authorization: 'Bearer cbk-good-token' };
  const junk = (i: number) => ({ authorization: `Bearer junk-${i}` });

  /** ChatBotKit as it treats tokens: one it knows mints, any other is refused with 401. */
  const chatbotkit = () =>
    upstreamFor().then((upstream) => {
      upstream.reply((request) =>
        request.headers.authorization === GOOD.authorization
          ? { status: 200, body: sessionBody() }
          : { status: 401, body: { message: 'Not authenticated', code: 'NOT_AUTHENTICATED' } },
      );
      return upstream;
    });

  it('never lets junk from the same address refuse a caller whose token ChatBotKit accepted', async () => {
    const upstream = await chatbotkit();
    const config = { auth: { mode: 'passthrough' as const }, limits: { rateLimitPoints: 3, failedAuthPoints: 5 } };
    await withGateway(upstream.url, { config }, async (gateway) => {
      expect(await mint(gateway, GOOD)).toBe('ConversationSession');
      for (let i = 0; i < 20; i++) expect(await mint(gateway, junk(i))).toMatch(/^(UNAUTHENTICATED|RateLimitedError)$/);
      // The caller's own budget of 3, untouched by the junk: 2 left.
      expect(await mintTimes(gateway, 3, GOOD)).toEqual([
        'ConversationSession',
        'ConversationSession',
        'RateLimitedError',
      ]);
    });
  });

  it('forwards refused tokens only up to the failed-auth budget, then refuses them unsent', async () => {
    const upstream = await chatbotkit();
    const config = { auth: { mode: 'passthrough' as const }, limits: { rateLimitPoints: 100, failedAuthPoints: 3 } };
    await withGateway(upstream.url, { config }, async (gateway) => {
      expect([await mint(gateway, junk(0)), await mint(gateway, junk(1))]).toEqual([
        'UNAUTHENTICATED',
        'UNAUTHENTICATED',
      ]);
      // A new caller's first call is not junk: ChatBotKit accepts it, and it costs the address nothing.
      expect(await mint(gateway, GOOD)).toBe('ConversationSession');
      expect(await mint(gateway, junk(2))).toBe('UNAUTHENTICATED');
      const forwarded = upstream.requests.length;
      expect(forwarded).toBe(4);

      // Ten more at once: the budget is spent, and none of them reaches ChatBotKit.
      const flood = await Promise.all(Array.from({ length: 10 }, (_, i) => mint(gateway, junk(100 + i))));
      expect(flood).toEqual(Array(10).fill('RateLimitedError'));
      expect(upstream.requests).toHaveLength(forwarded);
      expect(await mint(gateway, GOOD)).toBe('ConversationSession');
    });
  });
});

describe('calls that never reach ChatBotKit', () => {
  it('cost no budget while the upstream is down and the circuit open: all of it is left once it is back', async () => {
    const gone = await upstreamFor();
    await gone.close();
    const options = {
      config: { limits: { rateLimitPoints: 3 } },
      circuitThreshold: 2,
      circuitHalfOpenAfter: 200,
      retries: 0,
    };
    await withGateway(gone.url, options, async (gateway) => {
      // Refused connections open the circuit; the calls after them are refused without a connection.
      expect(await mintTimes(gateway, 6)).toEqual(Array(6).fill('UPSTREAM_UNAVAILABLE'));
      expect(gateway.client.health().circuit).toBe('open');

      const back = await upstreamFor({ status: 200, body: sessionBody() }, { port: gone.port });
      await sleep(300);
      expect(await mintTimes(gateway, 4)).toEqual([
        'ConversationSession',
        'ConversationSession',
        'ConversationSession',
        'RateLimitedError',
      ]);
      expect(back.requests).toHaveLength(3);
    });
  });

  it('cost no budget when the gateway is overloaded', async () => {
    // The first call is held upstream until the overloaded ones have been answered.
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    const upstream = await upstreamFor({ status: 200, body: sessionBody(), until: released });
    const options = { config: { limits: { rateLimitPoints: 2 } }, maxConcurrent: 1, maxQueued: 0 };
    await withGateway(upstream.url, options, async (gateway) => {
      const slow = mint(gateway);
      await expect.poll(() => upstream.requests.length).toBe(1);
      expect(await mintTimes(gateway, 3)).toEqual(Array(3).fill('GATEWAY_OVERLOADED'));
      upstream.reply({ status: 200, body: sessionBody() });
      release();
      expect(await slow).toBe('ConversationSession');
      expect(await mintTimes(gateway, 2)).toEqual(['ConversationSession', 'RateLimitedError']);
    });
  });
});
