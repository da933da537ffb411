import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_MUTATION } from '../../src/app.ts';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import {
  CREATE_SESSION,
  knownOperationCount,
  postGraphQL,
  startGateway,
  type TestGateway,
  withGateway,
} from '../helpers/gateway.ts';
import { REDIS_SERVER, startRedis } from '../helpers/redis.ts';
import { type ScriptedUpstream, sessionForRoute, startScriptedUpstream } from '../helpers/upstream.ts';

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

/** Fragments F1…Fn, each spreading the one before twice: 2^n fields from a few hundred characters. */
const fanOut = (n: number) =>
  Array.from({ length: n }, (_, i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`).join(' ');

const errorMessages = (body: { errors?: { message: string }[] }) =>
  (body.errors ?? []).map((error) => error.message).join('\n');

describe('document limits (graphql-armor)', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(emulator.url);
  });
  afterAll(() => gateway.close());

  it.each([
    ['depth', `{ ${'a { '.repeat(12)}b${' }'.repeat(12)} }`, /depth limit/i],
    [
      'aliases',
      `{ ${Array.from({ length: 12 }, (_, i) => `a${i}: sessionGateway { version }`).join(' ')} }`,
      /aliases limit/i,
    ],
    ['directives', `{ sessionGateway { version ${'@include(if: true) '.repeat(12)} } }`, /directives limit/i],
    ['tokens', `{ sessionGateway { ${'version '.repeat(1200)} } }`, /token limit/i],
    [
      'cost (fragments that fan out)',
      `query { ...F9 } fragment F0 on Query { sessionGateway { version upstream } } ${fanOut(9)}`,
      /cost limit/i,
    ],
  ])('refuses a document over the %s limit with a 400, before running it', async (_name, query, message) => {
    const { status, body } = await postGraphQL(gateway.url, query);
    expect(status).toBe(400);
    expect(errorMessages(body)).toMatch(message);
    expect(body.data).toBeUndefined();
  });

  it('refuses a subscription (this service has none) with a 400, over POST and GET', async () => {
    const post = await postGraphQL(gateway.url, 'subscription { __typename }');
    expect(post.status).toBe(400);
    expect(errorMessages(post.body)).toContain('does not support subscription operations');
    const get = await fetch(`${gateway.url}?query=${encodeURIComponent('subscription { __typename }')}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(get.status).toBe(400);
  });

  it('still runs the example mutation and GraphiQL-sized introspection', async () => {
    expect((await postGraphQL(gateway.url, EXAMPLE_MUTATION)).body.data?.['createConversationSession'].__typename).toBe(
      'ConversationSession',
    );
    const { body } = await postGraphQL(
      gateway.url,
      '{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }',
    );
    expect(body.errors).toBeUndefined();
  });
});

describe('HTTP limits', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(emulator.url, { config: { limits: { maxBodyBytes: 4096 } } });
  });
  afterAll(() => gateway.close());

  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const query = `{ sessionGateway { version } } # ${'x'.repeat(5000)}`;
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(response.status).toBe(413);
  });

  it('refuses a POST of unknown length (chunked) with 411', async () => {
    const { port, pathname } = new URL(gateway.url);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode);
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify({ query: '{ sessionGateway { version } }' }));
    });
    expect(status).toBe(411);
  });

  it('does not batch: an array of operations is refused', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { query: CREATE_SESSION, variables: { input: { conversationId: 'a' } } },
        { query: CREATE_SESSION, variables: { input: { conversationId: 'b' } } },
      ]),
    });
    expect(response.status).toBe(400);
  });

  it('refuses a form a hostile page could submit (CSRF), but not a JSON request or a GET query', async () => {
    const form = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: EXAMPLE_MUTATION }).toString(),
    });
    expect(form.status).toBe(403);
    expect((await postGraphQL(gateway.url, '{ sessionGateway { version } }')).status).toBe(200);
    expect((await fetch(`${gateway.url}?query=${encodeURIComponent('{ sessionGateway { version } }')}`)).status).toBe(
      200,
    );
  });
});

describe('MAX_BODY_BYTES on both request paths', () => {
  const LIMIT = 2048;
  let upstream: ScriptedUpstream;
  beforeAll(async () => {
    upstream = await startScriptedUpstream();
    upstream.reply(sessionForRoute('tok_limit'));
  });
  afterAll(() => upstream.close());

  /** A valid createConversationSession POST of exactly `bytes` bytes, padded by a comment in its document. */
  function mutationOfLength(bytes: number): string {
    const variables = { input: { conversationId: 'conv_limit' } };
    const bare = JSON.stringify({ query: `${CREATE_SESSION}#`, variables });
    const body = JSON.stringify({ query: `${CREATE_SESSION}#${'x'.repeat(bytes - bare.length)}`, variables });
    expect(Buffer.byteLength(body)).toBe(bytes);
    return body;
  }

  it.each([
    ['the known-operation path', true],
    ['Yoga', false],
  ])(
    'lets %s run a mutation at the limit, and refuses one a byte over it with 413 before the upstream sees it',
    async (_path, knownOperationPath) => {
      const options = { knownOperationPath, config: { limits: { maxBodyBytes: LIMIT } } };
      await withGateway(upstream.url, options, async (gateway) => {
        const post = (body: string) => fetch(gateway.url, { method: 'POST', headers: JSON_HEADERS, body });
        const calls = upstream.requests.length;

        const atLimit = await post(mutationOfLength(LIMIT));
        expect(atLimit.status).toBe(200);
        expect((await atLimit.json()).data.createConversationSession).toMatchObject({ token: 'tok_limit' });
        expect(upstream.requests.length).toBe(calls + 1);
        // Well under 16 KB, so the known-operation path takes it when it has one.
        expect(await knownOperationCount(gateway)).toBe(knownOperationPath ? 1 : 0);

        const overLimit = await post(mutationOfLength(LIMIT + 1));
        expect(overLimit.status).toBe(413);
        expect(await overLimit.text()).toBe(`Request bodies are limited to ${LIMIT} bytes.`);
        expect(upstream.requests.length).toBe(calls + 1);
        expect(await knownOperationCount(gateway)).toBe(knownOperationPath ? 1 : 0);
      });
    },
  );
});

