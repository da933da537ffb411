import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationSessionClient } from '../../src/chatbotkit/conversation-session.ts';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { CREATE_SESSION, postGraphQL, startGateway, type TestGateway, withGateway } from '../helpers/gateway.ts';
import { type ScriptedUpstream, sessionBody, startScriptedUpstream, type UpstreamReply } from '../helpers/upstream.ts';

const SECRET = 'sk-live-do-not-leak-7f3a';

describe('createConversationSession against the emulator', () => {
  let emulator: RunningEmulator;
  let gateway: TestGateway;

  beforeAll(async () => {
    emulator = await startEmulator({ secret: SECRET });
    gateway = await startGateway(emulator.url, { secret: SECRET });
  });
  afterAll(async () => {
    await gateway.close();
    await emulator.close();
  });

  it('returns a ConversationSession with the id, a token and an ISO-8601 expiry', async () => {
    const before = Date.now();
    const { status, headers, body } = await postGraphQL(gateway.url, CREATE_SESSION, {
      input: { conversationId: 'conv_live', durationInSeconds: 300 },
    });
    expect(status).toBe(200);
    expect(headers.get('content-type')).toContain('application/graphql-response+json');
    const session = body.data?.['createConversationSession'];
    expect(session).toEqual({
      __typename: 'ConversationSession',
      conversationId: 'conv_live',
      token: expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/),
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const expiresAt = Date.parse(session.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 299_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 301_000);
  });

  it('returns ConversationNotFoundError for a conversation the upstream does not know', async () => {
    const { body } = await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'unknown_conv' } });
    expect(body.data?.['createConversationSession']).toEqual({
      __typename: 'ConversationNotFoundError',
      code: 'CONVERSATION_NOT_FOUND',
      conversationId: 'unknown_conv',
      message: 'No conversation "unknown_conv" exists for this account.',
    });
  });

  it('answers GATEWAY_MISCONFIGURED, not ConversationNotFoundError, when the base URL misses the route', async () => {
    await withGateway(`${emulator.url}/elsewhere/v1`, { secret: SECRET }, async (misrouted) => {
      const { body } = await postGraphQL(misrouted.url, CREATE_SESSION, { input: { conversationId: 'conv_live' } });
      expect(body.errors?.[0]?.extensions).toEqual({ code: 'GATEWAY_MISCONFIGURED' });
    });
  });

  it.each([
    [{ conversationId: '../bot/abc', durationInSeconds: 60 }, 'input.conversationId'],
    [{ conversationId: 'conv 1' }, 'input.conversationId'],
    [{ conversationId: 'conv1', durationInSeconds: 0 }, 'input.durationInSeconds'],
    [{ conversationId: 'conv1', durationInSeconds: -1 }, 'input.durationInSeconds'],
    [{ conversationId: 'conv1', durationInSeconds: 86_401 }, 'input.durationInSeconds'],
  ])('returns InvalidInputError naming the field for %j', async (input, field) => {
    const { body } = await postGraphQL(gateway.url, CREATE_SESSION, { input });
    expect(body.data?.['createConversationSession']).toMatchObject({
      __typename: 'InvalidInputError',
      code: 'INVALID_INPUT',
      field,
    });
    expect(body.data?.['createConversationSession'].message).toMatch(/^input\.\w+ must be/);
  });

  it('refuses a non-integer duration at the GraphQL layer with a 400', async () => {
    const { status, body } = await postGraphQL(gateway.url, CREATE_SESSION, {
      input: { conversationId: 'c', durationInSeconds: 1.5 },
    });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toContain('durationInSeconds');
  });

  it('answers Query.sessionGateway with the version, upstream kind and duration limit', async () => {
    const { body } = await postGraphQL(gateway.url, '{ sessionGateway { version upstream maxDurationInSeconds } }');
    expect(body.data).toEqual({
      sessionGateway: { version: 'test', upstream: 'CUSTOM', maxDurationInSeconds: 86_400 },
    });
  });
});

