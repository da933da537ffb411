import type { IncomingMessage } from 'node:http';
import { useApolloInlineTrace } from '@graphql-yoga/plugin-apollo-inline-trace';
import { GraphQLError } from 'graphql';
import { createYoga, useReadinessCheck } from 'graphql-yoga';
import type { Logger } from 'pino';
import { createAuthenticator, type HeaderReader } from './auth/authenticate.ts';
import type { ConversationSessionClient } from './chatbotkit/conversation-session.ts';
import type { Config } from './config.ts';
import { createContext, type GraphQLContext, type ServiceInfo } from './context.ts';
import { lazyGraphiQLPage } from './graphiql/page.ts';
import { createKnownOperationPath } from './known-operations.ts';
import { type GatewayMetrics, useMetricsEndpoint } from './observability/metrics.ts';
import { useOperationSpans } from './observability/tracing.ts';
import { abuseLimitPlugins } from './plugins/use-abuse-limits.ts';
import { createRequestLog, type RequestRecord } from './plugins/use-request-log.ts';
import type { RateLimiter } from './rate-limit.ts';
import { buildSubgraphSchema } from './schema/index.ts';

/** The parts of the configuration the HTTP handler uses. */
export type AppConfig = Pick<Config, 'corsOrigins' | 'auth' | 'conversationIdPrefixes' | 'limits'>;

export interface AppDependencies {
  client: ConversationSessionClient;
  logger: Logger;
  service: ServiceInfo;
  rateLimiter: RateLimiter;
  metrics: GatewayMetrics;
}

export const GRAPHQL_PATH = '/graphql';

export const EXAMPLE_MUTATION = /* GraphQL */ `# Mint a session token for one conversation.
# With the built-in emulator any id works, except ids that begin with "unknown".
mutation CreateSession {
  createConversationSession(input: { conversationId: "conv_example", durationInSeconds: 600 }) {
    __typename
    ... on ConversationSession {
      conversationId
      token
      expiresAt
    }
    ... on Error {
      code
      message
    }
  }
}
`;

/**
 * Builds the HTTP handlers (GraphQL, GraphiQL, probes): `handle` for node's server, which
 * answers known operations itself and passes the rest to `yoga`. It never listens:
 * `server.ts` and tests do.
 */
export function createApp(config: AppConfig, { client, logger, service, rateLimiter, metrics }: AppDependencies) {
  const requestLog = createRequestLog(logger, metrics);
  const authenticate = createAuthenticator(config.auth);
  const graphiql = { title: 'ChatBotKit session gateway', defaultQuery: EXAMPLE_MUTATION };

  const contextFor = async (
    headers: HeaderReader,
    clientAddress: string,
    record: RequestRecord,
  ): Promise<GraphQLContext> => {
    const authentication = await authenticate(headers, clientAddress);
    record.callerId = authentication.caller?.id;
    if (!authentication.caller) record.authFailure = authentication.reason;
    return createContext({
      requestId: record.requestId,
      logger,
      service,
      authentication,
      conversationIdPrefixes: config.conversationIdPrefixes,
      rateLimiter,
      client,
      traceHeaders: traceContextOf(headers),
      onUpstreamSettled: (outcome) => {
        record.upstream = outcome;
        metrics.upstreamCallEnded(outcome.status, outcome.durationMs, outcome.attempts);
      },
      onResult: (typename) => {
        record.result = typename;
      },
    });
  };

  const yoga = createYoga<{ req?: IncomingMessage }, GraphQLContext>({
    // Yoga's plugins (inline tracing) wrap this schema's resolvers in place.
    schema: buildSubgraphSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    cors: corsOptions(config.corsOrigins),
    graphiql: config.limits.graphiql && graphiql,
    renderGraphiQL: lazyGraphiQLPage(graphiql),
    // Never attach original errors or stacks, whatever NODE_ENV says.
    maskedErrors: { isDev: false },
    logging: {
      debug: (...args) => logger.debug(args),
      info: (...args) => logger.info(args),
      warn: (...args) => logger.warn(args),
      error: (...args) => logger.error({ err: args[0] }, 'unexpected error'),
    },
    plugins: [
      requestLog.plugin,
      useMetricsEndpoint(metrics),
      useOperationSpans(requestLog.recordOf, (request, traceId) => {
        requestLog.recordOf(request).traceId = traceId;
      }),
      ...abuseLimitPlugins(config.limits),
      useReadinessCheck({ endpoint: '/readyz', check: () => readiness(client, rateLimiter) }),
      // Federated tracing: answers only when the router sends `apollo-federation-include-trace: ftv1`.
      // Errors in the trace keep only our own safe messages, as the response does.
      useApolloInlineTrace({
        rewriteError: (error) => new GraphQLError(error.extensions['code'] ? error.message : 'Unexpected error.'),
      }),
    ],
    context: ({ request, req }) =>
      contextFor(request.headers, req?.socket.remoteAddress ?? 'unknown', requestLog.recordOf(request)),
  });

  const handle = createKnownOperationPath(
    {
      // Its own copy, whose resolvers no Yoga plugin wraps: requests for inline traces go to Yoga.
      schema: buildSubgraphSchema(),
      graphqlPath: GRAPHQL_PATH,
      limits: config.limits,
      corsEnabled: config.corsOrigins.length > 0,
      requestLog,
      metrics,
      contextFor,
      logger,
    },
    (request, response) => void yoga(request, response),
  );
  return { yoga, handle };
}

export type App = ReturnType<typeof createApp>;

/**
 * Ready while the upstream pool is open. An open circuit or a lost Redis is reported but does
 * not make the replica unready: every replica would go out together, and no probe could
 * ever close the circuit again.
 */
function readiness(client: ConversationSessionClient, rateLimiter: RateLimiter): Response {
  const upstream = client.health();
  return Response.json(
    { ready: upstream.open, upstream, rateLimit: rateLimiter.status() },
    { status: upstream.open ? 200 : 503 },
  );
}

// Same-origin only unless origins are listed; never with credentials, since callers
// authenticate with headers, not cookies.
function corsOptions(origins: readonly string[]) {
  if (origins.length === 0) return false;
  return {
    origin: [...origins],
    credentials: false,
    methods: ['GET', 'POST'],
    allowedHeaders: [
      'content-type',
      'accept',
      'authorization',
      'x-api-key',
      'x-request-id',
      'traceparent',
      'tracestate',
    ],
    exposedHeaders: ['x-request-id'],
    maxAge: 600,
  };
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

/**
 * The caller's W3C trace context, passed on unchanged so that the upstream's spans join the
 * caller's trace; malformed values are dropped rather than forwarded.
 */
function traceContextOf(headers: HeaderReader): Record<string, string> {
  const traceparent = headers.get('traceparent');
  if (!traceparent || !TRACEPARENT.test(traceparent)) return {};
  const tracestate = headers.get('tracestate');
  return tracestate && TRACESTATE.test(tracestate) ? { traceparent, tracestate } : { traceparent };
}
