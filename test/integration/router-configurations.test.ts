import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { parse as parseGraphQL } from 'graphql';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { FORWARDED_HEADERS } from '../../examples/supergraph/forward-headers.ts';
import { gatewayConfig } from '../../examples/supergraph/gateway.config.ts';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { loadConfig } from '../../src/config.ts';
import {
  CONVERSATIONS_SDL,
  type ConversationsSubgraph,
  startConversationsSubgraph,
} from '../helpers/conversations-subgraph.ts';
import { postGraphQL, type TestGateway, withGateway } from '../helpers/gateway.ts';

// The router configurations docs/federation.md shows (examples/supergraph/), in front of a real
// gateway whose AUTH_MODE needs the forwarded header: a caller is let in only if it arrived.

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

const API_KEY = 'gw_live_router_0123456789';
const JWT_SECRET = 'development-only-hs256-secret-0123456789';
const JWT_ENV = { AUTH_MODE: 'jwt', JWT_SECRET, JWT_ISSUER: 'https://issuer.example', JWT_AUDIENCE: 'sessions' };
const ROUTER_SHARED_SECRET = 'router-shared-secret-0123456789-abcdef';

const MUTATION = /* GraphQL */ `
  mutation {
    createConversationSession(input: { conversationId: "conv_router" }) {
      __typename
      ... on ConversationSession { conversation { id title } }
    }
  }
`;

async function bearerToken(): Promise<string> {
  const token = await new SignJWT({ scope: 'conversation-session:create' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(JWT_ENV.JWT_ISSUER)
    .setAudience(JWT_ENV.JWT_AUDIENCE)
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JWT_SECRET));
  return `Bearer ${token}`;
}

