import { GraphQLError } from 'graphql';
import {
  CallCancelledError,
  InvalidArgumentError,
  MalformedResponseError,
  UpstreamOverloadedError,
  UpstreamResponseError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../chatbotkit/errors.ts';
import { builder } from './builder.ts';

/**
 * The one place where upstream failures become GraphQL answers: failures a client is expected
 * to handle become typed results (errors as data); infrastructure failures become GraphQL
 * errors with a stable `extensions.code` and a safe message. docs/errors.md's table mirrors it.
 */

/** Codes of the GraphQL errors (not typed results) this service answers with. */
export const GraphQLErrorCode = {
  UpstreamUnavailable: 'UPSTREAM_UNAVAILABLE',
  UpstreamTimeout: 'UPSTREAM_TIMEOUT',
  UpstreamBadResponse: 'UPSTREAM_BAD_RESPONSE',
  UpstreamError: 'UPSTREAM_ERROR',
  GatewayMisconfigured: 'GATEWAY_MISCONFIGURED',
  GatewayOverloaded: 'GATEWAY_OVERLOADED',
  ShuttingDown: 'SHUTTING_DOWN',
  Forbidden: 'FORBIDDEN',
  BadUserInput: 'BAD_USER_INPUT',
} as const;

/** The answer to a request the gateway stopped at its drain deadline (src/http/serve.ts writes it too). */
export const SHUTTING_DOWN_MESSAGE = 'The gateway is shutting down; send the request again.';

abstract class ResultError extends Error {
  abstract readonly code: string;
}

export class ConversationNotFoundError extends ResultError {
  readonly code = 'CONVERSATION_NOT_FOUND';
  readonly conversationId: string;

  constructor(conversationId: string) {
    super(`No conversation "${conversationId}" exists for this account.`);
    this.conversationId = conversationId;
  }
}

export class InvalidInputError extends ResultError {
  readonly code = 'INVALID_INPUT';
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`${field} ${reason}.`);
    this.field = field;
  }
}

export class NotAuthorizedError extends ResultError {
  readonly code = 'NOT_AUTHORIZED';
}

export class RateLimitedError extends ResultError {
  readonly code = 'RATE_LIMITED';
  readonly retryAfterSeconds: number | undefined;

  constructor(retryAfterSeconds: number | undefined) {
    super('Too many sessions were requested; try again later.');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export const ErrorInterface = builder.interfaceRef<ResultError>('Error').implement({
  description: 'An expected failure, returned as data. Match on `__typename` or `code`.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, in words fit to show a developer.' }),
    code: t.exposeString('code', { description: 'A stable machine-readable code, e.g. `CONVERSATION_NOT_FOUND`.' }),
  }),
});

builder.objectType(ConversationNotFoundError, {
  name: 'ConversationNotFoundError',
  description:
    'The conversation does not exist, or the gateway’s ChatBotKit account cannot see it. ' +
    '`code` is `CONVERSATION_NOT_FOUND`.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    conversationId: t.exposeID('conversationId', { description: 'The id that was asked for.' }),
  }),
});

builder.objectType(InvalidInputError, {
  name: 'InvalidInputError',
  shareable: true,
  description: 'An argument was refused before any session was minted. `code` is `INVALID_INPUT`.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.exposeString('field', { description: 'Path of the refused argument, e.g. `input.durationInSeconds`.' }),
  }),
});

builder.objectType(NotAuthorizedError, {
  name: 'NotAuthorizedError',
  shareable: true,
  description:
    'ChatBotKit refused to open a session on this conversation for the gateway’s account. `code` is `NOT_AUTHORIZED`.',
  interfaces: [ErrorInterface],
  fields: () => ({}),
});

builder.objectType(RateLimitedError, {
  name: 'RateLimitedError',
  shareable: true,
  description: 'Too many sessions were requested, or the account reached its limits. `code` is `RATE_LIMITED`.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    retryAfterSeconds: t.exposeInt('retryAfterSeconds', {
      nullable: true,
      description: 'Seconds to wait before trying again, when ChatBotKit said; null when it did not.',
    }),
  }),
});

// The generic error shapes are @shareable: other subgraphs of a supergraph are likely to
// declare the same names, and composition merges shareable types instead of refusing them.

export const resultErrorTypes = [ConversationNotFoundError, InvalidInputError, NotAuthorizedError, RateLimitedError];

/** Whose ChatBotKit credentials the call used: the gateway's secret, or the caller's own token (passthrough). */
export interface FailureContext {
  callerCredentials: boolean;
}

