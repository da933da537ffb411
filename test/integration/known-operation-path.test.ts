import { createHash, randomUUID } from 'node:crypto';
// Apollo's trace format, as the federated tracing plugin encodes it (a dependency of that plugin).
import { Trace } from '@apollo/usage-reporting-protobuf';
import fc from 'fast-check';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_MUTATION } from '../../src/app.ts';
import type { AuthConfig } from '../../src/auth/options.ts';
import { ConversationSessionClient } from '../../src/chatbotkit/conversation-session.ts';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import type { PluginEntry } from '../../src/plugins/index.ts';
import {
  accessLine,
  CREATE_SESSION,
  type GatewayPair,
  knownOperationCount,
  startGateway,
  startGatewayPair,
  type TestGateway,
  type TestGatewayOptions,
} from '../helpers/gateway.ts';
import {
  type RecordedRequest,
  type ScriptedUpstream,
  sessionForRoute,
  startScriptedUpstream,
  type UpstreamReply,
} from '../helpers/upstream.ts';

/*
 * The known-operation path (src/http/known-operation-path.ts) answers POSTed JSON objects with
 * Yoga's own pipeline, without Yoga's Fetch adapter. Every request here goes over the port to
 * two gateways on the same upstream, one with the path and one without it
 * (`knownOperationPath: false`), which must answer alike: status, content type,
 * `www-authenticate` and body, with tokens and expiry normalised. The known-operation counter
 * says which requests the path took.
 */

const KEY = 'known-operation-path-test-key';
const SECRET = 'sk-live-known-operation-path-7f3a';
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const API_KEY_AUTH: AuthConfig = { mode: 'api-key', keyHashes: [sha256(KEY)] };

/** What a client sees of an answer; a new token and expiry each call, normalised. */
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
    body: text.replace(/"token":"[^"]+"/g, '"token":"…"').replace(/"expiresAt":"[^"]+"/g, '"expiresAt":"…"'),
  };
}

interface HttpRequest {
  method?: 'GET' | 'POST';
  /** After the gateway's URL, e.g. `?query=…`. */
  search?: string;
  headers?: Record<string, string>;
  /** A string is sent as is, anything else as JSON. */
  body?: unknown;
}

/** The same request to both gateways; `taken`: whether the known-operation path answered it. */
interface BothAnswers {
  known: Answer;
  yogaOnly: Answer;
  taken: boolean;
}

