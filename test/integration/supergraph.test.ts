import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { createGatewayRuntime, type GatewayRuntime } from '@graphql-hive/gateway-runtime';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { propagateHeaders } from '../../examples/supergraph/forward-headers.ts';
import {
  CONVERSATIONS_SDL,
  type ConversationsSubgraph,
  startConversationsSubgraph,
} from '../helpers/conversations-subgraph.ts';
import { postGraphQL, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { type ScriptedUpstream, sessionBody, startScriptedUpstream } from '../helpers/upstream.ts';

/** Reads the subgraph SDL from the running service, as a router or `rover` does. */
async function fetchSubgraphSdl(url: string): Promise<string> {
  const { body } = await postGraphQL(url, '{ _service { sdl } }');
  return body.data?.['_service'].sdl;
}

async function compose(sessionsUrl: string, conversationsUrl: string) {
  return composeServices([
    { name: 'sessions', typeDefs: parse(await fetchSubgraphSdl(sessionsUrl)), url: sessionsUrl },
    { name: 'conversations', typeDefs: parse(CONVERSATIONS_SDL), url: conversationsUrl },
  ]);
}

describe('this service in a federated supergraph', () => {
  let upstream: ScriptedUpstream;
  let sessions: TestGateway;
  let conversations: ConversationsSubgraph;
  let router: GatewayRuntime;
  let routerServer: Server;
  let routerUrl: string;

  beforeAll(async () => {
    upstream = await startScriptedUpstream({ status: 200, body: sessionBody('conv_fed', 'tok_fed') });
    sessions = await startGateway(upstream.url);
    conversations = await startConversationsSubgraph();
    const composition = await compose(sessions.url, conversations.url);
    if (composition.errors) throw new Error(composition.errors.map((error) => error.message).join('\n'));

    // A real federation gateway (Hive Gateway), configured as docs/federation.md shows.
    router = createGatewayRuntime({ supergraph: composition.supergraphSdl, logging: false, propagateHeaders });
    routerServer = createServer(router);
    await new Promise<void>((resolve) => routerServer.listen(0, '127.0.0.1', resolve));
    routerUrl = `http://127.0.0.1:${(routerServer.address() as AddressInfo).port}/graphql`;
  });

  afterAll(async () => {
    routerServer.closeAllConnections();
    await new Promise((resolve) => routerServer.close(resolve));
    await router.dispose();
    await sessions.close();
    await conversations.close();
    await upstream.close();
  });

  it('composes with another subgraph without errors or hints', async () => {
    const composition = await compose(sessions.url, conversations.url);
    expect(composition.errors).toBeUndefined();
    expect((composition.hints ?? []).map((hint) => `${hint.definition.code}: ${hint.message}`)).toEqual([]);
  });

  it('hides @inaccessible fields from the supergraph API', async () => {
    const composition = await compose(sessions.url, conversations.url);
    const apiSchema = composition.schema?.toAPISchema().toGraphQLJSSchema();
    expect(apiSchema?.getType('SessionGateway')?.toConfig()).not.toHaveProperty('fields.upstream');
    expect(apiSchema?.getType('UpstreamKind')).toBeUndefined();
  });

  it('routes the mutation through the router and joins the title from the other subgraph', async () => {
    const { body } = await postGraphQL(
      routerUrl,
      /* GraphQL */ `
        mutation ($input: CreateConversationSessionInput!) {
          createConversationSession(input: $input) {
            ... on ConversationSession { token conversation { id title } }
          }
        }
      `,
      { input: { conversationId: 'conv_fed' } },
    );
    expect(body).toEqual({
      data: {
        createConversationSession: {
          token: 'tok_fed',
          conversation: { id: 'conv_fed', title: 'Conversation conv_fed' },
        },
      },
    });
  });

  it('passes the forwarded headers on to this service and request id and trace context on to ChatBotKit', async () => {
    upstream.requests.length = 0;
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const before = sessions.logs.length;
    await postGraphQL(
      routerUrl,
      'mutation { createConversationSession(input: { conversationId: "conv_fed" }) { __typename } }',
      {},
      { 'x-request-id': 'router-req-1', traceparent, authorization: 'Bearer caller-jwt' },
    );
    const [call] = upstream.requests;
    expect(call?.headers['x-request-id']).toBe('router-req-1');
    expect(call?.headers['traceparent']).toBe(traceparent);
    // The caller's credentials reach this service but never ChatBotKit: it gets the gateway's own.
    expect(call?.headers.authorization).toBeUndefined();
    expect(sessions.logs.slice(before).join('')).toContain('"requestId":"router-req-1"');
  });

  it('answers the router with an inline trace only when it asks for one', async () => {
    const query = '{ sessionGateway { version } }';
    const traced = await postGraphQL(sessions.url, query, {}, { 'apollo-federation-include-trace': 'ftv1' });
    expect(traced.body).toMatchObject({ extensions: { ftv1: expect.any(String) } });
    const plain = await postGraphQL(sessions.url, query);
    expect(plain.body).not.toHaveProperty('extensions');
  });

  it('resolves a Conversation reference through _entities', async () => {
    const { body } = await postGraphQL(
      sessions.url,
      'query ($representations: [_Any!]!) ' +
        '{ _entities(representations: $representations) { ... on Conversation { id } } }',
      { representations: [{ __typename: 'Conversation', id: 'conv_x' }] },
    );
    expect(body.data).toEqual({ _entities: [{ id: 'conv_x' }] });
  });
});
