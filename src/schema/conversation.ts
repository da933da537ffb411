import { builder } from './builder.ts';
import { badUserInput } from './errors.ts';

/** A conversation as this subgraph knows it: only its id. Other subgraphs add the rest. */
export interface ConversationReference {
  id: string;
}

export const Conversation = builder.objectRef<ConversationReference>('Conversation').implement({
  description:
    'A ChatBotKit conversation. This service knows only its id; ' +
    'in a supergraph, other services add its title, messages and owner.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The ChatBotKit conversation id.' }),
  }),
});

// Any subgraph may hand this service a conversation id and get the same reference back;
// nothing is fetched, because minting a session is the only thing this service does with it.
builder.asEntity(Conversation, {
  key: builder.selection<{ id: string }>('id'),
  // A representation without its key is the caller's mistake, not a null id to fail on as a bug.
  resolveReference: ({ id }) => {
    if (typeof id !== 'string' || id === '') throw badUserInput('A Conversation representation needs its id.');
    return { id };
  },
});
