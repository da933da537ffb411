import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const KEY_HASH = 'a'.repeat(64);
const API_KEY_AUTH = { AUTH_MODE: 'api-key', GATEWAY_API_KEY_HASHES: KEY_HASH };

const JWT_AUTH = {
  AUTH_MODE: 'jwt',
  JWT_SECRET: 'x'.repeat(32),
  JWT_ISSUER: 'https://issuer.example',
  JWT_AUDIENCE: 'gateway',
};

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('defaults to a local, loopback-only gateway on the emulator', () => {
    expect(loadConfig({})).toEqual({
      port: 4000,
      host: '127.0.0.1',
      upstream: { kind: 'emulator' },
      runAsUserId: undefined,
      timezone: undefined,
      upstreamTimeoutMs: 10_000,
      resilience: {
        connectTimeoutMs: 2_000,
        headersTimeoutMs: 0,
        bodyTimeoutMs: 0,
        retries: 2,
        retryDelayMs: 250,
        circuitThreshold: 5,
        circuitHalfOpenAfterMs: 10_000,
        maxConcurrent: 256,
        maxQueued: 256,
      },
      shutdownTimeoutMs: 10_000,
      logLevel: 'info',
      logFormat: 'json',
      tracing: false,
      production: false,
      corsOrigins: [],
      auth: { mode: 'none' },
      conversationIdPrefixes: [],
      limits: {
        graphiql: true,
        introspection: true,
        maxBodyBytes: 65_536,
        persistedOperations: undefined,
        rateLimitPoints: 60,
        rateLimitWindowSeconds: 60,
        redisUrl: undefined,
      },
      proxies: { trusted: [], header: 'x-forwarded-for' },
      warnings: [],
    });
  });

  it('switches to the ChatBotKit API when a secret is set', () => {
    const config = loadConfig({
      ...API_KEY_AUTH,
      CHATBOTKIT_SECRET: 'sk-1',
      CHATBOTKIT_RUNAS_USER_ID: 'u1',
      CHATBOTKIT_TIMEZONE: 'Asia/Tokyo',
    });
    expect(config.upstream).toEqual({ kind: 'http', baseUrl: 'https://api.chatbotkit.com', secret: 'sk-1' });
    expect(config).toMatchObject({ runAsUserId: 'u1', timezone: 'Asia/Tokyo' });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT must be a whole number from 0 to 65535/],
    [{ PORT: '70000' }, /^PORT must be/],
    [{ UPSTREAM_TIMEOUT_MS: '5' }, /^UPSTREAM_TIMEOUT_MS must be a whole number from 100 to 120000/],
    [{ UPSTREAM_RETRIES: '9' }, /^UPSTREAM_RETRIES must be a whole number from 0 to 5/],
    [
      { UPSTREAM_TIMEOUT_MS: '4000', UPSTREAM_CONNECT_TIMEOUT_MS: '2000' },
      /^UPSTREAM_CONNECT_TIMEOUT_MS must be at most a quarter of UPSTREAM_TIMEOUT_MS/,
    ],
    [{ UPSTREAM_MAX_CONCURRENT: '0' }, /^UPSTREAM_MAX_CONCURRENT must be a whole number from 1 to 10000/],
    [{ SHUTDOWN_TIMEOUT_MS: '-1' }, /^SHUTDOWN_TIMEOUT_MS must be/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ CHATBOTKIT_TIMEZONE: 'Mars/Olympus' }, /^CHATBOTKIT_TIMEZONE must be an IANA time zone/],
    [{ AUTH_MODE: 'none', CHATBOTKIT_API_URL: 'not a url' }, /^CHATBOTKIT_API_URL must be an absolute http\(s\) URL/],
    [{ AUTH_MODE: 'none', CHATBOTKIT_API_URL: 'ftp://example.com' }, /^CHATBOTKIT_API_URL must use http or https/],
    [
      { AUTH_MODE: 'none', CHATBOTKIT_API_URL: 'https://user:pw@example.com' },
      /^CHATBOTKIT_API_URL must not carry credentials/,
    ],
    [
      { ...API_KEY_AUTH, CHATBOTKIT_API_URL: 'http://cbk.example.com', CHATBOTKIT_SECRET: 's' },
      /credentials would cross the network unencrypted/,
    ],
    [{ NODE_ENV: 'production' }, /^NODE_ENV is production but CHATBOTKIT_SECRET is not set/],
    [
      { ...API_KEY_AUTH, CHATBOTKIT_API_URL: 'http://127.attacker.example', CHATBOTKIT_SECRET: 's' },
      /credentials would cross the network unencrypted/,
    ],
    [{ HOST: '999.1.1.1' }, /^HOST must be an IP address/],
    [{ HOST: 'example.com' }, /^HOST must be an IP address/],
    [{ CHATBOTKIT_RUNAS_USER_ID: 'user\u0001x' }, /^CHATBOTKIT_RUNAS_USER_ID must be printable ASCII/],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, /^CORS_ORIGINS must list origins/],
    [{ CORS_ORIGINS: '*' }, /^CORS_ORIGINS must list origins/],
    [
      { CHATBOTKIT_SECRET: 'sk' },
      /^CHATBOTKIT_SECRET is set but AUTH_MODE is not: anyone who reaches the gateway could mint sessions/,
    ],
    [{ CHATBOTKIT_API_URL: 'https://proxy.example' }, /^AUTH_MODE is not set/],
    [{ AUTH_MODE: 'magic' }, /^AUTH_MODE must be one of jwt, api-key, passthrough, none/],
    [
      { AUTH_MODE: 'none', NODE_ENV: 'production', CHATBOTKIT_SECRET: 'sk' },
      /^AUTH_MODE=none with NODE_ENV=production: refusing/,
    ],
    [
      { AUTH_MODE: 'passthrough', CHATBOTKIT_SECRET: 'sk' },
      /^AUTH_MODE=passthrough forwards each caller’s own ChatBotKit token: unset CHATBOTKIT_SECRET/,
    ],
    [{ AUTH_MODE: 'api-key' }, /^GATEWAY_API_KEY_HASHES is required with AUTH_MODE=api-key/],
    [
      { AUTH_MODE: 'api-key', GATEWAY_API_KEY_HASHES: 'plain-text-key' },
      /^GATEWAY_API_KEY_HASHES must hold 64-character SHA-256 hex digests \(entry 1 is not one\)$/,
    ],
    [{ ...JWT_AUTH, JWT_SECRET: undefined }, /^AUTH_MODE=jwt needs exactly one of JWT_JWKS_URL/],
    [{ ...JWT_AUTH, JWT_JWKS_URL: 'https://issuer.example/jwks' }, /^AUTH_MODE=jwt needs exactly one of JWT_JWKS_URL/],
    [{ ...JWT_AUTH, JWT_SECRET: 'short' }, /^JWT_SECRET must be at least 32 bytes/],
    [{ ...JWT_AUTH, JWT_ISSUER: undefined }, /^JWT_ISSUER is required with AUTH_MODE=jwt/],
    [{ ...JWT_AUTH, JWT_AUDIENCE: undefined }, /^JWT_AUDIENCE is required with AUTH_MODE=jwt/],
    [
      { ...JWT_AUTH, JWT_SECRET: undefined, JWT_JWKS_URL: 'http://issuer.example/jwks' },
      /^JWT_JWKS_URL must use https/,
    ],
    [
      { ...JWT_AUTH, NODE_ENV: 'production', CHATBOTKIT_SECRET: 'sk' },
      /^JWT_SECRET \(a shared HS256 secret\) is for development/,
    ],
    [{ GRAPHIQL: 'maybe' }, /^GRAPHIQL must be true or false/],
    [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL must start with redis:\/\//],
    [{ TRUSTED_PROXIES: 'nginx' }, /^TRUSTED_PROXIES must list your proxies' IP addresses or CIDR ranges .*"nginx"/],
    [{ TRUSTED_PROXY_HEADER: 'x-real-ip' }, /^TRUSTED_PROXY_HEADER must be one of x-forwarded-for, forwarded/],
    [
      { PERSISTED_OPERATIONS_FILE: '/nonexistent/ops.json' },
      /^PERSISTED_OPERATIONS_FILE must be a readable JSON object/,
    ],
    [
      { ...API_KEY_AUTH, NODE_ENV: 'production', CHATBOTKIT_API_URL: 'https://proxy.example' },
      /^NODE_ENV is production but CHATBOTKIT_SECRET is not set/,
    ],
  ])('refuses %j with one clear message', (env, message) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('turns GraphiQL and introspection off in production unless asked for', () => {
    const production = loadConfig({ NODE_ENV: 'production', CHATBOTKIT_SECRET: 's', ...API_KEY_AUTH });
    expect(production.limits).toMatchObject({ graphiql: false, introspection: false });
    const explicit = loadConfig({
      NODE_ENV: 'production',
      CHATBOTKIT_SECRET: 's',
      ...API_KEY_AUTH,
      GRAPHIQL: 'true',
      INTROSPECTION: '1',
    });
    expect(explicit.limits).toMatchObject({ graphiql: true, introspection: true });
  });

  it('warns, but starts, with AUTH_MODE=none in front of a real upstream outside production', () => {
    expect(loadConfig({ AUTH_MODE: 'none', CHATBOTKIT_SECRET: 'sk' }).warnings).toEqual([
      'AUTH_MODE=none: anyone who can reach the gateway can mint sessions',
    ]);
  });

  it('lets passthrough run in production without a secret, against ChatBotKit', () => {
    expect(loadConfig({ AUTH_MODE: 'passthrough', NODE_ENV: 'production' }).upstream).toEqual({
      kind: 'http',
      baseUrl: 'https://api.chatbotkit.com',
      secret: undefined,
    });
  });

  it('logs pretty only in development or when asked', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).logFormat).toBe('pretty');
    expect(loadConfig({ NODE_ENV: 'development', LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(problemsOf({ LOG_FORMAT: 'xml' })[0]).toMatch(/^LOG_FORMAT must be one of json, pretty/);
  });

  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, false],
  ])('traces when the OTEL_* variables %j ask for it: %s', (env, tracing) => {
    expect(loadConfig(env).tracing).toBe(tracing);
  });

  it('reports every problem at once', () => {
    expect(problemsOf({ PORT: 'x', LOG_LEVEL: 'y', UPSTREAM_TIMEOUT_MS: 'z' })).toHaveLength(3);
  });

  it('allows plain http to a loopback upstream with a secret (a local proxy or emulator)', () => {
    expect(
      problemsOf({ ...API_KEY_AUTH, CHATBOTKIT_API_URL: 'http://127.0.0.1:9000', CHATBOTKIT_SECRET: 's' }),
    ).toEqual([]);
    expect(
      problemsOf({ ...API_KEY_AUTH, CHATBOTKIT_API_URL: 'http://localhost:9000', CHATBOTKIT_SECRET: 's' }),
    ).toEqual([]);
  });

  it('derives the connect timeout from a shorter overall timeout instead of refusing to start', () => {
    const config = loadConfig({ UPSTREAM_TIMEOUT_MS: '2000' });
    expect(config.upstreamTimeoutMs).toBe(2000);
    expect(config.resilience.connectTimeoutMs).toBe(500);
  });

  it('derives the overall timeout from a longer connect timeout instead of refusing to start', () => {
    const config = loadConfig({ UPSTREAM_CONNECT_TIMEOUT_MS: '5000' });
    expect(config.resilience.connectTimeoutMs).toBe(5000);
    expect(config.upstreamTimeoutMs).toBe(20_000);
  });

  it('refuses two chosen timeouts that disagree, naming both values and the fix', () => {
    expect(problemsOf({ UPSTREAM_TIMEOUT_MS: '4000', UPSTREAM_CONNECT_TIMEOUT_MS: '2000' })).toEqual([
      'UPSTREAM_CONNECT_TIMEOUT_MS must be at most a quarter of UPSTREAM_TIMEOUT_MS, or a failed connect could ' +
        'never be retried (got 2000 and 4000): lower UPSTREAM_CONNECT_TIMEOUT_MS to 1000, ' +
        'raise UPSTREAM_TIMEOUT_MS to 8000, or unset either one',
    ]);
  });

  it('treats a blank variable as unset', () => {
    expect(loadConfig({ PORT: ' ', LOG_LEVEL: '', AUTH_MODE: '  ' })).toMatchObject({ port: 4000, logLevel: 'info' });
  });

  it('reports a bad value once, without the problems that would follow from it', () => {
    expect(problemsOf({ AUTH_MODE: 'magic', CHATBOTKIT_SECRET: 'sk' })).toHaveLength(1);
    expect(problemsOf({ UPSTREAM_TIMEOUT_MS: 'soon', UPSTREAM_CONNECT_TIMEOUT_MS: '5000' })).toHaveLength(1);
  });

  it('reads CORS origins as a list', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:3000' }).corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ]);
  });
});
