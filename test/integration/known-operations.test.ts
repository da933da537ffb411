import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_MUTATION } from '../../src/app.ts';
import { ConversationSessionClient } from '../../src/chatbotkit/conversation-session.ts';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { responseMediaType } from '../../src/known-operations.ts';
import { CREATE_SESSION, startGateway, type TestGateway, type TestGatewayOptions } from '../helpers/gateway.ts';
import { type ScriptedUpstream, startScriptedUpstream } from '../helpers/upstream.ts';

/*
 * POSTed mutations are answered by the known-operation path (src/known-operations.ts), not by
 * Yoga. Every answer here is compared with the one Yoga gives for the same request, through
 * `app.yoga.fetch`, which the known-operation path never sees.
 */

const KEY = 'known-operations-test-key';
const URLENCODED = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };

interface Answer {
  status: number;
  contentType: string | null;
  wwwAuthenticate: string | null;
  body: string;
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    wwwAuthenticate: response.headers.get('www-authenticate'),
    // Each call mints a new token with its own expiry.
    body: text.replace(/"token":"[^"]+"/g, '"token":"…"').replace(/"expiresAt":"[^"]+"/g, '"expiresAt":"…"'),
  };
}

/** The same request over the gateway's port and straight into Yoga. */
async function bothWays(
  gateway: TestGateway,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ served: Answer; yoga: Answer }> {
  const init = {
    method: 'POST',
    headers: { ...JSON_HEADERS, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
  const served = await answerOf(await fetch(gateway.url, init));
  const yoga = await answerOf(await gateway.app.yoga.fetch('http://127.0.0.1/graphql', init));
  return { served, yoga };
}

async function knownOperationCount(gateway: TestGateway): Promise<number> {
  const text = await (await fetch(new URL('/metrics', gateway.url))).text();
  return Number(/^gateway_known_operation_requests_total (\d+)$/m.exec(text)?.[1]);
}

let emulator: RunningEmulator;
let upstream: ScriptedUpstream;
beforeAll(async () => {
  emulator = await startEmulator();
  upstream = await startScriptedUpstream();
});
afterAll(async () => {
  await emulator.close();
  await upstream.close();
});

async function withGateway(
  baseUrl: string,
  options: TestGatewayOptions,
  run: (gateway: TestGateway) => Promise<void>,
): Promise<void> {
  const gateway = await startGateway(baseUrl, options);
  try {
    await run(gateway);
  } finally {
    await gateway.close();
  }
}

describe('the known-operation path', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(emulator.url);
  });
  afterAll(() => gateway.close());

  it('answers POSTed mutations itself and leaves every other request to Yoga', async () => {
    const before = await knownOperationCount(gateway);
    const mutation = JSON.stringify({ query: EXAMPLE_MUTATION });
    const answers = [
      await fetch(gateway.url, { method: 'POST', headers: JSON_HEADERS, body: mutation }),
      await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=UTF-8' },
        body: mutation,
      }),
    ];
    expect(await knownOperationCount(gateway)).toBe(before + 2);

    const others = [
      fetch(gateway.url, {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ query: '{ sessionGateway { version } }' }),
      }),
      fetch(`${gateway.url}?query=${encodeURIComponent('{ sessionGateway { version } }')}`),
      fetch(gateway.url, {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'apollo-federation-include-trace': 'ftv1' },
        body: mutation,
      }),
      fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/graphql+json' }, body: mutation }),
      fetch(gateway.url, { method: 'POST', headers: { ...JSON_HEADERS, accept: 'text/event-stream' }, body: mutation }),
      fetch(gateway.url, {
        method: 'POST',
        headers: URLENCODED,
        body: `query=${encodeURIComponent(EXAMPLE_MUTATION)}`,
      }),
      fetch(gateway.url, {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ query: EXAMPLE_MUTATION, extensions: {} }),
      }),
      fetch(gateway.url, {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ query: EXAMPLE_MUTATION, operationName: 'Other' }),
      }),
    ];
    for (const response of [...answers, ...(await Promise.all(others))]) await response.body?.cancel();
    expect(await knownOperationCount(gateway)).toBe(before + 2);
  });

  it.each([
    [
      'a session, with variables',
      { query: CREATE_SESSION, variables: { input: { conversationId: 'conv_same', durationInSeconds: 60 } } },
    ],
    ['a session, inline, by operation name', { query: EXAMPLE_MUTATION, operationName: 'CreateSession' }],
    ['null variables and operation name', { query: EXAMPLE_MUTATION, operationName: null, variables: null }],
    ['a typed InvalidInputError', { query: CREATE_SESSION, variables: { input: { conversationId: '../bot/abc' } } }],
    [
      'a typed ConversationNotFoundError',
      { query: CREATE_SESSION, variables: { input: { conversationId: 'unknown_conv' } } },
    ],
    [
      'a variable of the wrong type (400)',
      { query: CREATE_SESSION, variables: { input: { conversationId: 'c1', durationInSeconds: 1.5 } } },
    ],
    ['a missing variable (400)', { query: CREATE_SESSION }],
    ['a variable that is not an object', { query: CREATE_SESSION, variables: [1] }],
    ['an operation name that names nothing', { query: EXAMPLE_MUTATION, operationName: 'Nope' }],
    [
      'two sessions in one operation',
      {
        query:
          'mutation { a: createConversationSession(input: { conversationId: "a" }) { __typename } ' +
          'b: createConversationSession(input: { conversationId: "b" }) { __typename } }',
      },
    ],
    ['an unknown field', { query: 'mutation { createConversationSession(input: { conversationId: "a" }) { nope } }' }],
    ['an unexpected parameter', { query: EXAMPLE_MUTATION, extra: 1 }],
    ['a batch', [{ query: EXAMPLE_MUTATION }]],
    ['a body that is not JSON', '{"query": "mutation {'],
  ])('answers %s exactly as Yoga does', async (_case, body) => {
    const { served, yoga } = await bothWays(gateway, body);
    expect(served).toEqual(yoga);
  });

  it.each([
    [undefined],
    ['*/*'],
    ['application/json'],
    ['application/*'],
    ['application/graphql-response+json, application/json'],
    ['application/json, application/graphql-response+json'],
    ['application/json;q=0.5, application/graphql-response+json'],
    [
      'application/graphql-response+json, application/graphql+json, application/json, ' +
        'text/event-stream, multipart/mixed',
    ],
    ['application/json; charset=latin1, application/graphql-response+json'],
    ['*/json, application/graphql-response+json'],
    ['text/html'],
  ])('answers with the media type Yoga picks for Accept: %s', async (accept) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (accept !== undefined) headers['accept'] = accept;
    const init = { method: 'POST', headers, body: JSON.stringify({ query: EXAMPLE_MUTATION }) };
    const served = await answerOf(await fetch(gateway.url, init));
    const yoga = await answerOf(await gateway.app.yoga.fetch('http://127.0.0.1/graphql', init));
    expect(served).toEqual(yoga);
    expect(served.contentType === null ? undefined : served.contentType.split(';')[0]).toBe(
      accept === 'text/html' ? undefined : responseMediaType(accept),
    );
  });

  it.each([
    ['application/json; charset=utf-8'],
    ['application/json;charset=latin1'],
    ['Application/JSON'],
    ['application/json, text/plain'],
    ['text/plain'],
  ])('answers Content-Type: %s exactly as Yoga does', async (contentType) => {
    const { served, yoga } = await bothWays(gateway, { query: EXAMPLE_MUTATION }, { 'content-type': contentType });
    expect(served).toEqual(yoga);
  });

  it('hands bodies it has read, and bodies too large to be a known operation, to Yoga intact', async () => {
    // A query (not a mutation) of ~10 KB is read here, then passed to Yoga; ~20 KB goes to Yoga unread.
    for (const padding of [10_000, 20_000]) {
      const query = `{ sessionGateway { version } }#${'x'.repeat(padding)}`;
      const { served, yoga } = await bothWays(gateway, { query });
      expect(served).toEqual(yoga);
      expect(served.status).toBe(200);
    }
    const before = await knownOperationCount(gateway);
    const { served } = await bothWays(gateway, { query: `${EXAMPLE_MUTATION}#${'x'.repeat(20_000)}` });
    expect(served.body).toContain('"ConversationSession"');
    expect(await knownOperationCount(gateway)).toBe(before);
  });

  it('writes the same request log line and returns the caller’s request id', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'x-request-id': 'req-known-1' },
      body: JSON.stringify({ query: EXAMPLE_MUTATION }),
    });
    expect(response.headers.get('x-request-id')).toBe('req-known-1');
    await response.text();
    const line = JSON.parse(gateway.logs.find((entry) => entry.includes('"req-known-1"'))!);
    expect(line).toMatchObject({
      msg: 'request',
      method: 'POST',
      path: '/graphql',
      status: 200,
      operationName: 'CreateSession',
      result: 'ConversationSession',
      upstreamStatus: 200,
    });
  });
});

