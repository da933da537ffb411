import fc from 'fast-check';
import { Kind, parse, visit } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_SESSION, postGraphQL, startGateway, type TestGateway } from '../helpers/gateway.ts';
import {
  type RecordedRequest,
  type ScriptedUpstream,
  sessionForRoute,
  startScriptedUpstream,
} from '../helpers/upstream.ts';

/*
 * Property-based tests (issue 4, section 4): whatever a caller sends, through the real HTTP
 * server, the gateway answers well-formed GraphQL over HTTP, keeps serving, and calls the
 * upstream only on the session route of the exact conversation asked for, at most once.
 */

const SECRET = 'sk-live-property-7c1e';
const VALID_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SESSION_ROUTE = /^\/api\/v1\/conversation\/([A-Za-z0-9_-]{1,64})\/session\/create$/;
const MAX_DURATION = 86_400;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
// Runs per property; the whole file stays well under 15 s on a laptop.
const RUNS = { variables: 300, documents: 500, bodies: 300 } as const;

// ---------------------------------------------------------------------------------------------
// The gateway and upstream under test, and how a response is judged well-formed.
// ---------------------------------------------------------------------------------------------

interface Pair {
  upstream: ScriptedUpstream;
  gateway: TestGateway;
  /** `host` the gateway must send to: the configured upstream. */
  upstreamHost: string;
}

/** A scripted upstream that mints a session for whatever conversation the route names, and a gateway over it. */
async function startPair(): Promise<Pair> {
  const upstream = await startScriptedUpstream();
  upstream.reply(sessionForRoute('tok_property'));
  const gateway = await startGateway(upstream.url, { secret: SECRET });
  return { upstream, gateway, upstreamHost: new URL(upstream.url).host };
}

/** One gateway and upstream for a describe block, started before and closed after it. */
function usePair(): () => Pair {
  let pair: Pair | undefined;
  beforeAll(async () => {
    pair = await startPair();
  });
  afterAll(async () => {
    await pair?.gateway.close();
    await pair?.upstream.close();
  });
  return () => {
    if (!pair) throw new Error('the pair is not started yet');
    return pair;
  };
}

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

