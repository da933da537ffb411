import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { DEFAULT_BASE_URL } from './chatbotkit/client.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const AUTH_MODES = ['jwt', 'api-key', 'passthrough', 'none'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/**
 * Where sessions are minted: the built-in emulator (nothing configured), or an HTTP API,
 * ChatBotKit's own or anything that speaks its contract.
 */
export type UpstreamConfig = { kind: 'emulator' } | { kind: 'http'; baseUrl: string; secret: string | undefined };

/** Who may call, and how they prove it. */
export type AuthConfig =
  | { mode: 'none' }
  | { mode: 'passthrough' }
  | { mode: 'api-key'; keyHashes: readonly string[] }
  | {
      mode: 'jwt';
      /** Exactly one of `jwksUrl` (production) and `secret` (HS256, development). */
      jwksUrl: string | undefined;
      secret: string | undefined;
      issuer: string;
      audience: string;
      requiredScope: string;
      clockToleranceSeconds: number;
      /** Least time between two fetches of the key set, e.g. for an unknown `kid` after a rotation. */
      jwksCooldownSeconds: number;
      /** Claim listing the conversation ids (or `prefix*`) a caller may open. */
      conversationsClaim: string;
    };

/** How the gateway treats a slow or failing upstream (see the README's failure table). */
export interface ResilienceConfig {
  connectTimeoutMs: number;
  /** 0: only the call's deadline bounds the wait for headers, or for the body. */
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
  circuitThreshold: number;
  circuitHalfOpenAfterMs: number;
  maxConcurrent: number;
  maxQueued: number;
}

export interface LimitsConfig {
  graphiql: boolean;
  introspection: boolean;
  maxBodyBytes: number;
  /** Operation hash → document, from PERSISTED_OPERATIONS_FILE; when set, only these run. */
  persistedOperations: Readonly<Record<string, string>> | undefined;
  /** Sessions each caller may mint per window. */
  rateLimitPoints: number;
  rateLimitWindowSeconds: number;
  /** Shared rate-limit counters for several replicas; in memory when unset. */
  redisUrl: string | undefined;
}

export interface Config {
  port: number;
  host: string;
  upstream: UpstreamConfig;
  runAsUserId: string | undefined;
  timezone: string | undefined;
  upstreamTimeoutMs: number;
  resilience: ResilienceConfig;
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
  /** `json` lines, or `pretty` for people reading a terminal (needs the pino-pretty dev dependency). */
  logFormat: 'json' | 'pretty';
  /** Whether OTEL_* variables ask for traces; the SDK reads the rest of them itself. */
  tracing: boolean;
  production: boolean;
  /** Browser origins allowed to call the gateway (CORS); empty means same-origin only. */
  corsOrigins: readonly string[];
  auth: AuthConfig;
  /** Conversation id prefixes anyone may open; empty means no such restriction. */
  conversationIdPrefixes: readonly string[];
  limits: LimitsConfig;
  /** Problems that do not stop the gateway but that operators must see at start. */
  warnings: readonly string[];
}

/** Every problem found in the environment, one line each. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/** Reads variables and collects every problem, so that all are reported at once. */
class EnvReader {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  readonly #env: Env;

  constructor(env: Env) {
    this.#env = env;
  }

  string(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === '' ? undefined : value;
  }

  required(name: string, why: string): string {
    const value = this.string(name);
    if (value === undefined) this.problems.push(`${name} is required ${why}`);
    return value ?? '';
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name) ?? fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  }

  list(name: string): string[] {
    return (this.string(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  }

  /** A value sent as an HTTP header must be a legal header value, or every call fails later. */
  headerValue(name: string): string | undefined {
    const value = this.string(name);
    if (value !== undefined && !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value)) {
      this.problems.push(`${name} must be printable ASCII, as it is sent as an HTTP header`);
    }
    return value;
  }

  /** An absolute http(s) URL without credentials, query or fragment. */
  url(name: string, value: string): URL | undefined {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      this.problems.push(`${name} must be an absolute http(s) URL (got "${value}")`);
      return undefined;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      this.problems.push(`${name} must use http or https (got "${url.protocol}")`);
    } else if (url.username || url.password || url.search || url.hash) {
      this.problems.push(`${name} must not carry credentials, a query or a fragment`);
    } else {
      return url;
    }
    return undefined;
  }
}