describe('the known-operation path, failures and settings', () => {
  it('answers an upstream failure and a credential refusal exactly as Yoga does', async () => {
    upstream.reply({ status: 500, body: { message: 'boom', code: 'GENERIC_ERROR' } });
    await withGateway(upstream.url, { retries: 0 }, async (gateway) => {
      const { served, yoga } = await bothWays(gateway, { query: EXAMPLE_MUTATION });
      expect(served).toEqual(yoga);
      expect(served.body).toContain('UPSTREAM_UNAVAILABLE');
    });
    const auth = { mode: 'api-key' as const, keyHashes: [createHash('sha256').update(KEY).digest('hex')] };
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      const refused = await bothWays(gateway, { query: EXAMPLE_MUTATION });
      expect(refused.served).toEqual(refused.yoga);
      expect(refused.served).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer' });
      const allowed = await bothWays(gateway, { query: EXAMPLE_MUTATION }, { 'x-api-key': KEY });
      expect(allowed.served).toEqual(allowed.yoga);
      expect(allowed.served.status).toBe(200);
    });
  });

  it('masks a bug inside the gateway as Unexpected error, as Yoga does', async () => {
    // createValidated() is what the resolver calls.
    class FaultyClient extends ConversationSessionClient {
      override createValidated(): never {
        throw new TypeError('cannot read "token" of undefined at /srv/gateway/src/internal.ts:12');
      }
    }
    await withGateway(emulator.url, { client: new FaultyClient({ baseUrl: emulator.url }) }, async (gateway) => {
      const { served, yoga } = await bothWays(gateway, { query: EXAMPLE_MUTATION });
      expect(served).toEqual(yoga);
      expect(served.body).toContain('"Unexpected error."');
      expect(served.body).not.toContain('internal.ts');
    });
  });

  it('runs allow-listed operations by hash and refuses documents, as Yoga does', async () => {
    const hash = createHash('sha256').update(EXAMPLE_MUTATION).digest('hex');
    await withGateway(
      emulator.url,
      { config: { limits: { persistedOperations: { [hash]: EXAMPLE_MUTATION } } } },
      async (gateway) => {
        const before = await knownOperationCount(gateway);
        const byHash = await bothWays(gateway, { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
        expect(byHash.served).toEqual(byHash.yoga);
        expect(byHash.served.body).toContain('"ConversationSession"');
        expect(await knownOperationCount(gateway)).toBe(before + 1);
        const byText = await bothWays(gateway, { query: EXAMPLE_MUTATION });
        expect(byText.served).toEqual(byText.yoga);
        expect(byText.served.body).toContain('PERSISTED_QUERY_ONLY');
      },
    );
  });

  it('scrubs the secret from its request line too, even when a caller sends it as the request id', async () => {
    const secret = 'sk-live-known-operations-7f3a';
    await withGateway(emulator.url, { secret }, async (gateway) => {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'x-request-id': secret },
        body: JSON.stringify({ query: EXAMPLE_MUTATION }),
      });
      expect(response.status).toBe(200);
      await response.text();
      const lines = gateway.logs.filter((line) => line.includes('"msg":"request"'));
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('')).toContain('[redacted]');
      expect(gateway.logs.join('')).not.toContain(secret);
    });
  });

  it('leaves requests from an allowed origin to Yoga, which adds the CORS headers', async () => {
    await withGateway(emulator.url, { config: { corsOrigins: ['https://app.example'] } }, async (gateway) => {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { ...JSON_HEADERS, origin: 'https://app.example' },
        body: JSON.stringify({ query: EXAMPLE_MUTATION }),
      });
      expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect((await response.json()).data.createConversationSession.__typename).toBe('ConversationSession');
    });
  });
});