async function post(url: string, body: Uint8Array<ArrayBuffer>, headers: Record<string, string>): Promise<RawResponse> {
  const response = await fetch(url, { method: 'POST', headers, body });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

/** POSTs `{ query, variables, operationName }` as a GraphQL-over-HTTP client that asks for the new media type. */
function postOperation(url: string, payload: Record<string, unknown>): Promise<RawResponse> {
  return post(url, new TextEncoder().encode(JSON.stringify(payload)), {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
  });
}

type GraphQLBody = {
  data?: unknown;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  extensions?: unknown;
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A GraphQL response as the spec defines it: a JSON object with only `data`, `errors` and
 * `extensions`, at least one of `data` and a non-empty `errors`, each error with a string
 * `message` and well-typed `locations`, `path` and `extensions`; and no stack or source path.
 */
function expectGraphQLJson(response: RawResponse): GraphQLBody {
  expect(response.contentType).toMatch(/^application\/(graphql-response\+)?json(;|$)/);
  expect(response.text).not.toMatch(/node_modules|\.[jt]s:\d+|\n\s+at /);
  const body: unknown = JSON.parse(response.text);
  if (!isObject(body)) throw new Error(`answer is not a JSON object: ${response.text.slice(0, 200)}`);
  expect(Object.keys(body).filter((key) => !['data', 'errors', 'extensions'].includes(key))).toEqual([]);
  expect('data' in body || 'errors' in body).toBe(true);
  if ('data' in body) expect(body['data'] === null || isObject(body['data'])).toBe(true);
  if ('errors' in body) {
    const errors = body['errors'];
    if (!Array.isArray(errors) || errors.length === 0)
      throw new Error(`"errors" is not a non-empty array: ${response.text.slice(0, 200)}`);
    for (const error of errors as unknown[]) {
      if (!isObject(error) || typeof error['message'] !== 'string')
        throw new Error(`malformed error: ${JSON.stringify(error)}`);
      const { locations, path, extensions } = error;
      if (locations !== undefined) {
        expect(Array.isArray(locations)).toBe(true);
        for (const location of locations as unknown[]) {
          expect(location).toEqual({ line: expect.any(Number), column: expect.any(Number) });
        }
      }
      if (path !== undefined) {
        expect(
          Array.isArray(path) && path.every((segment) => typeof segment === 'string' || Number.isInteger(segment)),
        ).toBe(true);
      }
      if (extensions !== undefined) expect(isObject(extensions)).toBe(true);
    }
  }
  return body as GraphQLBody;
}

/**
 * With `accept: application/graphql-response+json` the status says what happened: 200 when
 * execution began (so `data` is present), 400 when the request was refused before it (no `data`).
 */
function expectGraphQLResponse(response: RawResponse): GraphQLBody {
  expect([200, 400]).toContain(response.status);
  expect(response.contentType).toMatch(/^application\/graphql-response\+json(;|$)/);
  const body = expectGraphQLJson(response);
  if (response.status === 200) expect(body).toHaveProperty('data');
  else {
    expect(body).not.toHaveProperty('data');
    expect(body.errors?.length).toBeGreaterThan(0);
  }
  return body;
}

/** Runs `check`; on failure, says what the gateway answered, so a counterexample explains itself. */
function explain(response: RawResponse, calls: readonly RecordedRequest[], check: () => void): void {
  try {
    check();
  } catch (error) {
    const answered = `${response.status} ${response.contentType} ${compact(response.text).slice(0, 300)}`;
    const upstreamSaw = JSON.stringify(calls.map((call) => `${call.method} ${call.url}`));
    const seen = `gateway answered ${answered}; upstream saw ${upstreamSaw}`;
    throw new Error(`${(error as Error).message}\n${seen}`, { cause: error });
  }
}

/**
 * Every upstream call is `POST <configured origin>/api/v1/conversation/<valid id>/session/create`
 * with a valid body.
 */
function expectOnlySessionRouteCalls(calls: readonly RecordedRequest[], upstreamHost: string): string[] {
  expect(calls.length).toBeLessThanOrEqual(1);
  return calls.map((call) => {
    expect(call.method).toBe('POST');
    expect(call.headers.host).toBe(upstreamHost);
    expect(call.url).toMatch(SESSION_ROUTE);
    const body: unknown = JSON.parse(call.body);
    if (!isObject(body)) throw new Error(`upstream body is not an object: ${call.body}`);
    const { durationInSeconds, ...rest } = body;
    expect(rest).toEqual({});
    if (durationInSeconds !== undefined) {
      expect(
        Number.isInteger(durationInSeconds) &&
          (durationInSeconds as number) >= 1 &&
          (durationInSeconds as number) <= MAX_DURATION,
      ).toBe(true);
    }
    return SESSION_ROUTE.exec(call.url)?.[1] ?? '';
  });
}

/** The gateway still mints a session after whatever came before. */
async function expectStillServing(pair: Pair): Promise<void> {
  const before = pair.upstream.requests.length;
  const { status, body } = await postGraphQL(pair.gateway.url, CREATE_SESSION, {
    input: { conversationId: 'conv_after', durationInSeconds: 60 },
  });
  expect(status).toBe(200);
  expect(body.data?.['createConversationSession']).toMatchObject({
    __typename: 'ConversationSession',
    conversationId: 'conv_after',
    token: 'tok_property',
  });
  expect(pair.upstream.requests.slice(before).map((call) => call.url)).toEqual([
    '/api/v1/conversation/conv_after/session/create',
  ]);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

const ID_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'];
const idChar = fc.constantFrom(...ID_CHARS);
const validId = fc.string({ unit: idChar, minLength: 1, maxLength: 64 });

// Characters and sequences that could add a path segment, a query, a fragment or an encoding
// to the route, or that look like id characters without being ASCII (Kelvin sign, long s,
// fullwidth letters, dotless/dotted i: the traps of case-insensitive or Unicode-aware checks).
const NASTY = [
  '/',
  '\\',
  '.',
  '..',
  '../',
  '..\\',
  '%2e%2e',
  '%2E%2E%2F',
  '%2f',
  '%5c',
  '%00',
  '%',
  '%zz',
  '?',
  '?x=1',
  '#',
  '#frag',
  '&',
  '=',
  ';',
  ':',
  '@',
  '+',
  '~',
  '*',
  '$',
  "'",
  '"',
  '<',
  '>',
  '{',
  '}',
  '|',
  '^',
  '`',
  '[',
  ']',
  ' ',
  '\t',
  '\n',
  '\r\n',
  '\u0000',
  '\u0008',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u200b',
  '\u202e',
  '\u2028',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\u212a',
  '\u017f',
  '\u0130',
  '\u0131',
  'ｃ',
  'é',
  '🙂',
  'e\u0301',
  'http://evil.example/',
  '//evil.example',
  '/api/v1/conversation/other',
  '/session/create',
];
const nasty = fc.constantFrom(...NASTY);

/** Arbitrary conversation ids: valid ones, near misses, path tricks, any Unicode, very long. */
const conversationIdString = fc.oneof(
  { weight: 4, arbitrary: validId },
  {
    weight: 4,
    arbitrary: fc
      .array(fc.oneof(fc.string({ unit: idChar, minLength: 1, maxLength: 8 }), nasty), { minLength: 1, maxLength: 8 })
      .map((parts) => parts.join('')),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(validId, nasty, fc.nat())
      .map(([id, bad, at]) => id.slice(0, at % (id.length + 1)) + bad + id.slice(at % (id.length + 1))),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: idChar, minLength: 65, maxLength: 5_000 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' conv1',
      'conv1 ',
      'conv1\n',
      'unknown_1',
      'a'.repeat(64),
      'a'.repeat(65),
      '0',
      '-',
      '_',
    ),
  },
);

/** Values of `input.conversationId` a JSON client can send; `ID` coerces integers to strings. */
const conversationIdValue = fc.oneof(
  { weight: 20, arbitrary: conversationIdString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 1.5, true, [], {}, ['conv1'], { id: 'conv1' }) },
);

/** Values of `input.durationInSeconds`: any 32-bit integer, the edges, null, and values `Int` must refuse. */
const durationValue = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: INT32_MIN, max: INT32_MAX }) },
  { weight: 3, arbitrary: fc.integer({ min: -3, max: MAX_DURATION + 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, -1, MAX_DURATION, MAX_DURATION + 1, INT32_MAX, INT32_MIN) },
  { weight: 1, arbitrary: fc.constant(null) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(1.5, 2 ** 31, INT32_MIN - 1, 1e300, -0.5, '600', '', true, [600], {
      value: 600,
    }),
  },
);

