import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { CreateSessionDocument, type CreateSessionMutation } from './generated/graphql.ts';
import generated from './generated/possible-types.ts';

type CreateSessionResult = CreateSessionMutation['createConversationSession'];

/**
 * Apollo Client's cache must be told which types implement `Error` and belong to the result
 * union (`npm run codegen` writes them): without `possibleTypes`, `... on Error { code message }`
 * matches nothing and those fields are silently dropped from the result.
 */
export function createApolloClient(endpoint: string): ApolloClient {
  return new ApolloClient({
    link: new HttpLink({ uri: endpoint }),
    cache: new InMemoryCache({ possibleTypes: generated.possibleTypes }),
  });
}

/** Mints a session with Apollo Client; typed errors come back as data, GraphQL errors reject. */
export async function createSessionWithApolloClient(
  endpoint: string,
  conversationId: string,
): Promise<CreateSessionResult> {
  const { data } = await createApolloClient(endpoint).mutate({
    mutation: CreateSessionDocument,
    variables: { input: { conversationId, durationInSeconds: 600 } },
  });
  if (!data) throw new Error('no data');
  return data.createConversationSession;
}
