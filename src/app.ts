import { setMaxListeners } from 'node:events';
import { createYoga } from 'graphql-yoga';
import type { Logger } from 'pino';
import { createAuthenticator, type HeaderReader } from './auth/authenticate.ts';
import type { ConversationSessionClient } from './chatbotkit/conversation-session.ts';
import type { Config } from './config.ts';
import { createContext, type GraphQLContext, type ServiceInfo } from './context.ts';
import { lazyGraphiQLPage } from './graphiql/page.ts';
import { createClientAddress } from './http/client-address.ts';
import { createEdge, type NodeHandler } from './http/edge.ts';
import { createKnownOperationPath } from './http/known-operation-path.ts';
import { type RequestRecord, recordOf } from './http/request-record.ts';
import type { NodeServerContext } from './http/yoga-pipeline.ts';
import type { GatewayMetrics } from './observability/metrics.ts';
import { gatewayPlugins, type PluginEntry, preparePlugins, requestsForYoga } from './plugins/index.ts';
import type { RateLimiter } from './rate-limit.ts';
import { buildSubgraphSchema } from './schema/index.ts';
import { createSessionBudget } from './session-budget.ts';

/** The parts of the configuration the HTTP handler uses. */
export type AppConfig = Pick<
  Config,
  'host' | 'corsOrigins' | 'auth' | 'conversationIdPrefixes' | 'limits' | 'proxies' | 'runAsUserId'
>;

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

/** How the app is put together, beyond configuration: for extensions, and for tests comparing paths. */
export interface AppOptions {
  /** Plugins after the gateway's own, held to the same rules (src/plugins/index.ts). */
  plugins?: readonly PluginEntry[];
  /** Whether POSTed JSON takes the known-operation path (default) or goes to Yoga like the rest. */
  knownOperationPath?: boolean;
}

/**
 * Builds the HTTP handler (GraphQL, GraphiQL, probes): `handle` for node's server, the HTTP
 * edge, which passes each request to the known-operation path or to `yoga`. It never listens:
 * `server.ts` and tests do.
 */
export function createApp(config: AppConfig, dependencies: AppDependencies, options: AppOptions = {}) {
  const { client, logger, rateLimiter, metrics } = dependencies;
  const plugins = [
    ...gatewayPlugins({ limits: config.limits, metrics, readiness: () => readiness(client, rateLimiter) }),
    ...(options.plugins ?? []),
  ];
  const prepared = preparePlugins(plugins);
  const shutdown = new AbortController();
  // Every upstream call in flight listens to it: no leak warning past ten of them.
  setMaxListeners(0, shutdown.signal);
  const contextFor = createContextFactory(config, dependencies, shutdown.signal);
  const graphiql = { title: 'ChatBotKit session gateway', defaultQuery: EXAMPLE_MUTATION };

  const yoga = createYoga<NodeServerContext, GraphQLContext>({
    schema: buildSubgraphSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    // The plugin list has its own document cache (src/plugins/use-document-cache.ts).
    parserAndValidationCache: false,
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
    plugins: prepared.plugins,
    context: ({ request, req }) => contextFor(request.headers, recordOf(req)),
  });
  prepared.check();

  const toYoga: NodeHandler = (request, response) => void yoga(request, response);
  const route =
    options.knownOperationPath === false
      ? toYoga
      : createKnownOperationPath({
          yoga,
          graphqlPath: GRAPHQL_PATH,
          corsEnabled: config.corsOrigins.length > 0,
          sendsToYoga: requestsForYoga(plugins),
          logger,
        });
  const handle = createEdge({
    logger,
    metrics,
    maxBodyBytes: config.limits.maxBodyBytes,
    route,
    clientAddress: createClientAddress(config.proxies),
    listenHost: config.host,
  });
  return {
    yoga,
    handle,
    /** At the drain deadline: cancels every upstream call in flight, which then answers `SHUTTING_DOWN`. */
    cancelRequests: () => shutdown.abort(),
  };
}

/** Each request's context: its caller, and what it records for the edge's report. */
function createContextFactory(
  config: AppConfig,
  { client, logger, service, rateLimiter }: AppDependencies,
  cancel: AbortSignal,
) {
  const authenticate = createAuthenticator(config.auth, logger);
  const sessionBudget = createSessionBudget(rateLimiter);
  return async (headers: HeaderReader, record: RequestRecord) => {
    const authentication = await authenticate(headers, record.clientAddress);
    const { caller } = authentication;
    record.callerId = caller?.id;
    record.authFailure = caller ? caller.refusal : authentication.reason;
    // Each request carries its own run-as user to the client: nothing shared, so callers never mix.
    const runAsUserId = caller?.runAsUserId ?? config.runAsUserId;
    if (caller) record.runAs = runAsUserId;
    return createContext({
      requestId: record.requestId,
      logger,
      service,
      authentication,
      conversationIdPrefixes: config.conversationIdPrefixes,
      sessionBudget,
      client,
      runAsUserId,
      traceHeaders: traceContextOf(headers),
      cancel,
      onUpstreamSettled: (outcome) => {
        record.upstream = outcome;
      },
      onResult: (typename) => {
        record.result = typename;
      },
    });
  };
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

// W3C trace context: lowercase hex, no version ff, no all-zero trace or parent id.
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
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