/** What a correct gateway does with `{ input }`, decided from the documented rules alone. */
function expectedOutcome(input: {
  conversationId: unknown;
  durationInSeconds?: unknown;
}):
  | { kind: 'request-error' }
  | { kind: 'invalid'; field: string }
  | { kind: 'session'; id: string; durationInSeconds: number | undefined } {
  const { conversationId, durationInSeconds } = input;
  const idCoerces = typeof conversationId === 'string' || Number.isInteger(conversationId);
  const durationCoerces =
    durationInSeconds === undefined ||
    durationInSeconds === null ||
    (Number.isInteger(durationInSeconds) &&
      (durationInSeconds as number) >= INT32_MIN &&
      (durationInSeconds as number) <= INT32_MAX);
  if (!idCoerces || !durationCoerces) return { kind: 'request-error' };
  const id = String(conversationId);
  if (!VALID_ID.test(id)) return { kind: 'invalid', field: 'input.conversationId' };
  const duration = durationInSeconds === null ? undefined : (durationInSeconds as number | undefined);
  if (duration !== undefined && (duration < 1 || duration > MAX_DURATION))
    return { kind: 'invalid', field: 'input.durationInSeconds' };
  return { kind: 'session', id, durationInSeconds: duration };
}

// Whole documents. A document is built from pieces; a `Nest` piece expands to deep nesting when
// sent, so a counterexample prints as `{"nest":5000,...}` rather than as 20 000 characters.
interface Nest {
  nest: number;
  open: string;
  close: string;
}
type Piece = string | Nest;
/** Collapses long repeats when fast-check prints a counterexample: `«{a »×5000` rather than 20 000 characters. */
function compact(text: string): string {
  const collapsed = text.replace(/(.{1,20}?)\1{7,}/gs, (run, unit: string) => `«${unit}»×${run.length / unit.length}`);
  return collapsed.length > 2_000 ? `${collapsed.slice(0, 2_000)}… (${text.length} characters)` : collapsed;
}