describe('createConversationSession when the upstream answers otherwise', () => {
  let upstream: ScriptedUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    upstream = await startScriptedUpstream();
    gateway = await startGateway(upstream.url, { secret: SECRET, timeout: 500 });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  async function createWith(reply: UpstreamReply) {
    upstream.reply(reply);
    const response = await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv1' } });
    expect(JSON.stringify(response.body)).not.toContain(SECRET);
    expect(JSON.stringify(response.body)).not.toMatch(/at .*\.ts:\d+|stack/);
    return response;
  }

  it.each([
    [
      { status: 403, body: { message: 'Forbidden: owner is user_9', code: 'NOT_AUTHORIZED' } },
      { __typename: 'NotAuthorizedError', code: 'NOT_AUTHORIZED' },
    ],
    [
      { status: 429, body: { message: 'Too many', code: 'TOO_MANY_REQUESTS' }, headers: { 'retry-after': '12' } },
      { __typename: 'RateLimitedError', code: 'RATE_LIMITED', retryAfterSeconds: 12 },
    ],
    [
      { status: 429, body: { message: 'Limits reached', code: 'LIMITS_REACHED' } },
      { __typename: 'RateLimitedError', retryAfterSeconds: null },
    ],
    [
      { status: 400, body: { message: 'bad', code: 'BAD_REQUEST' } },
      { __typename: 'InvalidInputError', field: 'input' },
    ],
    [
      { status: 404, body: { message: 'nope', code: 'NOT_FOUND' } },
      { __typename: 'ConversationNotFoundError', conversationId: 'conv1' },
    ],
  ] as const)('maps %j to a typed result', async (reply, expected) => {
    const { status, body } = await createWith(reply);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.['createConversationSession']).toMatchObject(expected);
    expect(JSON.stringify(body)).not.toContain('owner is user_9');
  });

  it.each([
    ['the upstream hangs', 'hang', 'UPSTREAM_TIMEOUT'],
    ['the connection is reset', 'reset', 'UPSTREAM_UNAVAILABLE'],
    [
      'a 500',
      { status: 500, body: { message: 'db exploded at host db-3', code: 'INTERNAL_SERVER_ERROR' } },
      'UPSTREAM_UNAVAILABLE',
    ],
    ['a 503', { status: 503, body: 'Service Unavailable' }, 'UPSTREAM_UNAVAILABLE'],
    [
      'a 401 (secret rejected)',
      { status: 401, body: { message: 'bad key', code: 'NOT_AUTHENTICATED' } },
      'GATEWAY_MISCONFIGURED',
    ],
    [
      'a 402 (no subscription)',
      { status: 402, body: { message: 'pay', code: 'NO_SUBSCRIPTION' } },
      'GATEWAY_MISCONFIGURED',
    ],
    ['a 409', { status: 409, body: { message: 'conflict', code: 'CONFLICT' } }, 'UPSTREAM_ERROR'],
    ['a 200 that is not JSON', { status: 200, body: '<html>' }, 'UPSTREAM_BAD_RESPONSE'],
    ['a 200 without a token', { status: 200, body: { id: 'conv1', expiresAt: 1 } }, 'UPSTREAM_BAD_RESPONSE'],
  ] as const)('answers %s with a GraphQL error coded %s and a safe message', async (_name, reply, code) => {
    const { body } = await createWith(reply);
    expect(body.data).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.extensions).toEqual({ code });
    expect(body.errors?.[0]?.message).not.toMatch(/db-3|bad key|127\.0\.0\.1/);
  });

  it.each([
    [
      'an HTML 404 from a proxy',
      { status: 404, body: '<html><body>404 Not Found</body></html>', headers: { 'content-type': 'text/html' } },
      '404 without a ChatBotKit error body',
    ],
    [
      'a JSON 404 with a code other than NOT_FOUND',
      { status: 404, body: { message: 'No such route', code: 'ROUTE_NOT_FOUND' } },
      '404 with code ROUTE_NOT_FOUND',
    ],
    ['an empty 404', { status: 404 }, '404 without a ChatBotKit error body'],
  ] as const)('answers %s with GATEWAY_MISCONFIGURED and logs why as an error', async (name, reply, reason) => {
    upstream.reply(reply);
    const requestId = `misrouted-${name.length}`;
    const { body } = await postGraphQL(
      gateway.url,
      CREATE_SESSION,
      { input: { conversationId: 'conv1' } },
      {
        'x-request-id': requestId,
      },
    );
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'GATEWAY_MISCONFIGURED' });
    expect(JSON.stringify(body)).not.toMatch(/404|CHATBOTKIT_API_URL|ROUTE_NOT_FOUND|html/i);
    const line = gateway.logs.find((entry) => entry.includes(requestId) && entry.includes('misconfigured'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      level: 50,
      reason: expect.stringContaining(`${reason}, not ChatBotKit’s NOT_FOUND`),
    });
    expect(line).toContain('CHATBOTKIT_API_URL');
    expect(line).not.toContain(SECRET);
  });

  it('forwards the caller’s x-request-id upstream and returns it', async () => {
    upstream.reply({ status: 200, body: sessionBody() });
    upstream.requests.length = 0;
    const { headers } = await postGraphQL(
      gateway.url,
      CREATE_SESSION,
      { input: { conversationId: 'conv1' } },
      { 'x-request-id': 'trace-abc.1' },
    );
    expect(headers.get('x-request-id')).toBe('trace-abc.1');
    expect(upstream.requests[0]?.headers['x-request-id']).toBe('trace-abc.1');
  });

  it('generates a request id when the caller sends none or an unsafe one', async () => {
    upstream.reply({ status: 200, body: sessionBody() });
    upstream.requests.length = 0;
    const { headers } = await postGraphQL(
      gateway.url,
      CREATE_SESSION,
      { input: { conversationId: 'conv1' } },
      { 'x-request-id': 'a b\tc' },
    );
    const id = headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(upstream.requests[0]?.headers['x-request-id']).toBe(id);
  });

  it.each([
    [
      'two aliases',
      'mutation { a: createConversationSession(input: {conversationId: "c1"}) { __typename } ' +
        'b: createConversationSession(input: {conversationId: "c2"}) { __typename } }',
    ],
    [
      'an alias and a fragment',
      'fragment F on Mutation { a: createConversationSession(input: {conversationId: "c1"}) { __typename } } ' +
        'mutation { ...F b: createConversationSession(input: {conversationId: "c2"}) { __typename } }',
    ],
  ])('refuses an operation that mints more than one session (%s) before calling the upstream', async (_name, query) => {
    upstream.requests.length = 0;
    const { status, body } = await postGraphQL(gateway.url, query);
    expect(status).toBe(400);
    expect(body.errors?.[0]).toMatchObject({
      message: 'An operation may call createConversationSession only once.',
      extensions: { code: 'TOO_MANY_SESSIONS' },
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it('keeps serving after every kind of failure', async () => {
    upstream.reply({ status: 200, body: sessionBody('conv1', 'tok_after') });
    const { body } = await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv1' } });
    expect(body.data?.['createConversationSession']).toMatchObject({
      __typename: 'ConversationSession',
      token: 'tok_after',
    });
  });
});

describe('createConversationSession when the upstream is down or saturated', () => {
  it('fails fast with UPSTREAM_UNAVAILABLE once the circuit opens, without calling the upstream', async () => {
    const upstream = await startScriptedUpstream({
      status: 500,
      body: { message: 'down', code: 'INTERNAL_SERVER_ERROR' },
    });
    const gateway = await startGateway(upstream.url, { circuitThreshold: 2, circuitHalfOpenAfter: 60_000 });
    try {
      for (let i = 0; i < 2; i++)
        await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv1' } });
      const attemptsBefore = upstream.requests.length;
      const { body } = await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv1' } });
      expect(body.errors?.[0]?.extensions).toEqual({ code: 'UPSTREAM_UNAVAILABLE' });
      expect(upstream.requests.length).toBe(attemptsBefore);
      const ready = await fetch(new URL('/readyz', gateway.url));
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ready: true, upstream: { circuit: 'open' } });
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('answers GATEWAY_OVERLOADED when the concurrency limit and its queue are full', async () => {
    const upstream = await startScriptedUpstream({ status: 200, body: sessionBody(), delayMs: 1_000 });
    const gateway = await startGateway(upstream.url, { maxConcurrent: 1, maxQueued: 0 });
    try {
      const first = postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv1' } });
      await expect.poll(() => upstream.requests.length).toBe(1);
      const { body } = await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv1' } });
      expect(body.errors?.[0]).toMatchObject({
        extensions: { code: 'GATEWAY_OVERLOADED' },
        message: expect.stringContaining('try again'),
      });
      expect((await first).body.data?.['createConversationSession'].__typename).toBe('ConversationSession');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('a bug inside the gateway', () => {
  // Fault injection: a client whose createValidated() (what the resolver calls) fails the way
  // a programming error would.
  class FaultyClient extends ConversationSessionClient {
    override createValidated(): never {
      throw new TypeError(`cannot read "token" of undefined at /srv/gateway/src/internal.ts:12 (${SECRET})`);
    }
  }

  async function inDevelopment(run: () => Promise<void>): Promise<void> {
    const previous = process.env['NODE_ENV'];
    process.env['NODE_ENV'] = 'development';
    try {
      await run();
    } finally {
      if (previous === undefined) delete process.env['NODE_ENV'];
      else process.env['NODE_ENV'] = previous;
    }
  }

  it.each([
    ['the known-operation path', true],
    ['Yoga', false],
  ])(
    'reaches the client through %s as a masked INTERNAL_SERVER_ERROR, even with NODE_ENV=development',
    async (_path, knownOperationPath) => {
      const baseUrl = 'http://127.0.0.1:9';
      const options = { client: new FaultyClient({ baseUrl }), secret: SECRET, knownOperationPath };
      await inDevelopment(() =>
        withGateway(baseUrl, options, async (gateway) => {
          const { body } = await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv1' } });
          expect(body.errors).toEqual([
            {
              message: 'Unexpected error.',
              locations: expect.any(Array),
              path: ['createConversationSession'],
              extensions: { code: 'INTERNAL_SERVER_ERROR' },
            },
          ]);
          expect(JSON.stringify(body)).not.toMatch(/internal\.ts|cannot read|sk-live/);
          expect(gateway.logs.join('')).toContain('cannot read');
          expect(gateway.logs.join('')).not.toContain(SECRET);
        }),
      );
    },
  );
});
