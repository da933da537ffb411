import {
  type ConversationSessionCreateRequest,
  type ConversationSessionCreateResponse,
  MAX_DURATION_IN_SECONDS,
  validateCreate,
} from '../chatbotkit/conversation-session.ts';
import type { GraphQLContext } from '../context.ts';
import { builder } from './builder.ts';
import { Conversation } from './conversation.ts';
import {
  GatewayMisconfiguredError,
  NotAuthorizedError,
  RateLimitedError,
  resultErrorTypes,
  toGraphQLFailure,
} from './errors.ts';

export const ConversationSession = builder
  .objectRef<ConversationSessionCreateResponse>('ConversationSession')
  .implement({
    tag: 'sessions',
    description:
      'A short-lived credential that lets a browser or app talk to one conversation directly, ' +
      'without the account secret.',
    fields: (t) => ({
      conversationId: t.id({ description: 'The conversation the token opens.', resolve: (session) => session.id }),
      conversation: t.field({
        type: Conversation,
        description: 'The conversation the token opens, as an entity other subgraphs can add fields to.',
        resolve: (session) => ({ id: session.id }),
      }),
      token: t.exposeString('token', {
        description:
          'The session token. Whoever holds it can act on the conversation until `expiresAt`: ' +
          'keep it out of logs and URLs.',
      }),
      expiresAt: t.field({
        type: 'DateTime',
        description: 'When the token stops working.',
        resolve: (session) => session.expiresAt,
      }),
    }),
  });

const CreateConversationSessionInput = builder.inputType('CreateConversationSessionInput', {
  description: 'Which conversation to open a session on, and for how long.',
  fields: (t) => ({
    conversationId: t.id({
      required: true,
      description: 'The ChatBotKit conversation id: 1 to 64 letters, digits, `-` or `_`.',
    }),
    durationInSeconds: t.int({
      description:
        `How long the session stays open, in seconds: a whole number from 1 to ${MAX_DURATION_IN_SECONDS}. ` +
        'Omit it for ChatBotKit’s default.',
    }),
  }),
});

builder.mutationType({ description: 'Operations that change state upstream.' });

builder.mutationField('createConversationSession', (t) =>
  t.field({
    type: ConversationSession,
    tag: 'sessions',
    authScopes: { createSessions: true },
    description:
      'Mints a session token for one conversation. ' +
      'Expected failures come back as typed results; match on `__typename`.',
    args: {
      input: t.arg({
        type: CreateConversationSessionInput,
        required: true,
        description: 'The conversation and duration.',
      }),
    },
    errors: {
      types: resultErrorTypes,
      directResult: true,
      union: {
        name: 'CreateConversationSessionResult',
        description: 'The new session, or the expected failure that prevented it.',
      },
    },
    resolve: async (_root, { input }, context) => {
      const conversationId = String(input.conversationId);
      try {
        const session = await mintSession(
          conversationId,
          { durationInSeconds: input.durationInSeconds ?? undefined },
          context,
        );
        context.recordResult('ConversationSession');
        return session;
      } catch (error) {
        const failure = toGraphQLFailure(error, conversationId, {
          callerCredentials: context.caller?.chatbotkitToken !== undefined,
        });
        // Typed results are the caller's business; anything else is the operators'.
        if (resultErrorTypes.some((type) => failure instanceof type)) context.recordResult(failure.constructor.name);
        else if (failure instanceof GatewayMisconfiguredError) {
          context.error({ err: error, reason: failure.reason }, 'session call failed: the gateway is misconfigured');
        } else context.warn({ err: error }, 'session call failed');
        throw failure;
      }
    },
  }),
);

/**
 * Cheapest checks first: bad input and refused conversations cost no budget and no upstream call;
 * a call that never reaches ChatBotKit gives its budget back (src/session-budget.ts).
 * `validateCreate` is the client's one check of the input; the client sends what it validated.
 */
async function mintSession(
  conversationId: string,
  request: ConversationSessionCreateRequest,
  context: GraphQLContext,
): Promise<ConversationSessionCreateResponse> {
  const validated = validateCreate(conversationId, request);
  if (!context.mayOpenConversation(validated.conversationId)) {
    throw new NotAuthorizedError('These credentials may not open a session on this conversation.');
  }
  const budget = await context.consumeSessionBudget();
  if (!budget.allowed) throw new RateLimitedError(budget.retryAfterSeconds);
  let session: ConversationSessionCreateResponse;
  try {
    session = await context.createConversationSession(validated);
  } catch (error) {
    await settleQuietly(budget, error, context);
    throw error;
  }
  await settleQuietly(budget, undefined, context);
  return session;
}

/** Accounting never overrides the answer: a minted session is returned even if a refund fails. */
async function settleQuietly(
  budget: { settle(error: unknown): Promise<void> },
  error: unknown,
  context: GraphQLContext,
): Promise<void> {
  try {
    await budget.settle(error);
  } catch (settleError) {
    context.warn({ err: settleError }, 'could not settle the session budget');
  }
}