/** A string that fast-check prints compactly; `text` is what is sent. */
interface Printed {
  text: string;
  [fc.toStringMethod]: () => string;
}
const printedCompactly = (text: string): Printed => ({
  text,
  [fc.toStringMethod]: () => JSON.stringify(compact(text)),
});

const render = (pieces: readonly Piece[], separator = ' '): string =>
  pieces
    .map((piece) =>
      typeof piece === 'string' ? piece : piece.open.repeat(piece.nest) + piece.close.repeat(piece.nest),
    )
    .join(separator);

// Deep enough to exhaust the parser's stack when nothing bounds it (about 2 000 levels did on
// Node 24), yet small enough that every document fits the default 64 KiB body limit.
const SELECTION_NESTS = [
  ['{a ', '}'],
  ['{__typename a ', '}'],
  ['{...on Conversation{id ', '}}'],
] as const;
const VALUE_NESTS = [
  ['[', ']'],
  ['{a:', '}'],
  ['{conversationId:', '}'],
] as const;
const nestOf = (maxDepth: number, shapes: readonly (readonly [string, string])[]) =>
  fc
    .tuple(
      fc.oneof(
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 8 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: maxDepth }) },
      ),
      fc.constantFrom(...shapes),
    )
    .map(
      ([nest, [open, close]]): Nest => ({
        nest: Math.min(nest, Math.floor(48_000 / (open.length + close.length))),
        open,
        close,
      }),
    );
const nestedSelection = nestOf(12_000, SELECTION_NESTS);
const nestedValue = nestOf(12_000, VALUE_NESTS);
// Inside documents with several nests, each stays shallow so that the whole stays under the limit.
const shallowSelection = nestOf(800, SELECTION_NESTS);
const shallowValue = nestOf(800, VALUE_NESTS);

