import type { Logger } from 'pino';
import packageJson from '../package.json' with { type: 'json' };
import { createApp } from './app.ts';
import { ConversationSessionClient } from './chatbotkit/conversation-session.ts';
import { startEmulator } from './chatbotkit/emulator.ts';
import { DEFAULT_BASE_URL } from './chatbotkit/options.ts';
import { parseCommandLine } from './cli.ts';
import type { Environment } from './config/env-schema.ts';
import { helpText } from './config/variables-table.ts';
import { type Config, ConfigError, loadProcessConfig } from './config.ts';
import type { ServiceInfo, UpstreamKind } from './context.ts';
import { serve } from './http/serve.ts';
import { createLogger } from './logger.ts';
import { GatewayMetrics } from './observability/metrics.ts';
import { startTracing } from './observability/tracing.ts';
import { createRateLimiter } from './rate-limit.ts';

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

function upstreamKind(config: Config): UpstreamKind {
  if (config.upstream.kind === 'emulator') return 'EMULATOR';
  return new URL(config.upstream.baseUrl).origin === DEFAULT_BASE_URL ? 'CHATBOTKIT' : 'CUSTOM';
}

await main();
