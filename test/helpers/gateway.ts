import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { type App, type AppConfig, createApp, GRAPHQL_PATH } from '../../src/app.ts';
import type { ChatBotKitClientOptions } from '../../src/chatbotkit/client.ts';
import { ConversationSessionClient } from '../../src/chatbotkit/conversation-session.ts';
import { type LimitsConfig, loadConfig } from '../../src/config.ts';
import type { UpstreamKind } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { GatewayMetrics } from '../../src/observability/metrics.ts';
import type { PluginEntry } from '../../src/plugins/index.ts';
import { createRateLimiter, type RateLimiter } from '../../src/rate-limit.ts';

export interface TestGateway {
  /** `http://127.0.0.1:<port>/graphql` */
  url: string;
  app: App;
  client: ConversationSessionClient;
  rateLimiter: RateLimiter;
  metrics: GatewayMetrics;
  /** Every log line the gateway wrote, as text. */
  logs: string[];
  close(): Promise<void>;
}

export interface TestGatewayOptions extends Omit<ChatBotKitClientOptions, 'baseUrl'> {
  upstream?: UpstreamKind;
  /** Overrides of the development defaults (`loadConfig({})`); limits merge field by field. */
  config?: Partial<Omit<AppConfig, 'limits'>> & { limits?: Partial<LimitsConfig> };
  /** A client of the test's own making (e.g. one that fails like a bug), instead of one to `baseUrl`. */
  client?: ConversationSessionClient;
  /** `false` sends every request to Yoga, as `createApp`'s option does: to compare the two paths. */
  knownOperationPath?: boolean;
  /** Plugin entries after the gateway's own, as `createApp`'s option adds them. */
  plugins?: PluginEntry[];
}

/**
 * The real app on a real port, over a real client to `baseUrl`, with its log lines captured.
 * The one way tests start a gateway in their own process; `withGateway` and `startGatewayPair`
 * build on it.
 */
export async function startGateway(baseUrl: string, options: TestGatewayOptions = {}): Promise<TestGateway> {
  const { upstream, config: overrides, client: ownClient, knownOperationPath, plugins, ...clientOptions } = options;
  const logs: string[] = [];
  const logger = createLogger('debug', {
    scrub: [options.secret],
    destination: new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  });
  const client = ownClient ?? new ConversationSessionClient({ timeout: 2_000, ...clientOptions, baseUrl });
  const defaults = loadConfig({});
  // Tests send many requests from one address; only the rate-limit tests set a small budget.
  const limits: LimitsConfig = {
    ...defaults.limits,
    rateLimitPoints: 1_000_000,
    failedAuthPoints: 1_000_000,
    ...overrides?.limits,
  };
  const config: AppConfig = { ...defaults, ...overrides, limits };
  const rateLimiter = createRateLimiter({
    points: limits.rateLimitPoints,
    durationSeconds: limits.rateLimitWindowSeconds,
    failedAuthPoints: limits.failedAuthPoints,
    redisUrl: limits.redisUrl,
  });
  const metrics = new GatewayMetrics({ version: 'test' });
  let app: App;
  try {
    app = createApp(
      config,
      { client, logger, rateLimiter, metrics, service: { version: 'test', upstream: upstream ?? 'CUSTOM' } },
      { ...(plugins && { plugins }), ...(knownOperationPath !== undefined && { knownOperationPath }) },
    );
  } catch (error) {
    // A plugin list `createApp` refuses: nothing listens, and nothing may stay open either.
    await client.close();
    await rateLimiter.close();
    throw error;
  }
  const server = createServer(app.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${GRAPHQL_PATH}`,
    app,
    client,
    rateLimiter,
    metrics,
    logs,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await client.close();
      await rateLimiter.close();
    },
  };
}

/** Runs `run` against a gateway started for it, and closes the gateway however `run` ends. */
export async function withGateway(
  baseUrl: string,
  options: TestGatewayOptions,
  run: (gateway: TestGateway) => Promise<void>,
): Promise<void> {
  const gateway = await startGateway(baseUrl, options);
  try {
    await run(gateway);
  } finally {
    await gateway.close();
  }
}

/** Two gateways alike but for the request path: `known` has the known-operation path, `yogaOnly` sends all to Yoga. */
export interface GatewayPair {
  known: TestGateway;
  yogaOnly: TestGateway;
  close(): Promise<void>;
}

/** Starts a gateway with the known-operation path and one without it, with the same options and upstream. */
export async function startGatewayPair(baseUrl: string, options: TestGatewayOptions = {}): Promise<GatewayPair> {
  const known = await startGateway(baseUrl, options);
  const yogaOnly = await startGateway(baseUrl, { ...options, knownOperationPath: false }).catch(async (error) => {
    await known.close();
    throw error;
  });
  return {
    known,
    yogaOnly,
    close: async () => {
      await known.close();
      await yogaOnly.close();
    },
  };
}

/** `gateway_known_operation_requests_total`, as Prometheus scrapes it from `/metrics`. */
export async function knownOperationCount(gateway: TestGateway): Promise<number> {
  const text = await (await fetch(new URL('/metrics', gateway.url))).text();
  const value = /^gateway_known_operation_requests_total (\d+)$/m.exec(text)?.[1];
  if (value === undefined) throw new Error('/metrics has no gateway_known_operation_requests_total');
  return Number(value);
}

/**
 * The access line of the request with this `x-request-id`, once the edge has written it (when
 * the response closes, just after the metrics are counted).
 */
export async function accessLine(gateway: TestGateway, requestId: string): Promise<Record<string, unknown>> {
  const needle = `"requestId":"${requestId}"`;
  const started = performance.now();
  for (;;) {
    const line = gateway.logs.find((entry) => entry.includes(needle) && entry.includes('"msg":"request"'));
    if (line) return JSON.parse(line) as Record<string, unknown>;
    if (performance.now() - started > 2_000) throw new Error(`no access line for request ${requestId}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

export interface GraphQLResponse {
  status: number;
  headers: Headers;
  body: {
    // biome-ignore lint/suspicious/noExplicitAny: tests read the data as a client would, unchecked.
    data?: Record<string, any> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

/** POSTs a GraphQL operation the way a client would. */
export async function postGraphQL(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as GraphQLResponse['body'],
  };
}

export const CREATE_SESSION = /* GraphQL */ `
  mutation CreateSession($input: CreateConversationSessionInput!) {
    createConversationSession(input: $input) {
      __typename
      ... on ConversationSession { conversationId token expiresAt }
      ... on Error { code message }
      ... on InvalidInputError { field }
      ... on ConversationNotFoundError { conversationId }
      ... on RateLimitedError { retryAfterSeconds }
    }
  }
`;