/** Turns a failure of the session call into a typed result error or a safe GraphQL error. */
export function toGraphQLFailure(error: unknown, conversationId: string, { callerCredentials }: FailureContext): Error {
  if (error instanceof InvalidArgumentError) return new InvalidInputError(`input.${error.argument}`, error.message);
  // The drain deadline is the one thing that cancels calls (src/http/serve.ts).
  if (error instanceof CallCancelledError) {
    return new GraphQLError(SHUTTING_DOWN_MESSAGE, {
      extensions: { code: GraphQLErrorCode.ShuttingDown, http: { status: 503 } },
    });
  }
  if (error instanceof UpstreamTimeoutError) {
    return graphQLError('ChatBotKit did not answer in time.', GraphQLErrorCode.UpstreamTimeout);
  }
  if (error instanceof UpstreamOverloadedError) {
    return graphQLError(
      'The gateway is handling too many sessions right now; try again shortly.',
      GraphQLErrorCode.GatewayOverloaded,
    );
  }
  if (error instanceof UpstreamUnavailableError) {
    return graphQLError('ChatBotKit could not be reached.', GraphQLErrorCode.UpstreamUnavailable);
  }
  if (error instanceof MalformedResponseError) {
    return graphQLError(
      'ChatBotKit answered with something other than a session.',
      GraphQLErrorCode.UpstreamBadResponse,
    );
  }
  if (error instanceof UpstreamResponseError) return fromUpstreamStatus(error, conversationId, callerCredentials);
  return error instanceof Error ? error : new Error(String(error));
}

function fromUpstreamStatus(error: UpstreamResponseError, conversationId: string, callerCredentials: boolean): Error {
  switch (error.status) {
    case 400:
    case 422:
      return new InvalidInputError('input', 'was refused by ChatBotKit');
    case 401:
      if (callerCredentials) {
        return new GraphQLError('ChatBotKit refused your token.', {
          extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
        });
      }
      return accountRefused('ChatBotKit answered 401 to CHATBOTKIT_SECRET: the secret is wrong or was revoked');
    case 402:
      return accountRefused('ChatBotKit answered 402: the account has no subscription that allows sessions');
    case 403:
      return new NotAuthorizedError('ChatBotKit does not allow a session on this conversation.');
    case 404:
      return isChatBotKitNotFound(error) ? new ConversationNotFoundError(conversationId) : wrongRoute(error);
    case 429:
      return new RateLimitedError(error.retryAfterSeconds);
    default:
      return error.status >= 500
        ? graphQLError('ChatBotKit is unavailable.', GraphQLErrorCode.UpstreamUnavailable)
        : graphQLError('ChatBotKit refused the call.', GraphQLErrorCode.UpstreamError);
  }
}

/** A failure the gateway's operators must fix; `reason` is for the log, never for the client. */
export class GatewayMisconfiguredError extends GraphQLError {
  readonly reason: string;

  constructor(message: string, reason: string) {
    super(message, { extensions: { code: GraphQLErrorCode.GatewayMisconfigured } });
    this.reason = reason;
  }
}

function accountRefused(reason: string): GatewayMisconfiguredError {
  return new GatewayMisconfiguredError(
    'The gateway’s ChatBotKit account cannot mint sessions; its operators can see why in the gateway logs.',
    reason,
  );
}

/**
 * ChatBotKit says a conversation is unknown with a 404 and its JSON `{ code: "NOT_FOUND" }`. A 404
 * without that code (an HTML page, another code, an empty body) comes from something that does
 * not know the route: a proxy, or a CHATBOTKIT_API_URL with the wrong host or path.
 */
function isChatBotKitNotFound(error: UpstreamResponseError): boolean {
  return error.upstreamCode === 'NOT_FOUND';
}

function wrongRoute(error: UpstreamResponseError): GatewayMisconfiguredError {
  const answer =
    error.upstreamCode === 'GENERIC_ERROR' ? 'without a ChatBotKit error body' : `with code ${error.upstreamCode}`;
  return new GatewayMisconfiguredError(
    'The gateway cannot reach ChatBotKit’s session API; its operators can see why in the gateway logs.',
    `the upstream answered 404 ${answer}, not ChatBotKit’s NOT_FOUND for an unknown conversation: ` +
      'the session route does not exist there; check the host and path of CHATBOTKIT_API_URL',
  );
}

/** A request refused for who sent it, not what it asked: HTTP 403. */
export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: GraphQLErrorCode.Forbidden, http: { status: 403 } } });
}

/** A request the client got wrong in a way validation cannot see (an entity representation): no error log. */
export function badUserInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: GraphQLErrorCode.BadUserInput } });
}

// No `originalError`: Yoga would mask the error, and the details belong in the logs only.
function graphQLError(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}