/** Reads the environment once, at start; nothing else in the service reads `process.env`. */
export function loadConfig(env: Env): Readonly<Config> {
  const reader = new EnvReader(env);
  const production = reader.string('NODE_ENV') === 'production';
  const authMode = reader.string('AUTH_MODE') === undefined ? undefined : reader.oneOf('AUTH_MODE', AUTH_MODES, 'none');
  const upstream = readUpstream(reader, production, authMode);
  const timezone = reader.headerValue('CHATBOTKIT_TIMEZONE');
  if (timezone !== undefined && !isTimeZone(timezone)) {
    reader.problems.push(`CHATBOTKIT_TIMEZONE must be an IANA time zone such as "Europe/London" (got "${timezone}")`);
  }
  const host = reader.string('HOST') ?? '127.0.0.1';
  if (host !== 'localhost' && isIP(host) === 0) {
    reader.problems.push(`HOST must be an IP address such as 127.0.0.1, 0.0.0.0 or ::, or localhost (got "${host}")`);
  }

  const config: Config = {
    port: reader.integer('PORT', 4000, 0, 65_535),
    host,
    upstream,
    runAsUserId: reader.headerValue('CHATBOTKIT_RUNAS_USER_ID'),
    timezone,
    upstreamTimeoutMs: reader.integer('UPSTREAM_TIMEOUT_MS', 10_000, 100, 120_000),
    resilience: {
      connectTimeoutMs: reader.integer('UPSTREAM_CONNECT_TIMEOUT_MS', 2_000, 100, 60_000),
      headersTimeoutMs: reader.integer('UPSTREAM_HEADERS_TIMEOUT_MS', 0, 0, 120_000),
      bodyTimeoutMs: reader.integer('UPSTREAM_BODY_TIMEOUT_MS', 0, 0, 120_000),
      retries: reader.integer('UPSTREAM_RETRIES', 2, 0, 5),
      retryDelayMs: reader.integer('UPSTREAM_RETRY_DELAY_MS', 250, 10, 10_000),
      circuitThreshold: reader.integer('UPSTREAM_CIRCUIT_THRESHOLD', 5, 1, 1000),
      circuitHalfOpenAfterMs: reader.integer('UPSTREAM_CIRCUIT_HALF_OPEN_MS', 10_000, 100, 600_000),
      maxConcurrent: reader.integer('UPSTREAM_MAX_CONCURRENT', 256, 1, 10_000),
      maxQueued: reader.integer('UPSTREAM_MAX_QUEUED', 256, 0, 100_000),
    },
    shutdownTimeoutMs: reader.integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 300_000),
    logLevel: reader.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logFormat: reader.oneOf(
      'LOG_FORMAT',
      ['json', 'pretty'] as const,
      reader.string('NODE_ENV') === 'development' ? 'pretty' : 'json',
    ),
    tracing: wantsTracing(reader),
    production,
    corsOrigins: readCorsOrigins(reader),
    auth: readAuth(reader, authMode, upstream, production),
    conversationIdPrefixes: reader.list('CONVERSATION_ID_PREFIXES'),
    limits: readLimits(reader, production),
    warnings: reader.warnings,
  };
  // Retries may start only in the first half of the deadline; a connect timeout as long as
  // that leaves no room for the retry that a refused connection deserves.
  if (config.resilience.connectTimeoutMs * 2 > config.upstreamTimeoutMs / 2) {
    reader.problems.push(
      'UPSTREAM_CONNECT_TIMEOUT_MS must be at most a quarter of UPSTREAM_TIMEOUT_MS, or a failed connect could never be retried',
    );
  }
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return Object.freeze(config);
}