async function sendTo(gateway: TestGateway, { method = 'POST', search = '', headers = {}, body }: HttpRequest) {
  const requestId = randomUUID();
  const response = await fetch(`${gateway.url}${search}`, {
    method,
    headers: { ...JSON_HEADERS, ...headers, 'x-request-id': requestId },
    ...(method === 'POST' && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const answer = await answerOf(response);
  // The counter is counted when the response closes, just before the access line is written.
  await accessLine(gateway, requestId);
  return answer;
}

async function bothPaths(pair: GatewayPair, request: HttpRequest): Promise<BothAnswers> {
  const before = await knownOperationCount(pair.known);
  const known = await sendTo(pair.known, request);
  const taken = (await knownOperationCount(pair.known)) - before;
  expect(taken === 0 || taken === 1).toBe(true);
  const yogaOnly = await sendTo(pair.yogaOnly, request);
  return { known, yogaOnly, taken: taken === 1 };
}

async function withPair(
  baseUrl: string,
  options: TestGatewayOptions,
  run: (pair: GatewayPair) => Promise<void>,
): Promise<void> {
  const pair = await startGatewayPair(baseUrl, options);
  try {
    await run(pair);
    // Whatever was sent, the gateway without the path never takes it.
    expect(await knownOperationCount(pair.yogaOnly)).toBe(0);
  } finally {
    await pair.close();
  }
}

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

const mutation = { query: EXAMPLE_MUTATION };
const query = { query: '{ sessionGateway { version } }' };

describe('the known-operation path', () => {
  let pair: GatewayPair;
  beforeAll(async () => {
    pair = await startGatewayPair(emulator.url);
  });
  afterAll(async () => {
    expect(await knownOperationCount(pair.yogaOnly)).toBe(0);
    await pair.close();
  });

  it.each<[string, HttpRequest]>([
    ['a POSTed mutation', { body: mutation }],
    ['JSON with a charset', { headers: { 'content-type': 'application/json; charset=UTF-8' }, body: mutation }],
    ['application/graphql+json', { headers: { 'content-type': 'application/graphql+json' }, body: mutation }],
    ['a POSTed query', { body: query }],
    ['a request for an event stream', { headers: { accept: 'text/event-stream' }, body: mutation }],
    ['empty extensions', { body: { ...mutation, extensions: {} } }],
    ['an operation name that names nothing', { body: { ...mutation, operationName: 'Other' } }],
    ['an Origin, with CORS off', { headers: { origin: 'https://app.example' }, body: mutation }],
  ])('takes %s, and answers it as Yoga does', async (_case, request) => {
    const { known, yogaOnly, taken } = await bothPaths(pair, request);
    expect(known).toEqual(yogaOnly);
    expect(taken).toBe(true);
  });

  it.each<[string, HttpRequest]>([
    ['a GET query', { method: 'GET', search: `?query=${encodeURIComponent(query.query)}` }],
    ['a POST with a query string', { search: '?x=1', body: mutation }],
    ['a form', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B__typename%7D' }],
    ['a JSON media type spelt in capitals', { headers: { 'content-type': 'Application/JSON' }, body: mutation }],
    ['text/plain', { headers: { 'content-type': 'text/plain' }, body: mutation }],
    ['JSON listed after another type', { headers: { 'content-type': 'text/plain, application/json' }, body: mutation }],
    ['a batch', { body: [mutation] }],
    ['an empty object', { body: {} }],
    ['JSON null', { body: 'null' }],
    ['a body that is not JSON', { body: '{"query": "mutation {' }],
    ['an empty body', { body: '' }],
    ['JSON after a byte order mark', { body: `\ufeff${JSON.stringify(query)}` }],
    ['a body over 16 KB', { body: { query: `${EXAMPLE_MUTATION}#${'x'.repeat(20_000)}` } }],
  ])('leaves %s to Yoga', async (_case, request) => {
    const { known, yogaOnly, taken } = await bothPaths(pair, request);
    expect(known).toEqual(yogaOnly);
    expect(taken).toBe(false);
  });

  it('leaves a router’s request for a federated trace to Yoga, which adds the trace', async () => {
    const headers = { 'apollo-federation-include-trace': 'ftv1' };
    const { known, taken } = await bothPaths(pair, { headers, body: mutation });
    expect(taken).toBe(false);
    const ftv1: string = JSON.parse(known.body).extensions.ftv1;
    // Every field timed, the ones with default resolvers too: Yoga's path keeps the tracing
    // resolver wrappers that the known-operation path bypasses (src/plugins/use-federated-tracing.ts).
    const names = (node: Trace.INode): string[] => [
      ...(node.responseName ? [node.responseName] : []),
      ...(node.child ?? []).flatMap(names),
    ];
    const trace = Trace.decode(Buffer.from(ftv1, 'base64'));
    expect(names(trace.root!)).toEqual(['createConversationSession', 'conversationId', 'token', 'expiresAt']);
  });

  it.each<[string, unknown]>([
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
    ['variables that are not an object', { query: CREATE_SESSION, variables: [1] }],
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
    ['a syntax error', { query: 'mutation {' }],
    ['a query that is not a string', { query: 1 }],
    ['an unexpected parameter', { query: EXAMPLE_MUTATION, extra: 1 }],
  ])('answers %s exactly as Yoga does', async (_case, body) => {
    const { known, yogaOnly, taken } = await bothPaths(pair, { body });
    expect(known).toEqual(yogaOnly);
    expect(taken).toBe(true);
  });

  it.each([
    [undefined],
    ['*/*'],
    ['application/json'],
    ['application/*'],
    ['application/graphql-response+json, application/json'],
    ['application/json, application/graphql-response+json'],
    ['application/json;q=0.5, application/graphql-response+json'],
    ['application/graphql-response+json, application/graphql+json, application/json, text/event-stream'],
    ['application/json; charset=latin1, application/graphql-response+json'],
    ['*/json, application/graphql-response+json'],
    ['multipart/mixed'],
    ['text/html'],
  ])('answers with the media type Yoga picks for Accept: %s', async (accept) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (accept !== undefined) headers['accept'] = accept;
    const { known, yogaOnly, taken } = await bothPaths(pair, { headers, body: mutation });
    expect(known).toEqual(yogaOnly);
    expect(taken).toBe(true);
    expect(known.status).toBe(accept === 'text/html' ? 406 : 200);
  });

  it.each([
    ['application/json; charset=utf-8', true],
    ['application/json;charset=latin1', true],
    ['application/json, text/plain', true],
    ['application/json ; charset=utf-8', false],
    ['Application/JSON', false],
    ['text/plain', false],
  ])('answers Content-Type: %s exactly as Yoga does', async (contentType, takes) => {
    const { known, yogaOnly, taken } = await bothPaths(pair, { headers: { 'content-type': contentType }, body: query });
    expect(known).toEqual(yogaOnly);
    expect(taken).toBe(takes);
  });

  it('hands a body it has read but cannot take to Yoga intact, and one over 16 KB unread', async () => {
    // JSON that is not a non-empty object is read here, then answered there: Yoga must read the
    // same JSON (not "invalid JSON") to refuse it for what it is.
    const padded = `{"query": "{ sessionGateway { version } }#${'x'.repeat(10_000)}"}`;
    for (const body of [`[${padded}]`, `{${' '.repeat(10_000)}}`]) {
      const { known, yogaOnly, taken } = await bothPaths(pair, { body });
      expect(known).toEqual(yogaOnly);
      expect(known.status).toBe(400);
      expect(known.body).not.toMatch(/JSON/);
      expect(taken).toBe(false);
    }
    const { known, taken } = await bothPaths(pair, { body: { query: `${EXAMPLE_MUTATION}#${'x'.repeat(20_000)}` } });
    expect(known.body).toContain('"ConversationSession"');
    expect(taken).toBe(false);
  });

  it('writes the same access line on both paths, and returns the caller’s request id', async () => {
    const lines = [];
    for (const gateway of [pair.known, pair.yogaOnly]) {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'x-request-id': 'req-known-1' },
        body: JSON.stringify(mutation),
      });
      expect(response.headers.get('x-request-id')).toBe('req-known-1');
      await response.text();
      const { time, durationMs, upstreamMs, caller, ...line } = await accessLine(gateway, 'req-known-1');
      expect(durationMs).toEqual(expect.any(Number));
      lines.push(line);
    }
    expect(lines[0]).toEqual(lines[1]);
    expect(lines[0]).toMatchObject({
      msg: 'request',
      requestId: 'req-known-1',
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
  let upstream: ScriptedUpstream;
  beforeAll(async () => {
    upstream = await startScriptedUpstream({ status: 500, body: { message: 'boom', code: 'GENERIC_ERROR' } });
  });
  afterAll(() => upstream.close());

  it('answers an upstream failure exactly as Yoga does', async () => {
    await withPair(upstream.url, { retries: 0 }, async (pair) => {
      const { known, yogaOnly, taken } = await bothPaths(pair, { body: mutation });
      expect(known).toEqual(yogaOnly);
      expect(known.body).toContain('UPSTREAM_UNAVAILABLE');
      expect(taken).toBe(true);
    });
  });

  it('answers a refused credential with 401 and www-authenticate exactly as Yoga does', async () => {
    await withPair(emulator.url, { config: { auth: API_KEY_AUTH } }, async (pair) => {
      const refused = await bothPaths(pair, { body: mutation });
      expect(refused.known).toEqual(refused.yogaOnly);
      expect(refused.known).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer' });
      expect(refused.taken).toBe(true);
      const allowed = await bothPaths(pair, { headers: { 'x-api-key': KEY }, body: mutation });
      expect(allowed.known).toEqual(allowed.yogaOnly);
      expect(allowed.known.status).toBe(200);
    });
  });

  it('masks a bug inside the gateway as Unexpected error, as Yoga does', async () => {
    class FaultyClient extends ConversationSessionClient {
      override createValidated(): never {
        throw new TypeError('cannot read "token" of undefined at /srv/gateway/src/internal.ts:12');
      }
    }
    await withPair(emulator.url, { client: new FaultyClient({ baseUrl: emulator.url }) }, async (pair) => {
      const { known, yogaOnly } = await bothPaths(pair, { body: mutation });
      expect(known).toEqual(yogaOnly);
      expect(known.body).toContain('"Unexpected error."');
      expect(known.body).not.toContain('internal.ts');
    });
  });

  it('runs allow-listed operations by hash and refuses documents, as Yoga does', async () => {
    const hash = sha256(EXAMPLE_MUTATION);
    const limits = { persistedOperations: { [hash]: EXAMPLE_MUTATION } };
    await withPair(emulator.url, { config: { limits } }, async (pair) => {
      const byHash = await bothPaths(pair, {
        body: { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
      });
      expect(byHash.known).toEqual(byHash.yogaOnly);
      expect(byHash.known.body).toContain('"ConversationSession"');
      expect(byHash.taken).toBe(true);
      const byText = await bothPaths(pair, { body: mutation });
      expect(byText.known).toEqual(byText.yogaOnly);
      expect(byText.known.body).toContain('PERSISTED_QUERY_ONLY');
    });
  });

  it('scrubs the secret from its access line, even when a caller sends it as the request id', async () => {
    await withPair(emulator.url, { secret: SECRET }, async (pair) => {
      for (const gateway of [pair.known, pair.yogaOnly]) {
        const response = await fetch(gateway.url, {
          method: 'POST',
          headers: { ...JSON_HEADERS, 'x-request-id': SECRET },
          body: JSON.stringify(mutation),
        });
        expect(response.status).toBe(200);
        await response.text();
        await expect.poll(() => gateway.logs.join('')).toContain('"msg":"request"');
        expect(gateway.logs.join('')).toContain('[redacted]');
        expect(gateway.logs.join('')).not.toContain(SECRET);
      }
      expect(await knownOperationCount(pair.known)).toBe(1);
    });
  });

  it('leaves requests from an allowed origin to Yoga, which adds the CORS headers', async () => {
    await withPair(emulator.url, { config: { corsOrigins: ['https://app.example'] } }, async (pair) => {
      const response = await fetch(pair.known.url, {
        method: 'POST',
        headers: { ...JSON_HEADERS, origin: 'https://app.example' },
        body: JSON.stringify(mutation),
      });
      expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect((await response.json()).data.createConversationSession.__typename).toBe('ConversationSession');
      const { known, yogaOnly, taken } = await bothPaths(pair, {
        headers: { origin: 'https://app.example' },
        body: mutation,
      });
      expect(known).toEqual(yogaOnly);
      expect(taken).toBe(false);
      expect((await bothPaths(pair, { body: mutation })).taken).toBe(true);
    });
  });
});

describe('a plugin added to the list', () => {
  /** An envelop plugin that marks every execution result. */
  const marking: PluginEntry = {
    name: 'marks results',
    plugin: {
      onExecute: () => ({
        onExecuteDone: ({ result, setResult }) => {
          if (Symbol.asyncIterator in result) return;
          setResult({ ...result, extensions: { ...result.extensions, addedByTest: true } });
        },
      }),
    },
  };

  it('changes the answers of both paths alike', async () => {
    await withPair(emulator.url, { plugins: [marking] }, async (pair) => {
      const { known, yogaOnly, taken } = await bothPaths(pair, { body: mutation });
      expect(known).toEqual(yogaOnly);
      expect(taken).toBe(true);
      expect(JSON.parse(known.body)).toMatchObject({
        data: { createConversationSession: { __typename: 'ConversationSession' } },
        extensions: { addedByTest: true },
      });
    });
    // Without it, nothing adds the mark.
    await withPair(emulator.url, {}, async (pair) => {
      const { known } = await bothPaths(pair, { body: mutation });
      expect(JSON.parse(known.body)).not.toHaveProperty('extensions');
    });
  });

  it('whose result processing throws: both paths answer the masked error through it, as Yoga does', async () => {
    const failing: PluginEntry = {
      name: 'fails to encode',
      plugin: {
        onResultProcess: ({ result }) => {
          if (!Array.isArray(result) && 'data' in result && result.data)
            throw new TypeError('encoder bug at /srv/gateway/src/encoder.ts:7');
        },
      },
    };
    await withPair(emulator.url, { plugins: [failing] }, async (pair) => {
      const { known, yogaOnly, taken } = await bothPaths(pair, { body: mutation });
      expect(taken).toBe(true);
      expect(known).toEqual(yogaOnly);
      expect(known.body).toContain('"Unexpected error."');
      expect(known.body).not.toContain('encoder.ts');
    });
  });

  const seen: string[] = [];
  const requestHook: Plugin = {
    onRequest: ({ request }) => {
      seen.push(request.headers.get('x-test-hook') ?? 'no header');
    },
  };

  it('with an onRequest hook and no word on it in adapterHooks, stops the gateway from starting', async () => {
    const entry: PluginEntry = { name: 'request hook of the test', plugin: requestHook };
    await expect(startGateway(emulator.url, { plugins: [entry] })).rejects.toThrow(
      /plugin "request hook of the test" has onRequest, which the known-operation path does not run/,
    );
  });

  it('with adapterHooks saying why, starts, and sends the requests its hook must see to Yoga', async () => {
    const entry: PluginEntry = {
      name: 'request hook of the test',
      plugin: requestHook,
      adapterHooks: {
        why: 'it looks only at requests with x-test-hook',
        sendsToYoga: (request) => request.headers['x-test-hook'] !== undefined,
      },
    };
    await withPair(emulator.url, { plugins: [entry] }, async (pair) => {
      seen.length = 0;
      const marked = await bothPaths(pair, { headers: { 'x-test-hook': 'marked' }, body: mutation });
      expect(marked.known).toEqual(marked.yogaOnly);
      expect(marked.taken).toBe(false);
      expect(seen).toEqual(['marked', 'marked']);
      const plain = await bothPaths(pair, { body: mutation });
      expect(plain.known).toEqual(plain.yogaOnly);
      expect(plain.taken).toBe(true);
      // The known-operation path skips onRequest, as the plugin list says it does; Yoga runs it.
      expect(seen).toEqual(['marked', 'marked', 'no header']);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// A property: any request, in any configuration, gets the same answer from both paths.
// ---------------------------------------------------------------------------------------------

const RUNS = 80;

/** Sessions for any conversation, but: `unknown…` does not exist, `fail…` fails, a revoked caller token is refused. */
function upstreamReply(request: RecordedRequest): UpstreamReply {
  if (request.headers.authorization === 'Bearer revoked') {
    return { status: 401, body: { message: 'Token revoked', code: 'NOT_AUTHENTICATED' } };
  }
  if (request.url.includes('/conversation/unknown')) {
    return { status: 404, body: { message: 'Conversation not found', code: 'NOT_FOUND' } };
  }
  if (request.url.includes('/conversation/fail')) return { status: 500, body: { message: 'boom', code: 'GENERIC' } };
  return sessionForRoute('tok_property')(request);
}

const FRAGMENTS = /* GraphQL */ `
  mutation Fragments($input: CreateConversationSessionInput!) {
    createConversationSession(input: $input) { ...Result }
  }
  fragment Result on CreateConversationSessionResult {
    __typename
    ... on ConversationSession { ...Session }
    ... on Error { code message }
  }
  fragment Session on ConversationSession { conversationId token expiresAt }
`;
const ALIASES = /* GraphQL */ `
  mutation Aliases($input: CreateConversationSessionInput!) {
    session: createConversationSession(input: $input) {
      kind: __typename
      ... on ConversationSession { id: conversationId secret: token }
      ... on InvalidInputError { where: field }
    }
  }
`;
const DIRECTIVES = /* GraphQL */ `
  mutation Directives($input: CreateConversationSessionInput!, $withToken: Boolean = true) {
    createConversationSession(input: $input) {
      __typename
      ... on ConversationSession @include(if: $withToken) { token }
      ... on Error @skip(if: false) { code }
    }
  }
`;
const INLINE =
  'mutation { createConversationSession(input: { conversationId: "conv_inline", durationInSeconds: 60 }) ' +
  '{ __typename ... on ConversationSession { token } } }';
const DOCUMENTS = [
  CREATE_SESSION,
  EXAMPLE_MUTATION,
  FRAGMENTS,
  ALIASES,
  DIRECTIVES,
  INLINE,
  '{ sessionGateway { version upstream } }',
  'query Q { __typename }',
  '{ __schema { queryType { name } } }',
  '{ sessionGateway { versio } }',
  `${CREATE_SESSION}\nquery Q { __typename }`,
  'mutation { a: createConversationSession(input: { conversationId: "a" }) { __typename } ' +
    'b: createConversationSession(input: { conversationId: "b" }) { __typename } }',
  'subscription { sessionGateway { version } }',
  'mutation {',
  '{ a { b { c { d { e { f { g { h { i { j } } } } } } } } } }',
  '',
];
/** The allow-list of the configurations with persisted operations on. */
const PERSISTED = Object.fromEntries(
  [CREATE_SESSION, EXAMPLE_MUTATION].map((document) => [sha256(document), document]),
);

const conversationId = fc.oneof(
  fc.constantFrom('conv_1', 'conv-2', 'unknown_conv', 'fail_conv', 'a'.repeat(64)),
  fc.constantFrom('', '../bot/abc', 'a b', 'a'.repeat(65), 'conv%2F1', 'é'),
  fc.constantFrom<unknown>(7, 1.5, null, true, ['conv_1'], { id: 'conv_1' }),
);
const durationInSeconds = fc.constantFrom<unknown>(undefined, 60, 1, 86_400, 0, -1, 86_401, 1.5, 2 ** 31, '60', null);
const variables = fc.oneof(
  { weight: 6, arbitrary: fc.record({ input: fc.record({ conversationId, durationInSeconds }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      input: fc.record({ conversationId }),
      withToken: fc.constantFrom<unknown>(true, false, null, 'yes'),
    }),
  },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(undefined, null, {}, [], 'input', [{ input: {} }]) },
);
const extensions = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...Object.keys(PERSISTED), sha256('unknown'), 'not-a-hash'), fc.constantFrom(1, 2))
      .map(([sha256Hash, version]) => ({ persistedQuery: { version, sha256Hash } })),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>({}, null, 'extensions', [1], { other: 1 }) },
);
const payload = fc.record(
  {
    query: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...DOCUMENTS) }, fc.constantFrom<unknown>(null, 1, {}, [])),
    variables,
    operationName: fc.constantFrom<unknown>(undefined, undefined, null, 'CreateSession', 'Q', 'Nope', '', 1),
    extensions,
    extra: fc.constantFrom<unknown>(undefined, undefined, undefined, 1),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { weight: 12, arbitrary: payload.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.array(payload, { maxLength: 2 }).map((batch) => JSON.stringify(batch)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(payload, fc.nat())
      .map(([value, cut]) => JSON.stringify(value).slice(0, cut % JSON.stringify(value).length)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{}',
      'null',
      '"query"',
      '1',
      '',
      '{"query": "{ __typename }",}',
      `\ufeff${JSON.stringify({ query: '{ __typename }' })}`,
    ),
  },
);
// Mostly the JSON types the known-operation path takes, so that it answers about half the runs.
const contentType = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json;charset=UTF-8',
      'application/graphql+json',
      'application/json, text/plain',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      undefined,
      'application/json ; charset=utf-8',
      'Application/JSON',
      'APPLICATION/JSON; charset=utf-8',
      'text/plain, application/json',
      'text/plain',
      'application/graphql-response+json',
      'application/x-www-form-urlencoded',
    ),
  },
);
const accept = fc.constantFrom(
  undefined,
  '*/*',
  'application/json',
  'APPLICATION/JSON',
  'application/graphql-response+json',
  'application/graphql-response+json; charset=utf-8',
  'application/*',
  'application/json;q=0.5, application/graphql-response+json',
  'text/event-stream',
  'multipart/mixed',
  'text/html',
);
const credentials = fc.constantFrom<Record<string, string>>(
  {},
  { 'x-api-key': KEY },
  { 'x-api-key': 'not-the-key' },
  { authorization: 'Bearer tok_caller' },
  { authorization: 'Bearer revoked' },
  { authorization: 'Basic dXNlcjpwYXNz' },
);
const configuration = fc.record({
  auth: fc.constantFrom('none', 'api-key', 'passthrough'),
  introspection: fc.boolean(),
  persisted: fc.boolean(),
});
type Configuration = { auth: 'none' | 'api-key' | 'passthrough'; introspection: boolean; persisted: boolean };

/** Whether the known-operation path takes a request: a POST to /graphql of a non-empty JSON object, typed JSON. */
function takesKnownPath(type: string | undefined, text: string): boolean {
  // fetch sends a string body as text/plain when no type is given.
  const first = (type ?? 'text/plain;charset=UTF-8').split(',')[0] ?? '';
  if (!/^application\/(graphql\+)?json(;|$)/.test(first)) return false;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.keys(parsed).length > 0;
  } catch {
    return false;
  }
}

/** What the upstream saw of a call, minus what differs between any two calls (the request id). */
const upstreamCall = ({ method, url, body, headers }: RecordedRequest) => ({
  method,
  url,
  body,
  authorization: headers.authorization,
});

describe('any request, in any configuration', () => {
  let upstream: ScriptedUpstream;
  const pairs = new Map<string, GatewayPair>();
  beforeAll(async () => {
    upstream = await startScriptedUpstream();
    upstream.reply(upstreamReply);
  });
  afterAll(async () => {
    for (const pair of pairs.values()) await pair.close();
    await upstream.close();
  });

  /** The pair of gateways for a configuration, started the first time it is drawn. */
  async function pairFor({ auth, introspection, persisted }: Configuration): Promise<GatewayPair> {
    const key = `${auth}/${introspection}/${persisted}`;
    let pair = pairs.get(key);
    if (!pair) {
      const authConfig: AuthConfig = auth === 'api-key' ? API_KEY_AUTH : { mode: auth };
      pair = await startGatewayPair(upstream.url, {
        secret: SECRET,
        retries: 0,
        circuitThreshold: 1_000_000,
        config: {
          auth: authConfig,
          limits: { introspection, persistedOperations: persisted ? PERSISTED : undefined },
        },
      });
      pairs.set(key, pair);
    }
    return pair;
  }

  it('gets the same status, content type, www-authenticate, body and upstream calls from both paths', {
    timeout: 60_000,
  }, async () => {
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(
        configuration,
        body,
        contentType,
        accept,
        credentials,
        async (config, text, type, acceptHeader, credential) => {
          const pair = await pairFor(config as Configuration);
          const headers = {
            ...credential,
            ...(type !== undefined && { 'content-type': type }),
            ...(acceptHeader !== undefined && { accept: acceptHeader }),
          };
          const calls = upstream.requests.length;
          const before = await knownOperationCount(pair.known);
          const known = await sendRaw(pair.known, text, headers);
          const knownCalls = upstream.requests.slice(calls).map(upstreamCall);
          const took = (await knownOperationCount(pair.known)) - before;
          const yogaOnly = await sendRaw(pair.yogaOnly, text, headers);
          const yogaCalls = upstream.requests.slice(calls + knownCalls.length).map(upstreamCall);

          expect(known).toEqual(yogaOnly);
          expect(knownCalls).toEqual(yogaCalls);
          expect(took).toBe(takesKnownPath(type, text) ? 1 : 0);
          taken += took;
        },
      ),
      { numRuns: RUNS },
    );
    // The runs exercised both paths, and the gateways without the path took nothing.
    expect(taken).toBeGreaterThan(RUNS / 5);
    expect(taken).toBeLessThan(RUNS - RUNS / 5);
    for (const pair of pairs.values()) expect(await knownOperationCount(pair.yogaOnly)).toBe(0);
  });
});

/** POSTs `text` with exactly these headers (fetch adds `accept: *\/*` and a text type when they are missing). */
async function sendRaw(gateway: TestGateway, text: string, headers: Record<string, string>): Promise<Answer> {
  const requestId = randomUUID();
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { ...headers, 'x-request-id': requestId },
    body: text,
  });
  const answer = await answerOf(response);
  await accessLine(gateway, requestId);
  return answer;
}
