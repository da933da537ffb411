import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import packageJson from '../package.json' with { type: 'json' };
import { type App, createApp } from './app.ts';
import { ConversationSessionClient } from './chatbotkit/conversation-session.ts';
import { startEmulator } from './chatbotkit/emulator.ts';
import { DEFAULT_BASE_URL } from './chatbotkit/options.ts';
import { parseCommandLine } from './cli.ts';
import type { Environment } from './config/env-schema.ts';
import { helpText } from './config/variables-table.ts';
import { type Config, ConfigError, loadProcessConfig } from './config.ts';
import type { ServiceInfo, UpstreamKind } from './context.ts';
import { recordOf } from './http/request-record.ts';
import { createLogger } from './logger.ts';
import { GatewayMetrics } from './observability/metrics.ts';
import { startTracing } from './observability/tracing.ts';
import { createRateLimiter } from './rate-limit.ts';
import { GraphQLErrorCode, SHUTTING_DOWN_MESSAGE } from './schema/errors.ts';

const NAME = 'chatbotkit-session-gateway';

/** Process entry: read config, connect the upstream, serve, and drain on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const overrides = readCommandLine();
  if (!overrides) return;
  const config = loadConfigOrExit(overrides);
  const service: ServiceInfo = { version: packageJson.version, upstream: upstreamKind(config) };
  const tracing = config.tracing ? await startTracing() : undefined;
  const logger = createLogger(config.logLevel, {
    format: config.logFormat,
    scrub: config.secrets,
  });
  for (const warning of config.warnings) logger.warn(warning);

  const emulator = config.upstream.kind === 'emulator' ? await startEmulator() : undefined;
  if (emulator) {
    logger.warn(
      { emulator: emulator.url },
      'NOT TALKING TO CHATBOTKIT: no CHATBOTKIT_SECRET or CHATBOTKIT_API_URL is set, ' +
        'so sessions come from the built-in local emulator and their tokens work nowhere else',
    );
  }
  const metrics = new GatewayMetrics(service);
  const client = createUpstreamClient(config, emulator?.url, logger, metrics);
  const rateLimiter = createRateLimiter({
    points: config.limits.rateLimitPoints,
    durationSeconds: config.limits.rateLimitWindowSeconds,
    failedAuthPoints: config.limits.failedAuthPoints,
    redisUrl: config.limits.redisUrl,
    onRedisError: (error) =>
      logger.warn({ err: error }, 'rate-limit Redis unavailable: limiting per replica meanwhile'),
  });
  const app = createApp(config, {
    client,
    logger,
    rateLimiter,
    metrics,
    service,
  });
  const http = serve(app, config, logger, service);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, timeoutMs: config.shutdownTimeoutMs },
      'draining: no new connections, waiting for requests in flight',
    );
    await http.drain(config.shutdownTimeoutMs);
    await app.yoga.dispose();
    await client.close();
    await rateLimiter.close();
    await tracing?.shutdown();
    await emulator?.close();
    logger.info({ upstreamPoolOpen: client.isOpen }, 'stopped');
    logger.flush(() => process.exit(0));
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * Before anything starts: usage and the variables for `--help`, the version for `--version`, a
 * refusal for an argument the gateway does not take; otherwise the variables the command line
 * sets (`--port`).
 */
function readCommandLine(): Environment | undefined {
  const command = parseCommandLine(process.argv.slice(2));
  switch (command.action) {
    case 'help':
      process.stdout.write(helpText());
      return undefined;
    case 'version':
      process.stdout.write(`${packageJson.version}\n`);
      return undefined;
    case 'serve':
      return command.overrides;
    case 'refuse':
      console.error(`${NAME}: ${command.problem}`);
      process.exit(1);
  }
}

