import { GraphQLClient } from 'graphql-request';
import { CreateSessionDocument, type CreateSessionMutation } from './generated/graphql.ts';

type CreateSessionResult = CreateSessionMutation['createConversationSession'];

/** Mints a session with graphql-request; typed errors come back as data, GraphQL errors throw. */
export async function createSessionWithGraphQLRequest(
  endpoint: string,
  conversationId: string,
): Promise<CreateSessionResult> {
  const client = new GraphQLClient(endpoint);
  const { createConversationSession } = await client.request(CreateSessionDocument, {
    input: { conversationId, durationInSeconds: 600 },
  });
  if (createConversationSession.__typename === 'ConversationSession') {
    // Narrowed by __typename: token and expiresAt are known to be here.
    console.log(
      `token for ${createConversationSession.conversationId} expires at ${createConversationSession.expiresAt}`,
    );
  }
  return createConversationSession;
}
