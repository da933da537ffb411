import type { AuthConfig } from './auth/options.ts';
import type { ChatBotKitOptions } from './chatbotkit/options.ts';
import { type Environment, parseEnvironment } from './config/env-schema.ts';
import {
  chooseAuth,
  chooseUpstream,
  clientTimeouts,
  type Findings,
  nodeEnv,
  upstreamTimeouts,
} from './config/policy.ts';
import { VARIABLES, type Variables } from './config/variables.ts';
import type { ProxyOptions } from './http/options.ts';
import type { LimitsConfig } from './limits/options.ts';
import type { ObservabilityOptions } from './observability/options.ts';

// The option types moved beside their features; re-exported while other code still imports them from here.
export type { AuthConfig, AuthMode } from './auth/options.ts';
export type { ResilienceConfig, UpstreamConfig } from './chatbotkit/options.ts';
export type { LimitsConfig } from './limits/options.ts';
export type { LogLevel } from './observability/options.ts';

export interface Config extends ChatBotKitOptions, ObservabilityOptions {
  port: number;
  host: string;
  shutdownTimeoutMs: number;
  /** How long a client may take to send a request's headers, and the whole request. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Open client connections at most. */
  maxConnections: number;
  production: boolean;
  /** Browser origins allowed to call the gateway (CORS); empty means same-origin only. */
  corsOrigins: readonly string[];
  auth: AuthConfig;
  /** Conversation id prefixes anyone may open; empty means no such restriction. */
  conversationIdPrefixes: readonly string[];
  limits: LimitsConfig;
  /** Proxies trusted to name the client (TRUSTED_PROXIES); none by default. */
  proxies: ProxyOptions;
  /** Problems that do not stop the gateway but that operators must see at start. */
  warnings: readonly string[];
  /** Every secret the variables hold, in each form a log line may carry it: the logger scrubs them all. */
  secrets: readonly string[];
}

/** Every problem found in the environment, one line each. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.problems = problems;
  }
}

/**
 * The process's configuration, from its environment (the one place that reads `process.env`)
 * and the command line's `overrides` (`--port`).
 */
export function loadProcessConfig(overrides: Environment = {}): Readonly<Config> {
  return loadConfig({ ...process.env, ...overrides });
}

/** Reads the environment once, at start; nothing else in the service reads `process.env`. */
export function loadConfig(env: Environment): Readonly<Config> {
  const { values, problems, reported, secrets } = parseEnvironment(VARIABLES, env);
  const found: Findings = { problems, warnings: [], reported };
  const mode = nodeEnv(values.NODE_ENV, found);
  const production = mode === 'production';
  const upstream = chooseUpstream(values, production, found);
  const introspection = values.INTROSPECTION ?? !production;
  const { timeoutMs, connectTimeoutMs } = upstreamTimeouts(values, found);
  const config: Config = {
    port: values.PORT,
    host: values.HOST,
    upstream,
    runAsUserId: values.CHATBOTKIT_RUNAS_USER_ID,
    timezone: values.CHATBOTKIT_TIMEZONE,
    upstreamTimeoutMs: timeoutMs,
    resilience: {
      connectTimeoutMs,
      headersTimeoutMs: values.UPSTREAM_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: values.UPSTREAM_BODY_TIMEOUT_MS,
      retries: values.UPSTREAM_RETRIES,
      retryDelayMs: values.UPSTREAM_RETRY_DELAY_MS,
      circuitThreshold: values.UPSTREAM_CIRCUIT_THRESHOLD,
      circuitHalfOpenAfterMs: values.UPSTREAM_CIRCUIT_HALF_OPEN_MS,
      maxConcurrent: values.UPSTREAM_MAX_CONCURRENT,
      maxQueued: values.UPSTREAM_MAX_QUEUED,
    },
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
    ...clientTimeouts(values, found),
    maxConnections: values.MAX_CONNECTIONS,
    logLevel: values.LOG_LEVEL,
    logFormat: values.LOG_FORMAT ?? (mode === 'development' ? 'pretty' : 'json'),
    tracing: wantsTracing(values),
    production,
    corsOrigins: values.CORS_ORIGINS,
    auth: chooseAuth(values, upstream, production, found),
    conversationIdPrefixes: values.CONVERSATION_ID_PREFIXES,
    limits: {
      graphiql: values.GRAPHIQL ?? !production,
      introspection,
      routerSecret: values.ROUTER_SHARED_SECRET,
      // Outside production _service stays open; in production it is introspection by another name.
      anonymousService: !production || introspection,
      maxBodyBytes: values.MAX_BODY_BYTES,
      persistedOperations: values.PERSISTED_OPERATIONS_FILE,
      rateLimitPoints: values.RATE_LIMIT_POINTS,
      rateLimitWindowSeconds: values.RATE_LIMIT_WINDOW_SECONDS,
      failedAuthPoints: values.RATE_LIMIT_FAILED_AUTH_POINTS,
      redisUrl: values.REDIS_URL,
    },
    proxies: { trusted: values.TRUSTED_PROXIES, header: values.TRUSTED_PROXY_HEADER },
    warnings: found.warnings,
    secrets,
  };
  if (found.problems.length > 0) throw new ConfigError(found.problems);
  return Object.freeze(config);
}

/** The names `loadConfig` reads, in the order of the table of variables. */
export const VARIABLE_NAMES: readonly string[] = Object.keys(VARIABLES.entries);

function wantsTracing(values: Variables): boolean {
  if (values.OTEL_SDK_DISABLED === 'true') return false;
  if (values.OTEL_TRACES_EXPORTER !== undefined) return values.OTEL_TRACES_EXPORTER !== 'none';
  return values.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || values.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined;
}
