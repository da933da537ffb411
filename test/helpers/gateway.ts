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
import { createRateLimiter, type RateLimiter } from '../../src/rate-limit.ts';

export interface TestGateway {
  /** `http://127.0.0.1:<port>/graphql` */
  url: string;
  app: App;
  client: ConversationSessionClient;
  rateLimiter: RateLimiter;
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
}

/** The real app on a real port, over a real client to `baseUrl`, with its log lines captured. */
export async function startGateway(baseUrl: string, options: TestGatewayOptions = {}): Promise<TestGateway> {
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
  const client = options.client ?? new ConversationSessionClient({ timeout: 2_000, ...options, baseUrl });
  const defaults = loadConfig({});
  // Tests send many requests from one address; only the rate-limit tests set a small budget.
  const limits: LimitsConfig = { ...defaults.limits, rateLimitPoints: 1_000_000, ...options.config?.limits };
  const config: AppConfig = { ...defaults, ...options.config, limits };
  const rateLimiter = createRateLimiter({
    points: limits.rateLimitPoints,
    durationSeconds: limits.rateLimitWindowSeconds,
    redisUrl: limits.redisUrl,
  });
  const app = createApp(config, {
    client,
    logger,
    rateLimiter,
    metrics: new GatewayMetrics(),
    service: { version: 'test', upstream: options.upstream ?? 'CUSTOM' },
  });
  const server = createServer(app.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${GRAPHQL_PATH}`,
    app,
    client,
    rateLimiter,
    logs,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await client.close();
      await rateLimiter.close();
    },
  };
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
