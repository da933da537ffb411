import type { Logger } from 'pino';
import { type Authentication, type Caller, mayOpenConversation } from './auth/authenticate.ts';
import type {
  CallOptions,
  ConversationSessionClient,
  ConversationSessionCreateResponse,
  ValidatedCreate,
} from './chatbotkit/conversation-session.ts';
import { traceUpstreamCall } from './observability/tracing.ts';
import type { SessionBudget } from './session-budget.ts';

/** Which API mints the sessions, as `Query.sessionGateway` reports it. */
export type UpstreamKind = 'EMULATOR' | 'CHATBOTKIT' | 'CUSTOM';

export interface ServiceInfo {
  version: string;
  upstream: UpstreamKind;
}

/** What every resolver gets: the request's id, logger and caller, and the upstream bound to this request. */
export interface GraphQLContext {
  requestId: string;
  /** Logs a warning tagged with the request's id. */
  warn(fields: Record<string, unknown>, message: string): void;
  /** Logs an error tagged with the request's id: something its operators must fix. */
  error(fields: Record<string, unknown>, message: string): void;
  service: ServiceInfo;
  /** Undefined when the request carries no valid credentials. */
  caller: Caller | undefined;
  /** Whether the caller may open a session on this conversation (allow-lists). */
  mayOpenConversation(conversationId: string): boolean;
  /** Spends one session from the caller's budget, to settle once the session call has ended. */
  consumeSessionBudget(): Promise<SessionSpending>;
  /** Notes which result type the mutation answered, for the request's log line and metrics. */
  recordResult(typename: string): void;
  /** Mints a session from arguments the client's `validateCreate` has checked. */
  createConversationSession(create: ValidatedCreate): Promise<ConversationSessionCreateResponse>;
}

/**
 * A spent session, or the refusal. `settle` takes the session call's failure (undefined when it
 * minted one): a call that never reached ChatBotKit gets its budget back.
 */
export type SessionSpending =
  | { allowed: false; retryAfterSeconds: number }
  | { allowed: true; settle(error: unknown): Promise<void> };

// Resolvers that spend a budget require a caller; should one ever not, it pays from one shared budget.
const ANONYMOUS: Caller = { id: 'anonymous', rateLimitKey: 'anonymous', mayCreateSessions: false, conversations: [] };

/** What building a context needs: the request's record, its caller, and the shared parts. */
export interface ContextParts {
  requestId: string;
  logger: Logger;
  service: ServiceInfo;
  authentication: Authentication;
  conversationIdPrefixes: readonly string[];
  sessionBudget: SessionBudget;
  client: ConversationSessionClient;
  /** The ChatBotKit sub-account user this request's sessions are minted as (`x-runas-user-id`). */
  runAsUserId: string | undefined;
  /** Trace context to pass on to ChatBotKit. */
  traceHeaders: Record<string, string>;
  /** Aborts when the gateway stops waiting for requests in flight: their upstream calls are cancelled. */
  cancel: AbortSignal;
  onUpstreamSettled: NonNullable<CallOptions['onSettled']>;
  onResult: (typename: string) => void;
}

export function createContext(parts: ContextParts): GraphQLContext {
  const { caller } = parts.authentication;
  // The session call's attempts, as the client reports them when it settles: at most one call per operation.
  let upstreamAttempts = 0;
  return {
    requestId: parts.requestId,
    // A plain function, not a child logger: envelop copies the context's properties, and most
    // requests never log from a resolver.
    warn: (fields, message) => parts.logger.warn({ requestId: parts.requestId, ...fields }, message),
    error: (fields, message) => parts.logger.error({ requestId: parts.requestId, ...fields }, message),
    service: parts.service,
    caller,
    mayOpenConversation: (conversationId) =>
      caller !== undefined && mayOpenConversation(caller, conversationId, parts.conversationIdPrefixes),
    consumeSessionBudget: async () => {
      const spending = await parts.sessionBudget.spend(caller ?? ANONYMOUS);
      if (!spending.allowed) return spending;
      return { allowed: true, settle: (error) => spending.settle({ error, attempts: upstreamAttempts }) };
    },
    recordResult: parts.onResult,
    createConversationSession: (create) =>
      traceUpstreamCall('chatbotkit POST /conversation/{id}/session/create', parts.traceHeaders, (traceHeaders, span) =>
        parts.client.createValidated(create, {
          requestId: parts.requestId,
          signal: parts.cancel,
          runAsUserId: parts.runAsUserId,
          headers: {
            ...traceHeaders,
            // Passthrough: the caller's own ChatBotKit token stands in for the gateway's secret.
            ...(caller?.chatbotkitToken && { authorization: `Bearer ${caller.chatbotkitToken}` }),
          },
          onSettled: (outcome) => {
            upstreamAttempts = outcome.attempts;
            if (outcome.status !== undefined) span.setAttribute('http.response.status_code', outcome.status);
            parts.onUpstreamSettled(outcome);
          },
        }),
      ),
  };
}
