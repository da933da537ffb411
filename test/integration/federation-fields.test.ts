import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { type GatewayPair, postGraphQL, startGatewayPair, type TestGateway } from '../helpers/gateway.ts';

/*
 * The federation fields a router needs (`_service`, `_entities`) on both request paths: who may
 * call them (ROUTER_SHARED_SECRET, production's default), and a wrong representation answered as
 * the client's mistake, without an error-level log line.
 */

const ROUTER_SECRET = 'router-shared-secret-0123456789-abcdef';
const SERVICE = '{ _service { sdl } }';
// The same field behind a fragment and an alias: the rule is about the field, not its spelling.
const SERVICE_IN_DISGUISE = '{ ...F } fragment F on Query { s: _service { sdl } }';
const ENTITIES = /* GraphQL */ `
  query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Conversation { id } } }
`;
const CONVERSATION = { __typename: 'Conversation', id: 'conv_ref' };

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

/** Runs `check` against each path of a gateway pair started with these limits. */
function onBothPaths(
  limits: { routerSecret?: string; anonymousService?: boolean; introspection?: boolean },
  check: (gateway: TestGateway) => Promise<void>,
) {
  return async () => {
    const pair: GatewayPair = await startGatewayPair(emulator.url, { config: { limits } });
    try {
      await check(pair.known);
      await check(pair.yogaOnly);
    } finally {
      await pair.close();
    }
  };
}

const codesOf = (body: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  body.errors?.map((error) => error.extensions?.['code']);

describe('with ROUTER_SHARED_SECRET', () => {
  const limits = { routerSecret: ROUTER_SECRET, anonymousService: false, introspection: false };

  it(
    'answers _service only to the router’s x-router-secret, and nothing of the schema to anyone else',
    onBothPaths(limits, async (gateway) => {
      for (const [query, headers] of [
        [SERVICE, {}],
        [SERVICE, { 'x-router-secret': 'guessed-secret-0123456789-abcdefghij' }],
        [SERVICE_IN_DISGUISE, {}],
      ] as const) {
        const refused = await postGraphQL(gateway.url, query, {}, headers);
        expect(refused.status).toBe(403);
        expect(codesOf(refused.body)).toEqual(['FORBIDDEN']);
        expect(JSON.stringify(refused.body)).not.toMatch(/@inaccessible|UpstreamKind|createConversationSession/);
      }
      const router = await postGraphQL(gateway.url, SERVICE, {}, { 'x-router-secret': ROUTER_SECRET });
      expect(router.body.data?.['_service'].sdl).toContain('@inaccessible');
    }),
  );

  it(
    'answers _entities only to the router',
    onBothPaths(limits, async (gateway) => {
      const refused = await postGraphQL(gateway.url, ENTITIES, { representations: [CONVERSATION] });
      expect(refused.status).toBe(403);
      expect(codesOf(refused.body)).toEqual(['FORBIDDEN']);
      const router = await postGraphQL(
        gateway.url,
        ENTITIES,
        { representations: [CONVERSATION] },
        { 'x-router-secret': ROUTER_SECRET },
      );
      expect(router.body).toEqual({ data: { _entities: [{ id: 'conv_ref' }] } });
    }),
  );

  it(
    'leaves the public API alone: no secret needed for the operations clients send',
    onBothPaths(limits, async (gateway) => {
      const { body } = await postGraphQL(gateway.url, '{ sessionGateway { version } }');
      expect(body).toEqual({ data: { sessionGateway: { version: 'test' } } });
    }),
  );
});

describe('without ROUTER_SHARED_SECRET', () => {
  it(
    'in production with introspection off, refuses _service to anyone, but answers _entities',
    onBothPaths({ anonymousService: false, introspection: false }, async (gateway) => {
      const refused = await postGraphQL(gateway.url, SERVICE);
      expect(refused.status).toBe(403);
      expect(codesOf(refused.body)).toEqual(['FORBIDDEN']);
      expect(JSON.stringify(refused.body)).not.toContain('@inaccessible');
      const entities = await postGraphQL(gateway.url, ENTITIES, { representations: [CONVERSATION] });
      expect(entities.body).toEqual({ data: { _entities: [{ id: 'conv_ref' }] } });
    }),
  );

  it(
    'elsewhere (the default), answers _service to anyone, as before',
    onBothPaths({}, async (gateway) => {
      const { body } = await postGraphQL(gateway.url, SERVICE);
      expect(body.data?.['_service'].sdl).toContain('@inaccessible');
    }),
  );
});

describe('a wrong entity representation', () => {
  it(
    'is the client’s mistake: BAD_USER_INPUT, and no error-level log line',
    onBothPaths({}, async (gateway) => {
      for (const representation of [
        { __typename: 'NoSuchType', id: 'x' },
        { __typename: 'ConversationSession', id: 'x' },
        { id: 'x' },
        { __typename: 'Conversation' },
      ]) {
        const { body } = await postGraphQL(gateway.url, ENTITIES, { representations: [representation] });
        expect(codesOf(body)).toEqual(['BAD_USER_INPUT']);
        expect(body.errors?.[0]?.message).not.toBe('Unexpected error.');
      }
      expect(gateway.logs.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
    }),
  );
});