describe('GRAPHIQL=false and INTROSPECTION=false (production defaults)', () => {
  it('serves no GraphiQL page, answers no introspection, and suggests no field names', async () => {
    await withGateway(
      emulator.url,
      { config: { limits: { graphiql: false, introspection: false } } },
      async (gateway) => {
        const page = await fetch(gateway.url, { headers: { accept: 'text/html' } });
        expect(await page.text()).not.toContain('<html');

        const introspection = await postGraphQL(gateway.url, '{ __schema { queryType { name } } }');
        expect(introspection.body.data ?? undefined).toBeUndefined();
        expect(errorMessages(introspection.body)).toMatch(/introspection/i);

        const typo = await postGraphQL(gateway.url, '{ sessionGatewai { version } }');
        expect(errorMessages(typo.body)).not.toMatch(/did you mean/i);

        expect(
          (await postGraphQL(gateway.url, EXAMPLE_MUTATION)).body.data?.['createConversationSession'].__typename,
        ).toBe('ConversationSession');
      },
    );
  });
});

describe('persisted operations (PERSISTED_OPERATIONS_FILE)', () => {
  const hash = createHash('sha256').update(EXAMPLE_MUTATION).digest('hex');
  const persisted = (sha256Hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash } } });
  const post = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
      async (response) => ({
        status: response.status,
        body: (await response.json()) as {
          data?: Record<string, { __typename: string }>;
          errors?: { message: string; extensions?: { code?: string } }[];
        },
      }),
    );

  it('runs allow-listed operations by hash and refuses everything else', async () => {
    await withGateway(
      emulator.url,
      { config: { limits: { persistedOperations: { [hash]: EXAMPLE_MUTATION } } } },
      async (gateway) => {
        expect((await post(gateway.url, persisted(hash))).body.data?.['createConversationSession']?.__typename).toBe(
          'ConversationSession',
        );

        const arbitrary = await post(gateway.url, { query: EXAMPLE_MUTATION });
        expect(arbitrary.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ONLY');

        const unknown = await post(gateway.url, persisted('0'.repeat(64)));
        expect(unknown.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
      },
    );
  });
});

describe('rate limit per caller (in memory)', () => {
  it('gives each caller its budget, then a RateLimitedError with retryAfterSeconds and no upstream call', async () => {
    const keys = ['gw_key_one_0001', 'gw_key_two_0002'];
    const auth = {
      mode: 'api-key' as const,
      keyHashes: keys.map((key) => createHash('sha256').update(key).digest('hex')),
    };
    await withGateway(
      emulator.url,
      { config: { auth, limits: { rateLimitPoints: 2, rateLimitWindowSeconds: 60 } } },
      async (gateway) => {
        const mint = async (key: string) =>
          (
            await postGraphQL(
              gateway.url,
              CREATE_SESSION,
              { input: { conversationId: 'conv_rl' } },
              { 'x-api-key': key },
            )
          ).body.data?.['createConversationSession'];
        const [one, two] = keys as [string, string];
        expect((await mint(one)).__typename).toBe('ConversationSession');
        expect((await mint(one)).__typename).toBe('ConversationSession');
        const limited = await mint(one);
        expect(limited).toMatchObject({ __typename: 'RateLimitedError', code: 'RATE_LIMITED' });
        expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(limited.retryAfterSeconds).toBeLessThanOrEqual(60);
        expect((await mint(two)).__typename).toBe('ConversationSession');
        expect(gateway.logs.filter((line) => line.includes('"upstreamStatus":200')).length).toBe(3);
      },
    );
  });

  it('spends no budget on invalid input', async () => {
    await withGateway(emulator.url, { config: { limits: { rateLimitPoints: 1 } } }, async (gateway) => {
      const mint = async (conversationId: string) =>
        (await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId } })).body.data?.[
          'createConversationSession'
        ];
      expect((await mint('bad id')).__typename).toBe('InvalidInputError');
      expect((await mint('conv_ok')).__typename).toBe('ConversationSession');
      expect((await mint('conv_ok')).__typename).toBe('RateLimitedError');
    });
  });
});

describe.skipIf(!REDIS_SERVER)('rate limit shared in Redis by two gateway replicas', () => {
  it('counts one budget across both replicas', async () => {
    const redis = await startRedis();
    const limits = { rateLimitPoints: 3, rateLimitWindowSeconds: 60, redisUrl: redis.url };
    const replicas = [
      await startGateway(emulator.url, { config: { limits } }),
      await startGateway(emulator.url, { config: { limits } }),
    ];
    try {
      const mint = async (gateway: TestGateway) =>
        (await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv_shared' } })).body.data?.[
          'createConversationSession'
        ].__typename;
      const [a, b] = replicas as [TestGateway, TestGateway];
      for (const replica of replicas)
        await expect.poll(() => replica.rateLimiter.status()).toEqual({ backend: 'redis', connected: true });
      expect([await mint(a), await mint(b), await mint(a)]).toEqual([
        'ConversationSession',
        'ConversationSession',
        'ConversationSession',
      ]);
      expect(await mint(b)).toBe('RateLimitedError');
      expect(await mint(a)).toBe('RateLimitedError');
    } finally {
      for (const replica of replicas) await replica.close();
      await redis.close();
    }
  });
});