function wantsTracing(reader: EnvReader): boolean {
  if (reader.string('OTEL_SDK_DISABLED') === 'true') return false;
  const exporter = reader.string('OTEL_TRACES_EXPORTER');
  if (exporter !== undefined) return exporter !== 'none';
  return (
    reader.string('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined ||
    reader.string('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined
  );
}

function readUpstream(reader: EnvReader, production: boolean, authMode: AuthMode | undefined): UpstreamConfig {
  const apiUrl = reader.string('CHATBOTKIT_API_URL');
  const secret = reader.string('CHATBOTKIT_SECRET');
  // In passthrough mode callers bring their own ChatBotKit tokens, so no secret is needed.
  const callerCredentials = authMode === 'passthrough';
  if (apiUrl === undefined && secret === undefined && !(callerCredentials && production)) {
    if (production) {
      reader.problems.push(
        'NODE_ENV is production but CHATBOTKIT_SECRET is not set: refusing to serve sessions from the local emulator',
      );
    }
    return { kind: 'emulator' };
  }
  if (production && secret === undefined && !callerCredentials) {
    reader.problems.push('NODE_ENV is production but CHATBOTKIT_SECRET is not set: the ChatBotKit API needs it');
  }
  const baseUrl = apiUrl ?? DEFAULT_BASE_URL;
  const url = reader.url('CHATBOTKIT_API_URL', baseUrl);
  if (url && url.protocol === 'http:' && !isLoopback(url.hostname) && (secret !== undefined || callerCredentials)) {
    reader.problems.push(
      'CHATBOTKIT_API_URL is plain http to another host: credentials would cross the network unencrypted; use https',
    );
  }
  return { kind: 'http', baseUrl, secret };
}

function readAuth(
  reader: EnvReader,
  mode: AuthMode | undefined,
  upstream: UpstreamConfig,
  production: boolean,
): AuthConfig {
  if (mode === undefined) {
    if (upstream.kind === 'emulator') return { mode: 'none' };
    reader.problems.push(
      upstream.secret === undefined
        ? 'AUTH_MODE is not set: say who may call the gateway (jwt, api-key, passthrough, or none to accept anyone)'
        : 'CHATBOTKIT_SECRET is set but AUTH_MODE is not: anyone who reaches the gateway could mint sessions with the secret; set AUTH_MODE to jwt, api-key or passthrough',
    );
    return { mode: 'none' };
  }
  switch (mode) {
    case 'none':
      if (production)
        reader.problems.push('AUTH_MODE=none with NODE_ENV=production: refusing to let anyone mint sessions');
      else if (upstream.kind === 'http')
        reader.warnings.push('AUTH_MODE=none: anyone who can reach the gateway can mint sessions');
      return { mode };
    case 'passthrough':
      if (upstream.kind === 'http' && upstream.secret !== undefined) {
        reader.problems.push(
          'AUTH_MODE=passthrough forwards each caller’s own ChatBotKit token: unset CHATBOTKIT_SECRET, it would never be used',
        );
      }
      return { mode };
    case 'api-key':
      return { mode, keyHashes: readKeyHashes(reader) };
    case 'jwt':
      return readJwt(reader, production);
  }
}

function readKeyHashes(reader: EnvReader): string[] {
  const hashes = reader.list('GATEWAY_API_KEY_HASHES').map((hash) => hash.toLowerCase());
  if (hashes.length === 0)
    reader.problems.push(
      'GATEWAY_API_KEY_HASHES is required with AUTH_MODE=api-key (comma-separated SHA-256 hex digests)',
    );
  hashes.forEach((hash, index) => {
    // Never echo the value: an operator may have pasted a raw key instead of its hash.
    if (!/^[0-9a-f]{64}$/.test(hash))
      reader.problems.push(
        `GATEWAY_API_KEY_HASHES must hold 64-character SHA-256 hex digests (entry ${index + 1} is not one)`,
      );
  });
  return hashes;
}

function readJwt(reader: EnvReader, production: boolean): AuthConfig {
  const jwksUrl = reader.string('JWT_JWKS_URL');
  const secret = reader.string('JWT_SECRET');
  if ((jwksUrl === undefined) === (secret === undefined)) {
    reader.problems.push(
      'AUTH_MODE=jwt needs exactly one of JWT_JWKS_URL (key set URL) and JWT_SECRET (HS256, development only)',
    );
  }
  if (jwksUrl !== undefined) {
    const url = reader.url('JWT_JWKS_URL', jwksUrl);
    if (url && url.protocol === 'http:' && !isLoopback(url.hostname))
      reader.problems.push('JWT_JWKS_URL must use https');
  }
  if (secret !== undefined) {
    if (production)
      reader.problems.push(
        'JWT_SECRET (a shared HS256 secret) is for development; with NODE_ENV=production use JWT_JWKS_URL',
      );
    if (Buffer.byteLength(secret) < 32) reader.problems.push('JWT_SECRET must be at least 32 bytes');
  }
  return {
    mode: 'jwt',
    jwksUrl,
    secret,
    issuer: reader.required('JWT_ISSUER', 'with AUTH_MODE=jwt (the expected "iss")'),
    audience: reader.required('JWT_AUDIENCE', 'with AUTH_MODE=jwt (the expected "aud")'),
    requiredScope: reader.string('JWT_REQUIRED_SCOPE') ?? 'conversation-session:create',
    clockToleranceSeconds: reader.integer('JWT_CLOCK_TOLERANCE_SECONDS', 5, 0, 300),
    jwksCooldownSeconds: reader.integer('JWT_JWKS_COOLDOWN_SECONDS', 30, 0, 3600),
    conversationsClaim: reader.string('JWT_CONVERSATIONS_CLAIM') ?? 'conversations',
  };
}

function readLimits(reader: EnvReader, production: boolean): LimitsConfig {
  const redisUrl = reader.string('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\/./.test(redisUrl))
    reader.problems.push('REDIS_URL must start with redis:// or rediss://');
  return {
    graphiql: reader.boolean('GRAPHIQL', !production),
    introspection: reader.boolean('INTROSPECTION', !production),
    maxBodyBytes: reader.integer('MAX_BODY_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    persistedOperations: readAllowList(reader),
    rateLimitPoints: reader.integer('RATE_LIMIT_POINTS', 60, 1, 1_000_000_000),
    rateLimitWindowSeconds: reader.integer('RATE_LIMIT_WINDOW_SECONDS', 60, 1, 86_400),
    redisUrl,
  };
}

function readAllowList(reader: EnvReader): Record<string, string> | undefined {
  const file = reader.string('PERSISTED_OPERATIONS_FILE');
  if (file === undefined) return undefined;
  try {
    const operations: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const entries = typeof operations === 'object' && operations !== null ? Object.entries(operations) : [];
    if (entries.length === 0 || entries.some(([, document]) => typeof document !== 'string')) throw new Error('shape');
    return Object.fromEntries(entries) as Record<string, string>;
  } catch {
    reader.problems.push(
      `PERSISTED_OPERATIONS_FILE must be a readable JSON object of { "<hash>": "<GraphQL document>" } (got "${file}")`,
    );
    return undefined;
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || (isIP(hostname) === 4 && hostname.startsWith('127.'));
}

function readCorsOrigins(reader: EnvReader): string[] {
  const origins = reader.list('CORS_ORIGINS');
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) {
      reader.problems.push(
        `CORS_ORIGINS must list origins such as https://app.example.com, without paths or "*" (got "${origin}")`,
      );
    }
  }
  return origins;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
