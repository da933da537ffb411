import { Client, fetchExchange } from '@urql/core';
import { CreateSessionDocument, type CreateSessionMutation } from './generated/graphql.ts';

type CreateSessionResult = CreateSessionMutation['createConversationSession'];

/** Mints a session with urql; a GraphQL error arrives as `error` (a CombinedError) instead of data. */
export async function createSessionWithUrql(endpoint: string, conversationId: string): Promise<CreateSessionResult> {
  const client = new Client({ url: endpoint, exchanges: [fetchExchange] });
  const { data, error } = await client
    .mutation(CreateSessionDocument, { input: { conversationId, durationInSeconds: 600 } })
    .toPromise();
  if (error) throw error;
  if (!data) throw new Error('no data');
  return data.createConversationSession;
}
