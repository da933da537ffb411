/**
 * Child process: the "peer" target, what a user would write by hand. Apollo Server 5
 * (`startStandaloneServer`) with a typeDefs/resolvers schema exposing the same mutation, calling
 * the official `@chatbotkit/sdk` ConversationSessionClient pointed at the upstream (UPSTREAM_URL).
 * Default options everywhere (the SDK's fetch with its retry wrapper, Apollo's default plugins).
 * Prints `{"url": ".../graphql"}` when it listens.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ConversationSessionClient } from '@chatbotkit/sdk/conversation/session/index.js';
import { GraphQLError, GraphQLScalarType } from 'graphql';

const client = new ConversationSessionClient({
  // The emulator runs without a secret and accepts any; the SDK's type wants one.
  secret: process.env['CHATBOTKIT_SECRET'] ?? 'bench-secret',
  baseUrl: process.env['UPSTREAM_URL'] ?? 'http://127.0.0.1:1',
});

const typeDefs = /* GraphQL */ `
  scalar DateTime

  input CreateConversationSessionInput {
    conversationId: ID!
    durationInSeconds: Int
  }

  interface Error {
    message: String!
    code: String!
  }

  type ConversationSession {
    conversationId: ID!
    token: String!
    expiresAt: DateTime!
  }

  type InvalidInputError implements Error {
    message: String!
    code: String!
    field: String!
  }

  type ConversationNotFoundError implements Error {
    message: String!
    code: String!
    conversationId: ID!
  }

  union CreateConversationSessionResult = ConversationSession | InvalidInputError | ConversationNotFoundError

  type Query {
    ok: Boolean!
  }

  type Mutation {
    createConversationSession(input: CreateConversationSessionInput!): CreateConversationSessionResult!
  }
`;

interface Input {
  conversationId: string;
  durationInSeconds?: number | null;
}

const DateTime = new GraphQLScalarType({
  name: 'DateTime',
  serialize: (value) => (value instanceof Date ? value : new Date(value as number)).toISOString(),
});

const resolvers = {
  DateTime,
  Query: { ok: () => true },
  Mutation: {
    async createConversationSession(_: unknown, { input }: { input: Input }) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(input.conversationId)) {
        return {
          __typename: 'InvalidInputError',
          code: 'INVALID_INPUT',
          message: 'Invalid conversation id.',
          field: 'input.conversationId',
        };
      }
      const duration = input.durationInSeconds ?? undefined;
      if (duration !== undefined && (duration < 1 || duration > 86_400)) {
        return {
          __typename: 'InvalidInputError',
          code: 'INVALID_INPUT',
          message: 'Invalid duration.',
          field: 'input.durationInSeconds',
        };
      }
      try {
        const session = await client.create(
          input.conversationId,
          duration === undefined ? {} : { durationInSeconds: duration },
        );
        return {
          __typename: 'ConversationSession',
          conversationId: session.id,
          token: session.token,
          expiresAt: new Date(session.expiresAt),
        };
      } catch (error) {
        if ((error as { code?: string }).code === 'NOT_FOUND') {
          return {
            __typename: 'ConversationNotFoundError',
            code: 'CONVERSATION_NOT_FOUND',
            message: 'Conversation not found.',
            conversationId: input.conversationId,
          };
        }
        throw new GraphQLError('Upstream failed.', { extensions: { code: 'UPSTREAM_ERROR' } });
      }
    },
  },
  CreateConversationSessionResult: {
    __resolveType: (value: { __typename: string }) => value.__typename,
  },
};

const server = new ApolloServer({ typeDefs, resolvers });
const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
process.stdout.write(`${JSON.stringify({ url: new URL('/graphql', url).href })}\n`);
process.on('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