describe('Hive Gateway with examples/supergraph/gateway.config.ts', () => {
  let emulator: RunningEmulator;
  let conversations: ConversationsSubgraph;

  beforeAll(async () => {
    emulator = await startEmulator();
    conversations = await startConversationsSubgraph();
  });
  afterAll(async () => {
    await conversations.close();
    await emulator.close();
  });

  /**
   * The configuration's header propagation, on a supergraph of `sessions` and another subgraph;
   * `sentToSessions` gets the headers of each request the router sent to `sessions`.
   */
  async function throughRouter(sessions: TestGateway, headers: Record<string, string>, sentToSessions?: Headers[]) {
    const composition = composeServices([
      { name: 'sessions', typeDefs: parseGraphQL(read('schema/subgraph.graphql')), url: sessions.url },
      { name: 'conversations', typeDefs: parseGraphQL(CONVERSATIONS_SDL), url: conversations.url },
    ]);
    if (composition.errors) throw new Error(composition.errors.map((error) => error.message).join('\n'));
    const router = createGatewayRuntime({
      supergraph: composition.supergraphSdl,
      propagateHeaders: gatewayConfig.propagateHeaders,
      logging: false,
      plugins: () => [
        {
          onFetch: ({ url, options }) => {
            if (url === sessions.url) sentToSessions?.push(new Headers(options.headers as HeadersInit));
          },
        },
      ],
    });
    try {
      conversations.requests.length = 0;
      const response = await router.fetch('http://router/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: MUTATION }),
      });
      return (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    } finally {
      await router.dispose();
    }
  }

  const session = { __typename: 'ConversationSession', conversation: { id: 'conv_router', title: expect.any(String) } };

  it('forwards x-api-key: the api-key gateway lets the caller in, and logs its x-request-id', async () => {
    const { auth } = loadConfig({ AUTH_MODE: 'api-key', GATEWAY_API_KEY_HASHES: sha256(API_KEY) });
    await withGateway(emulator.url, { config: { auth } }, async (sessions) => {
      const body = await throughRouter(sessions, { 'x-api-key': API_KEY, 'x-request-id': 'hive-req-1' });
      expect(body).toEqual({ data: { createConversationSession: session } });
      expect(sessions.logs.join('')).toContain('"requestId":"hive-req-1"');
      // The other subgraph was called (for the title), without the caller's key. (Hive Gateway
      // sends the request id to every subgraph by itself.)
      expect(conversations.requests.length).toBeGreaterThan(0);
      expect(conversations.requests.map((headers) => headers.get('x-api-key'))).toEqual(
        conversations.requests.map(() => null),
      );
      // Without the key, the same request is refused: it is the forwarded header that let it in.
      const refused = await throughRouter(sessions, { 'x-request-id': 'hive-req-2' });
      expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  it('sends ROUTER_SHARED_SECRET from its environment, which the gateway takes for _service, _entities', async () => {
    const { limits } = loadConfig({ ROUTER_SHARED_SECRET });
    process.env['ROUTER_SHARED_SECRET'] = ROUTER_SHARED_SECRET;
    try {
      await withGateway(emulator.url, { config: { limits } }, async (sessions) => {
        const sent: Headers[] = [];
        // A client's own x-router-secret is not passed on: the router's value replaces it.
        const body = await throughRouter(sessions, { 'x-router-secret': 'from-a-client' }, sent);
        expect(body).toEqual({ data: { createConversationSession: session } });
        expect(sent.map((headers) => headers.get('x-router-secret'))).toEqual([ROUTER_SHARED_SECRET]);
        // What the router sends is what the gateway asks of _service and _entities; nothing else is.
        const routerHeaders = { 'x-router-secret': sent[0]?.get('x-router-secret') ?? '' };
        const service = await postGraphQL(sessions.url, '{ _service { sdl } }', {}, routerHeaders);
        expect(service.body.data?.['_service'].sdl).toContain('createConversationSession');
        const entities = /* GraphQL */ `
          query ($r: [_Any!]!) { _entities(representations: $r) { ... on Conversation { id } } }
        `;
        const representations = { r: [{ __typename: 'Conversation', id: 'conv_router' }] };
        const entity = await postGraphQL(sessions.url, entities, representations, routerHeaders);
        expect(entity.body).toEqual({ data: { _entities: [{ id: 'conv_router' }] } });
        const refused = await postGraphQL(
          sessions.url,
          '{ _service { sdl } }',
          {},
          { 'x-router-secret': 'from-a-client' },
        );
        expect(refused.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
      });
    } finally {
      delete process.env['ROUTER_SHARED_SECRET'];
    }
  });

  it('forwards authorization: the jwt gateway accepts the caller’s token, which no other subgraph gets', async () => {
    const { auth } = loadConfig(JWT_ENV);
    await withGateway(emulator.url, { config: { auth } }, async (sessions) => {
      const body = await throughRouter(sessions, { authorization: await bearerToken() });
      expect(body).toEqual({ data: { createConversationSession: session } });
      expect(conversations.requests.length).toBeGreaterThan(0);
      expect(conversations.requests.map((headers) => headers.get('authorization'))).toEqual(
        conversations.requests.map(() => null),
      );
    });
  });
});

describe('the header lists', () => {
  it('gateway.config.ts forwards the headers docs/federation.md lists (forward-headers.ts), to sessions only', () => {
    const request = new Request('http://router/graphql', {
      headers: Object.fromEntries(FORWARDED_HEADERS.map((name) => [name, `${name}-value`])),
    });
    const { fromClientToSubgraphs } = gatewayConfig.propagateHeaders;
    expect(fromClientToSubgraphs({ request, subgraphName: 'sessions' })).toEqual(
      Object.fromEntries(FORWARDED_HEADERS.map((name) => [name, `${name}-value`])),
    );
    expect(fromClientToSubgraphs({ request, subgraphName: 'conversations' })).toEqual({});
  });
});

describe('Apollo Router with examples/supergraph/router.yaml', () => {
  // No Apollo Router binary is available offline: this checks the file's shape, not a router run.
  const config = parseYaml(read('examples/supergraph/router.yaml'));

  it('propagates authorization, x-api-key and x-request-id, and inserts the router secret, to sessions only', () => {
    expect(Object.keys(config)).toEqual(['headers']);
    expect(Object.keys(config.headers)).toEqual(['subgraphs']);
    expect(config.headers.subgraphs).toEqual({
      sessions: {
        request: [
          { propagate: { named: 'authorization' } },
          { propagate: { named: 'x-api-key' } },
          { propagate: { named: 'x-request-id' } },
          // The router's environment expansion: the same variable the gateway reads.
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the router's syntax, not a template.
          { insert: { name: 'x-router-secret', value: '${env.ROUTER_SHARED_SECRET}' } },
        ],
      },
    });
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