function loadConfigOrExit(overrides: Environment): Readonly<Config> {
  try {
    return loadProcessConfig(overrides);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${NAME}: ${error.message}\n(npm start -- --help lists every variable)`);
    process.exit(1);
  }
}

function createUpstreamClient(
  config: Readonly<Config>,
  emulatorUrl: string | undefined,
  logger: Logger,
  metrics: GatewayMetrics,
): ConversationSessionClient {
  const { resilience } = config;
  return new ConversationSessionClient({
    baseUrl: emulatorUrl ?? (config.upstream.kind === 'http' ? config.upstream.baseUrl : undefined),
    secret: config.upstream.kind === 'http' ? config.upstream.secret : undefined,
    runAsUserId: config.runAsUserId,
    timezone: config.timezone,
    timeout: config.upstreamTimeoutMs,
    connectTimeout: resilience.connectTimeoutMs,
    headersTimeout: resilience.headersTimeoutMs,
    bodyTimeout: resilience.bodyTimeoutMs,
    retries: resilience.retries,
    retryDelay: resilience.retryDelayMs,
    circuitThreshold: resilience.circuitThreshold,
    circuitHalfOpenAfter: resilience.circuitHalfOpenAfterMs,
    connections: resilience.maxConcurrent,
    maxConcurrent: resilience.maxConcurrent,
    maxQueued: resilience.maxQueued,
    onCircuitChange: (state) => {
      metrics.circuitChanged(state);
      logger[state === 'open' ? 'error' : 'warn']({ circuit: state }, `circuit to the ChatBotKit API is ${state}`);
    },
  });
}

/**
 * Listens, with bounds on slow clients and on connections, and knows how to drain: refuse new
 * connections, close kept-alive ones, bound the wait.
 */
function serve(app: App, config: Readonly<Config>, logger: Logger, service: ServiceInfo) {
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  const timeouts = {
    // A client that trickles its headers or body is answered 408 and closed (Node's default waits 300 s).
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // How often Node looks for such clients (default 30 s, which would stretch a 10 s limit to 40 s).
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(config.headersTimeoutMs / 4))),
  };
  const server = createServer(timeouts, (request, response) => {
    // While draining, every answer tells the client to close its connection.
    if (draining) response.shouldKeepAlive = false;
    inFlight.add(response);
    response.on('close', () => inFlight.delete(response));
    app.handle(request, response);
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    logger.fatal({ address: config.host, port: config.port, code: error.code }, listenProblem(error, config));
    logger.flush(() => process.exit(1));
  });
  // Connections beyond it are closed as they arrive, before they cost a request.
  server.maxConnections = config.maxConnections;
  server.listen(config.port, config.host, () => {
    const { address, port } = server.address() as AddressInfo;
    const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/graphql`;
    logger.info({ url, ...service }, 'gateway listening');
  });

  /**
   * Requests still running at the deadline do not hold the process: their upstream calls are
   * cancelled, so that they answer 503 `SHUTTING_DOWN` themselves; whatever still has no answer
   * a moment later (waiting for something else) gets that answer here, then every connection closes.
   */
  const drain = async (timeoutMs: number): Promise<void> => {
    draining = true;
    for (const response of inFlight) response.shouldKeepAlive = false;
    let cutOff: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      logger.warn({ requests: inFlight.size }, 'drain deadline reached: answering the requests in flight 503');
      app.cancelRequests();
      cutOff = setTimeout(() => {
        for (const response of inFlight) answerShuttingDown(response);
        server.closeAllConnections();
      }, CANCELLED_ANSWER_GRACE_MS).unref();
    }, timeoutMs).unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearTimeout(deadline);
    clearTimeout(cutOff);
  };
  return { drain };
}

/** One line and no stack: what could not be bound, why, and what to do about it. */
function listenProblem({ code, message }: NodeJS.ErrnoException, { host, port }: Readonly<Config>): string {
  const where = `cannot listen on ${host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return `${where}: the port is already in use; stop what listens there, or set PORT (or --port) to a free port`;
    case 'EACCES':
      return `${where}: permission denied (ports below 1024 need privileges); set PORT (or --port) to 1024 or above`;
    case 'EADDRNOTAVAIL':
      return `${where}: this host has no such address; set HOST to one of its addresses, 0.0.0.0 or ::`;
    default:
      return `${where}: ${message}`;
  }
}

// Time for cancelled requests to write their own answers before the rest are answered here.
const CANCELLED_ANSWER_GRACE_MS = 500;

/** The edge logs this answer like any other: 503, `SHUTTING_DOWN`. */
function answerShuttingDown(response: ServerResponse): void {
  if (response.headersSent) return;
  recordOf(response.req).errorCodes = [GraphQLErrorCode.ShuttingDown];
  const body = JSON.stringify({
    errors: [{ message: SHUTTING_DOWN_MESSAGE, extensions: { code: GraphQLErrorCode.ShuttingDown } }],
  });
  response.writeHead(503, { 'content-type': 'application/json; charset=utf-8', connection: 'close' }).end(body);
}

function upstreamKind(config: Config): UpstreamKind {
  if (config.upstream.kind === 'emulator') return 'EMULATOR';
  return new URL(config.upstream.baseUrl).origin === DEFAULT_BASE_URL ? 'CHATBOTKIT' : 'CUSTOM';
}

await main();