const stringLiteral = fc.oneof(
  { weight: 4, arbitrary: conversationIdString.map((id) => JSON.stringify(id)) },
  fc.constantFrom(
    '"\\u0063onv1"',
    '"""conv1"""',
    '"""\n  conv_block\n"""',
    '"\\uD800"',
    '"\\u{1F642}"',
    '"conv1',
    '"\\x"',
    '""',
  ),
);
const hugeNumber = fc.constantFrom(
  '99999999999999999999999999',
  '-99999999999999999999',
  '1e400',
  '-0',
  '0x10',
  '1.5',
  '01',
  '2147483648',
  '-2147483649',
  '1'.padEnd(400, '0'),
);
const idLiteral = fc.oneof(
  { weight: 4, arbitrary: validId.map((id) => JSON.stringify(id)) },
  { weight: 3, arbitrary: stringLiteral },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: hugeNumber },
  { weight: 1, arbitrary: fc.constantFrom('null', '$id', '$input', 'CONV', 'true', '["conv1"]', '{ id: "conv1" }') },
);
const durationLiteral = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -2, max: MAX_DURATION + 2 }).map(String) },
  { weight: 1, arbitrary: fc.integer({ min: INT32_MIN, max: INT32_MAX }).map(String) },
  { weight: 1, arbitrary: hugeNumber },
  { weight: 1, arbitrary: fc.constantFrom('null', '$d', '"600"', 'true', '[600]') },
);
const inputLiteral = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(idLiteral, fc.option(durationLiteral, { nil: undefined }))
      .map(([id, d]) => `{ conversationId: ${id}${d === undefined ? '' : `, durationInSeconds: ${d}`} }`),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '$input',
      '{ conversationId: $id, durationInSeconds: $d }',
      '{}',
      'null',
      '{ conversationId: "conv1", extra: 1 }',
      '{ conversationId: "c1", conversationId: "c2" }',
    ),
  },
  {
    weight: 1,
    arbitrary: shallowValue.map((nest) => render(['{ conversationId: "conv1", durationInSeconds: ', nest, '}'], '')),
  },
  { weight: 1, arbitrary: shallowValue.map((nest) => render([nest], '')) },
);
const selection = fc.oneof(
  { weight: 3, arbitrary: fc.constant('{ __typename }') },
  {
    weight: 3,
    arbitrary: fc.constant(
      '{ __typename ... on ConversationSession { conversationId token expiresAt conversation { id } } ' +
        '... on Error { code message } }',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{ ...S }',
      '{ ... on InvalidInputError { field } }',
      '{ token }',
      '{ __typename @skip(if: $flag) }',
      '{ ...Loop }',
    ),
  },
  {
    weight: 1,
    arbitrary: shallowSelection.map((nest) => render(['{ ... on ConversationSession { conversation ', nest, '} }'])),
  },
);
const directive = fc.constantFrom(
  '@include(if: true)',
  '@include(if: false)',
  '@skip(if: true)',
  '@skip(if: $flag)',
  '@deprecated',
  '@nope',
  '@include',
  '@skip(if: "yes")',
);
const field = fc
  .record({
    alias: fc.option(fc.constantFrom('a:', 'b:', 'createConversationSession:', '__typename:', '_1:'), { nil: '' }),
    name: fc.constantFrom(
      'createConversationSession',
      'createConversationSession',
      'createConversationSession',
      '__typename',
      'sessionGateway',
      'nope',
      '...F',
      '... on Mutation',
    ),
    args: fc.oneof(
      { weight: 6, arbitrary: inputLiteral.map((input) => `(input: ${input})`) },
      { weight: 1, arbitrary: fc.constantFrom('', '(input: $input, input: $input)', '(nope: 1)', '()') },
    ),
    directives: fc.array(directive, { maxLength: 2 }),
    selection,
  })
  .map(({ alias, name, args, directives, selection: set }) => {
    if (name === '...F') return `...F ${directives.join(' ')}`;
    if (name === '... on Mutation') {
      const call = 'createConversationSession(input: { conversationId: "conv_inline" }) { __typename }';
      return `... on Mutation ${directives.join(' ')} { ${call} }`;
    }
    return `${alias} ${name}${args} ${directives.join(' ')} ${set}`;
  });
const operationHead = fc.constantFrom(
  'mutation',
  'mutation CreateSession',
  'mutation M($input: CreateConversationSessionInput!)',
  'mutation M($id: ID!, $d: Int, $flag: Boolean = false)',
  'mutation ($input: CreateConversationSessionInput = { conversationId: "conv_default" })',
  'query',
  'query Q($flag: Boolean!)',
  'subscription',
  '',
  'mutation @include(if: true)',
);
const FRAGMENTS = [
  'fragment S on ConversationSession { token expiresAt }',
  'fragment F on Mutation { createConversationSession(input: { conversationId: "conv_fragment" }) { __typename } }',
  'fragment Loop on ConversationSession { ...Loop }',
  'fragment S on Nope { x }',
];
const operation = fc
  .tuple(operationHead, fc.array(field, { minLength: 1, maxLength: 3 }))
  .map(([head, fields]) => `${head} { ${fields.join(' ')} }`);
// The fragments a document spreads are usually defined (a wrong or unused one now and then),
// so that most documents get past validation to where sessions are minted.
const structuredDocument = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.array(operation, { minLength: 1, maxLength: 1 }) },
      { weight: 1, arbitrary: fc.array(operation, { minLength: 2, maxLength: 2 }) },
    ),
    fc.boolean(),
    fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...FRAGMENTS) }),
  )
  .map(([operations, wrongS, extra]) => {
    const text = operations.join('\n');
    const used = [
      /\.\.\.S\b/.test(text) ? FRAGMENTS[wrongS ? 3 : 0] : undefined,
      /\.\.\.F\b/.test(text) ? FRAGMENTS[1] : undefined,
      /\.\.\.Loop\b/.test(text) ? FRAGMENTS[2] : undefined,
    ];
    return [text, ...new Set([...used, extra].filter((fragment) => fragment !== undefined))].join('\n');
  });

