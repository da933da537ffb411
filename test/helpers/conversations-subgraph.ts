import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createYoga } from 'graphql-yoga';

/** A second subgraph, as another team would write it: it owns conversations' titles. */
export const CONVERSATIONS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])

  type Conversation @key(fields: "id") {
    id: ID!
    title: String!
  }

  type Query {
    conversation(id: ID!): Conversation
  }
`;

const titleOf = (id: string) => `Conversation ${id}`;

export interface ConversationsSubgraph {
  url: string;
  /** Headers of every request it received. */
  requests: Headers[];
  close(): Promise<void>;
}

export async function startConversationsSubgraph(): Promise<ConversationsSubgraph> {
  const requests: Headers[] = [];
  const schema = buildSubgraphSchema({
    typeDefs: parse(CONVERSATIONS_SDL),
    resolvers: {
      Query: { conversation: (_: unknown, { id }: { id: string }) => ({ id, title: titleOf(id) }) },
      Conversation: { __resolveReference: ({ id }: { id: string }) => ({ id, title: titleOf(id) }) },
    },
  });
  const yoga = createYoga({
    schema,
    logging: false,
    plugins: [{ onRequest: ({ request }) => void requests.push(request.headers) }],
  });
  const server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