// Operations that are valid but for how many sessions they mint: aliases, inline fragments,
// the Mutation fragment and directives, each able to slip a second call past a naive check.
const validDurationLiteral = fc.integer({ min: 1, max: MAX_DURATION }).map(String);
const plausibleMutation = fc
  .tuple(
    fc.array(
      fc.record({
        id: fc.oneof(
          { weight: 3, arbitrary: validId.map((id) => JSON.stringify(id)) },
          { weight: 1, arbitrary: idLiteral },
        ),
        duration: fc.option(fc.oneof(validDurationLiteral, durationLiteral), { nil: undefined }),
        directive: fc.constantFrom('', '', '@include(if: true)', '@skip(if: false)', '@skip(if: true)'),
        wrap: fc.constantFrom('', '', '... on Mutation', '... @include(if: true)'),
      }),
      { minLength: 1, maxLength: 3, size: 'xsmall' },
    ),
    fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    fc.oneof(
      { weight: 6, arbitrary: fc.constant('mutation') },
      { weight: 1, arbitrary: fc.constantFrom('query', 'subscription', 'mutation M') },
    ),
  )
  .map(([fields, spreadFragment, keyword]) => {
    const selections = fields.map(({ id, duration, directive, wrap }, index) => {
      const input = `{ conversationId: ${id}${duration === undefined ? '' : `, durationInSeconds: ${duration}`} }`;
      const set = '{ __typename ... on ConversationSession { conversationId } ... on Error { code } }';
      const call = `s${index}: createConversationSession(input: ${input}) ${directive} ${set}`;
      return wrap ? `${wrap} { ${call} }` : call;
    });
    const operation = `${keyword} { ${selections.join(' ')} ${spreadFragment ? '...F' : ''} }`;
    return spreadFragment ? `${operation}\n${FRAGMENTS[1]}` : operation;
  });

const TOKENS = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ':',
  '...',
  '@',
  '$',
  '!',
  '=',
  ',',
  '|',
  '&',
  'mutation',
  'query',
  'subscription',
  'fragment',
  'on',
  'Mutation',
  'Query',
  'createConversationSession',
  'input',
  'conversationId',
  'durationInSeconds',
  '__typename',
  '__schema { types { name } }',
  'a:',
  'b:',
  '$input',
  '$id',
  'CreateConversationSessionInput!',
  'ID!',
  'Int',
  '"conv1"',
  '"../x"',
  '"%2e%2e"',
  '"unknown_1"',
  '"""block"""',
  'null',
  'true',
  '#comment\n',
  '\ufeff',
  '\u0000',
  '\u00a0',
  '🙂',
  'é',
  '"',
  '"""',
  '\\',
  '...F',
  'fragment F on Mutation',
  'extend type Query { x: Int }',
  'schema { query: Query }',
  'directive @d on FIELD',
  'scalar S',
  'type T { a: Int }',
  'enum E { A }',
  'input I { a: Int }',
  'union U = A | B',
];
const soupDocument = fc
  .array(
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom<Piece>(...TOKENS) },
      { weight: 1, arbitrary: hugeNumber },
      { weight: 1, arbitrary: stringLiteral },
      { weight: 1, arbitrary: shallowSelection },
      { weight: 1, arbitrary: shallowValue },
    ),
    { maxLength: 40 },
  )
  .map((pieces) => render(pieces));

/**
 * Whole documents: random text, token soup, and near-valid operations with aliases, fragments,
 * directives and deep nesting.
 */
const graphQLDocument = fc
  .oneof(
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 100 }) },
    { weight: 2, arbitrary: soupDocument },
    { weight: 4, arbitrary: structuredDocument },
    { weight: 6, arbitrary: plausibleMutation },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            'query { sessionGateway ',
            'mutation { createConversationSession(input: { conversationId: "conv1" }) ',
          ),
          nestedSelection,
        )
        .map(([head, nest]) => render([head, nest, '}'])),
    },
    {
      weight: 1,
      arbitrary: nestedValue.map((nest) =>
        render(['mutation { createConversationSession(input: ', nest, ') { __typename } }']),
      ),
    },
  )
  .map(printedCompactly);
const documentVariables = fc.option(
  fc.record(
    {
      input: fc.record(
        { conversationId: conversationIdValue, durationInSeconds: durationValue },
        { requiredKeys: ['conversationId'] },
      ),
      id: conversationIdValue,
      d: durationValue,
      flag: fc.constantFrom<unknown>(true, false, null, 'yes'),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

/** Usually none, so that a single operation runs; sometimes one that may or may not name it. */
const operationName = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('M', 'Q', 'CreateSession', 'Nope', '') },
);

/** Every string or integer a request carries: the only ids a session call may be for. */
function idsNamedBy(query: string, variables: unknown): Set<string> {
  const named = new Set<string>();
  const collect = (value: unknown): void => {
    if (typeof value === 'string' || typeof value === 'number') named.add(String(value));
    else if (Array.isArray(value)) value.forEach(collect);
    else if (isObject(value)) Object.values(value).forEach(collect);
  };
  collect(variables);
  try {
    visit(parse(query), {
      StringValue: (node) => void named.add(node.value),
      IntValue: (node) => void named.add(node.value),
      VariableDefinition: (node) => {
        if (node.defaultValue?.kind === Kind.OBJECT)
          for (const { value } of node.defaultValue.fields) if (value.kind === Kind.STRING) named.add(value.value);
      },
    });
  } catch {
    // A document this parser refuses names nothing, so it may mint nothing.
  }
  return named;
}

// Bodies and content types of raw POSTs.
const validPayload = fc.record(
  {
    query: fc.constantFrom(CREATE_SESSION, '{ __typename }', 'mutation { __typename }'),
    variables: fc.constant({ input: { conversationId: 'conv_body' } }),
  },
  { requiredKeys: ['query'] },
);
const rawBody = fc
  .oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.json({ maxDepth: 4 }),
    fc
      .record(
        {
          query: fc.jsonValue({ maxDepth: 2 }),
          variables: fc.jsonValue({ maxDepth: 2 }),
          operationName: fc.jsonValue({ maxDepth: 1 }),
          extensions: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: [] },
      )
      .map((value) => JSON.stringify(value)),
    fc.array(validPayload, { maxLength: 5 }).map((batch) => JSON.stringify(batch)),
    fc.tuple(validPayload, fc.nat()).map(([payload, cut]) => JSON.stringify(payload).slice(0, cut % 200)),
    validPayload.map(({ query, variables }) =>
      new URLSearchParams({ query, variables: JSON.stringify(variables ?? {}) }).toString(),
    ),
    fc
      .tuple(fc.constantFrom('xyz', 'boundary', ''), fc.string({ unit: 'binary-ascii', maxLength: 100 }))
      .map(
        ([boundary, junk]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${junk}\r\n--${boundary}--\r\n`,
      ),
    fc.constant(`{"query":"{ __typename }"${',"x":1'.repeat(10_000)}}`),
    fc.constant(JSON.stringify({ query: `{ __typename ${' '.repeat(70_000)}}` })),
  )
  .map((body) => (typeof body === 'string' ? printedCompactly(body) : body));
const contentType = fc.oneof(
  fc.constantFrom<string | undefined>(
    undefined,
    '',
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'APPLICATION/JSON',
    'application/json;;;',
    'application/graphql',
    'application/graphql-response+json',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
    'multipart/form-data; boundary=xyz',
    'multipart/form-data; boundary=boundary',
    'multipart/mixed',
    'text/plain',
    'text/plain;charset=UTF-8',
    'application/octet-stream',
    'application/xml',
    '*/*',
    'application/json, text/plain',
  ),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
);
const acceptHeader = fc.constantFrom<string | undefined>(
  undefined,
  '*/*',
  'application/json',
  'application/graphql-response+json',
  'application/graphql-response+json, application/json;q=0.9',
);

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('any conversationId and durationInSeconds sent as variables', () => {
  const pair = usePair();

  it('answers well-formed GraphQL, and calls the upstream once on the exact route only for valid input', {
    timeout: 60_000,
  }, async () => {
    const input = fc.record(
      { conversationId: conversationIdValue, durationInSeconds: durationValue },
      { requiredKeys: ['conversationId'] },
    );
    await fc.assert(
      fc.asyncProperty(input, async (value) => {
        const before = pair().upstream.requests.length;
        const response = await postOperation(pair().gateway.url, {
          query: CREATE_SESSION,
          variables: { input: value },
        });
        const calls = pair().upstream.requests.slice(before);
        explain(response, calls, () => {
          const body = expectGraphQLResponse(response);
          const ids = expectOnlySessionRouteCalls(calls, pair().upstreamHost);
          const expected = expectedOutcome(value);

          if (expected.kind === 'request-error') {
            expect(response.status).toBe(400);
            expect(ids).toEqual([]);
            return;
          }
          expect(response.status).toBe(200);
          expect(body.errors).toBeUndefined();
          const result = (body.data as Record<string, unknown>)['createConversationSession'];
          if (expected.kind === 'invalid') {
            expect(result).toMatchObject({
              __typename: 'InvalidInputError',
              code: 'INVALID_INPUT',
              field: expected.field,
            });
            expect(ids).toEqual([]);
          } else {
            expect(result).toMatchObject({
              __typename: 'ConversationSession',
              conversationId: expected.id,
              token: 'tok_property',
            });
            expect(calls.map((call) => call.url)).toEqual([`/api/v1/conversation/${expected.id}/session/create`]);
            expect(JSON.parse(calls[0]?.body ?? '')).toEqual(
              expected.durationInSeconds === undefined ? {} : { durationInSeconds: expected.durationInSeconds },
            );
          }
        });
      }),
      { numRuns: RUNS.variables },
    );
    await expectStillServing(pair());
  });
});

describe('any GraphQL document', () => {
  const pair = usePair();

  it('answers well-formed GraphQL, and calls the upstream only on the session route of a conversation it names', {
    timeout: 60_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        graphQLDocument,
        documentVariables,
        operationName,
        async ({ text: query }, variables, operationName) => {
          const before = pair().upstream.requests.length;
          const response = await postOperation(pair().gateway.url, { query, variables, operationName });
          const calls = pair().upstream.requests.slice(before);
          explain(response, calls, () => {
            const body = expectGraphQLResponse(response);
            const ids = expectOnlySessionRouteCalls(calls, pair().upstreamHost);
            const named = idsNamedBy(query, variables);
            for (const id of ids) expect(named).toContain(id);
            // The upstream answers for the id on the route; an answer for another id would mean
            // the route was not the one asked for.
            expect(body.errors?.map((error) => error.extensions?.['code']) ?? []).not.toContain(
              'UPSTREAM_BAD_RESPONSE',
            );
          });
        },
      ),
      { numRuns: RUNS.documents },
    );
    await expectStillServing(pair());
  });
});

describe('any HTTP body and content type POSTed to /graphql', () => {
  const pair = usePair();

  it('never answers 5xx, answers well-formed GraphQL JSON, and calls the upstream only on the session route', {
    timeout: 60_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(rawBody, contentType, acceptHeader, async (body, type, accept) => {
        const before = pair().upstream.requests.length;
        const bytes = body instanceof Uint8Array ? body : new TextEncoder().encode(body.text);
        const response = await post(pair().gateway.url, bytes, {
          ...(type !== undefined && { 'content-type': type }),
          ...(accept !== undefined && { accept }),
        });
        const calls = pair().upstream.requests.slice(before);
        explain(response, calls, () => {
          expectOnlySessionRouteCalls(calls, pair().upstreamHost);
          expect(response.status).toBeLessThan(500);
          expect(response.status === 200 || response.status >= 400).toBe(true);
          // 411, 413 and 415 refuse the transport before any GraphQL request exists; the spec does
          // not ask for a GraphQL body then. Any answer that says it is JSON must be GraphQL-shaped.
          if ([411, 413, 415].includes(response.status) && !/json/.test(response.contentType)) return;
          expectGraphQLJson(response);
        });
      }),
      { numRuns: RUNS.bodies },
    );
    await expectStillServing(pair());
  });
});
