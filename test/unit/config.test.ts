import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const KEY_HASH = 'a'.repeat(64);
// As long as a real secret: shorter ones are refused, as the logs could not be scrubbed of them.
const CBK_SECRET = 'sk-test-0123456789abcdef';
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
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      maxConnections: 1024,
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
        routerSecret: undefined,
        anonymousService: true,
        maxBodyBytes: 65_536,
        persistedOperations: undefined,
        rateLimitPoints: 60,
        rateLimitWindowSeconds: 60,
        failedAuthPoints: 10,
        redisUrl: undefined,
      },
      proxies: { trusted: [], header: 'x-forwarded-for' },
      warnings: [],
      secrets: [],
    });
  });

  it('switches to the ChatBotKit API when a secret is set', () => {
    const config = loadConfig({
      ...API_KEY_AUTH,
      CHATBOTKIT_SECRET: CBK_SECRET,
      CHATBOTKIT_RUNAS_USER_ID: 'u1',
      CHATBOTKIT_TIMEZONE: 'Asia/Tokyo',
    });
    expect(config.upstream).toEqual({ kind: 'http', baseUrl: 'https://api.chatbotkit.com', secret: CBK_SECRET });
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
      /^UPSTREAM_CONNECT_TIMEOUT_MS=2000 is more than a quarter of UPSTREAM_TIMEOUT_MS=4000/,
    ],
    [{ UPSTREAM_MAX_CONCURRENT: '0' }, /^UPSTREAM_MAX_CONCURRENT must be a whole number from 1 to 10000/],
    [{ MAX_BODY_BYTES: '1048576' }, /^MAX_BODY_BYTES must be a whole number from 1024 to 65536/],
    [{ SHUTDOWN_TIMEOUT_MS: '-1' }, /^SHUTDOWN_TIMEOUT_MS must be/],
    [{ ROUTER_SHARED_SECRET: 'short' }, /^ROUTER_SHARED_SECRET must be at least 32 bytes \(it has 5\)/],
    [
      { ROUTER_SHARED_SECRET: `${'r'.repeat(32)} spaced` },
      /^ROUTER_SHARED_SECRET must be printable ASCII without spaces, as it is sent in the x-router-secret header/,
    ],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ CHATBOTKIT_TIMEZONE: 'Mars/Olympus' }, /^CHATBOTKIT_TIMEZONE must be an IANA time zone/],
    [{ AUTH_MODE: 'none', CHATBOTKIT_API_URL: 'not a url' }, /^CHATBOTKIT_API_URL must be an absolute http\(s\) URL/],
    [{ AUTH_MODE: 'none', CHATBOTKIT_API_URL: 'ftp://example.com' }, /^CHATBOTKIT_API_URL must use http or https/],
    [
      { AUTH_MODE: 'none', CHATBOTKIT_API_URL: 'https://user:pw@example.com' },
      /^CHATBOTKIT_API_URL must not carry credentials/,
    ],
    [
      { ...API_KEY_AUTH, CHATBOTKIT_API_URL: 'http://cbk.example.com', CHATBOTKIT_SECRET: CBK_SECRET },
      /^CHATBOTKIT_API_URL=http:\/\/[^ ]+ is plain http to another host: CHATBOTKIT_SECRET would cross/,
    ],
    [{ NODE_ENV: 'production' }, /^NODE_ENV=production without CHATBOTKIT_SECRET: refusing to serve sessions from/],
    [
      { ...API_KEY_AUTH, CHATBOTKIT_API_URL: 'http://127.attacker.example', CHATBOTKIT_SECRET: CBK_SECRET },
      /^CHATBOTKIT_API_URL=http:\/\/[^ ]+ is plain http to another host: CHATBOTKIT_SECRET would cross/,
    ],
    [{ HOST: '999.1.1.1' }, /^HOST must be an IP address/],
    [{ HOST: 'example.com' }, /^HOST must be an IP address/],
    [{ CHATBOTKIT_RUNAS_USER_ID: 'user\u0001x' }, /^CHATBOTKIT_RUNAS_USER_ID must be printable ASCII/],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, /^CORS_ORIGINS must list origins/],
    [{ CORS_ORIGINS: '*' }, /^CORS_ORIGINS must list origins/],
    [
      { CHATBOTKIT_SECRET: CBK_SECRET },
      /^CHATBOTKIT_SECRET is set but AUTH_MODE is not: anyone who reaches the gateway could mint sessions/,
    ],
    [
      { CHATBOTKIT_API_URL: 'https://proxy.example' },
      /^CHATBOTKIT_API_URL=https:\/\/proxy.example is set but AUTH_MODE/,
    ],
    [{ AUTH_MODE: 'magic' }, /^AUTH_MODE must be one of jwt, api-key, passthrough, none/],
    [
      { AUTH_MODE: 'none', NODE_ENV: 'production', CHATBOTKIT_SECRET: CBK_SECRET },
      /^AUTH_MODE=none with NODE_ENV=production: refusing/,
    ],
    [
      { AUTH_MODE: 'passthrough', CHATBOTKIT_SECRET: CBK_SECRET },
      /^AUTH_MODE=passthrough forwards each caller’s own ChatBotKit token: unset CHATBOTKIT_SECRET/,
    ],
    [{ AUTH_MODE: 'api-key' }, /^AUTH_MODE=api-key needs GATEWAY_API_KEY_HASHES/],
    [
      { AUTH_MODE: 'api-key', GATEWAY_API_KEY_HASHES: 'plain-text-key' },
      /^GATEWAY_API_KEY_HASHES must hold 64-character SHA-256 hex digests \(entry 1 is not one\)$/,
    ],
    [{ ...JWT_AUTH, JWT_SECRET: undefined }, /^AUTH_MODE=jwt needs JWT_JWKS_URL .* or, in development, JWT_SECRET/],
    [{ ...JWT_AUTH, JWT_JWKS_URL: 'https://issuer.example/jwks' }, /^AUTH_MODE=jwt takes one of JWT_JWKS_URL and/],
    [{ ...JWT_AUTH, JWT_SECRET: 'x'.repeat(20) }, /^JWT_SECRET must be at least 32 bytes/],
    [{ ...JWT_AUTH, JWT_ISSUER: undefined }, /^AUTH_MODE=jwt needs JWT_ISSUER/],
    [{ ...JWT_AUTH, JWT_AUDIENCE: undefined }, /^AUTH_MODE=jwt needs JWT_AUDIENCE/],
    [
      { ...JWT_AUTH, JWT_SECRET: undefined, JWT_JWKS_URL: 'http://issuer.example/jwks' },
      /^JWT_JWKS_URL=http:\/\/issuer.example\/jwks must use https/,
    ],
    [
      { ...JWT_AUTH, NODE_ENV: 'production', CHATBOTKIT_SECRET: CBK_SECRET },
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
      /^NODE_ENV=production without CHATBOTKIT_SECRET: CHATBOTKIT_API_URL=https:\/\/proxy.example needs one/,
    ],
  ])('refuses %j with one clear message', (env, message) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('turns GraphiQL and introspection off in production unless asked for', () => {
    const production = loadConfig({ NODE_ENV: 'production', CHATBOTKIT_SECRET: CBK_SECRET, ...API_KEY_AUTH });
    expect(production.limits).toMatchObject({ graphiql: false, introspection: false });
    const explicit = loadConfig({
      NODE_ENV: 'production',
      CHATBOTKIT_SECRET: CBK_SECRET,
      ...API_KEY_AUTH,
      GRAPHIQL: 'true',
      INTROSPECTION: '1',
    });
    expect(explicit.limits).toMatchObject({ graphiql: true, introspection: true });
  });

  it('warns, but starts, with AUTH_MODE=none in front of a real upstream outside production', () => {
    expect(loadConfig({ AUTH_MODE: 'none', CHATBOTKIT_SECRET: CBK_SECRET }).warnings).toEqual([
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
      problemsOf({ ...API_KEY_AUTH, CHATBOTKIT_API_URL: 'http://127.0.0.1:9000', CHATBOTKIT_SECRET: CBK_SECRET }),
    ).toEqual([]);
    expect(
      problemsOf({ ...API_KEY_AUTH, CHATBOTKIT_API_URL: 'http://localhost:9000', CHATBOTKIT_SECRET: CBK_SECRET }),
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
      'UPSTREAM_CONNECT_TIMEOUT_MS=2000 is more than a quarter of UPSTREAM_TIMEOUT_MS=4000, so a failed ' +
        'connect could never be retried: lower UPSTREAM_CONNECT_TIMEOUT_MS to 1000, ' +
        'raise UPSTREAM_TIMEOUT_MS to 8000, or unset either one',
    ]);
  });

  it('derives the headers timeout from a shorter request timeout, and refuses two chosen ones that clash', () => {
    expect(loadConfig({ REQUEST_TIMEOUT_MS: '4000' })).toMatchObject({
      headersTimeoutMs: 4000,
      requestTimeoutMs: 4000,
    });
    expect(problemsOf({ REQUEST_TIMEOUT_MS: '4000', HEADERS_TIMEOUT_MS: '5000' })).toEqual([
      'HEADERS_TIMEOUT_MS=5000 is longer than REQUEST_TIMEOUT_MS=4000, which includes the headers: ' +
        'lower HEADERS_TIMEOUT_MS to 4000 or less, or raise REQUEST_TIMEOUT_MS',
    ]);
  });

  it('keeps _service open outside production; in production it follows INTROSPECTION', () => {
    const production = { ...API_KEY_AUTH, NODE_ENV: 'production', CHATBOTKIT_SECRET: 'sk-test-0123456789abcdef' };
    expect(loadConfig({}).limits.anonymousService).toBe(true);
    expect(loadConfig({ INTROSPECTION: 'false' }).limits.anonymousService).toBe(true);
    expect(loadConfig(production).limits.anonymousService).toBe(false);
    expect(loadConfig({ ...production, INTROSPECTION: 'true' }).limits.anonymousService).toBe(true);
  });

  it('treats a blank variable as unset', () => {
    expect(loadConfig({ PORT: ' ', LOG_LEVEL: '', AUTH_MODE: '  ' })).toMatchObject({ port: 4000, logLevel: 'info' });
  });

  it('reports a bad value once, without the problems that would follow from it', () => {
    expect(problemsOf({ AUTH_MODE: 'magic', CHATBOTKIT_SECRET: CBK_SECRET })).toHaveLength(1);
    expect(problemsOf({ UPSTREAM_TIMEOUT_MS: 'soon', UPSTREAM_CONNECT_TIMEOUT_MS: '5000' })).toHaveLength(1);
  });

  it('reads CORS origins as a list', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:3000' }).corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ]);
  });
});

describe('CHATBOTKIT_API_URL', () => {
  it.each([
    'https://api.chatbotkit.com',
    'https://api.chatbotkit.com/',
    'https://api.chatbotkit.com/v1',
    'https://proxy.example/api/v1',
    'https://proxy.example/api/v1/',
    'https://proxy.example/chatbotkit/api/v1',
    'https://proxy.example/v1',
  ])('accepts %s: an origin, or where the /v1 routes start', (url) => {
    expect(loadConfig({ ...API_KEY_AUTH, CHATBOTKIT_SECRET: CBK_SECRET, CHATBOTKIT_API_URL: url }).upstream).toEqual({
      kind: 'http',
      baseUrl: url,
      secret: CBK_SECRET,
    });
  });

  it.each([
    ['https://proxy.example/api', 'https://proxy.example/api/v1'],
    ['https://proxy.example/chatbotkit', 'https://proxy.example or https://proxy.example/chatbotkit/api/v1'],
    ['https://proxy.example/api/v1/conversation', 'https://proxy.example/api/v1'],
    ['https://api.chatbotkit.com/v2', 'https://api.chatbotkit.com or https://api.chatbotkit.com/v2/api/v1'],
  ])('refuses %s at start, with the URL to use instead', (url, fix) => {
    expect(problemsOf({ ...API_KEY_AUTH, CHATBOTKIT_SECRET: CBK_SECRET, CHATBOTKIT_API_URL: url })).toEqual([
      `CHATBOTKIT_API_URL must be the API's origin or end in /v1, where the gateway appends ` +
        `/conversation/{id}/session/create (got "${url}"): set it to ${fix}`,
    ]);
  });
});

describe('every refusal', () => {
  const SECRET = 'sk-live-7f3a9c0b2e41';
  const JWT_SECRET = 'jwt-shared-secret-with-32-bytes!!';
  const WITH_SECRET = { ...API_KEY_AUTH, CHATBOTKIT_SECRET: SECRET };
  const JWKS = 'https://issuer.example/jwks';

  // Each row: what was set, and what the one refusal must show of it (the value, and the fix).
  it.each<[Record<string, string | undefined>, string[]]>([
    [{ PORT: 'eighty' }, ['PORT must be', '(got "eighty")']],
    [
      { UPSTREAM_TIMEOUT_MS: '4000', UPSTREAM_CONNECT_TIMEOUT_MS: '2000' },
      ['UPSTREAM_CONNECT_TIMEOUT_MS=2000', 'UPSTREAM_TIMEOUT_MS=4000', 'lower UPSTREAM_CONNECT_TIMEOUT_MS to 1000'],
    ],
    [{ ...WITH_SECRET, CHATBOTKIT_API_URL: 'https://proxy.example/api' }, ['"https://proxy.example/api"', 'set it to']],
    [
      { ...WITH_SECRET, CHATBOTKIT_API_URL: 'ftp://proxy.example' },
      ['must use http or https (got "ftp://proxy.example")'],
    ],
    [{ ...WITH_SECRET, CHATBOTKIT_API_URL: 'https://cbk:hunter2@proxy.example' }, ['"https://cbk:***@proxy.example"']],
    [
      { ...WITH_SECRET, CHATBOTKIT_API_URL: 'http://cbk.example.com' },
      ['CHATBOTKIT_API_URL=http://cbk.example.com', 'use https://cbk.example.com'],
    ],
    [
      { AUTH_MODE: 'passthrough', CHATBOTKIT_API_URL: 'http://cbk.example.com' },
      ['CHATBOTKIT_API_URL=http://cbk.example.com', 'callers’ tokens (AUTH_MODE=passthrough)'],
    ],
    [{ NODE_ENV: 'Production' }, ['NODE_ENV=Production without CHATBOTKIT_SECRET', 'set CHATBOTKIT_SECRET']],
    [
      { ...API_KEY_AUTH, NODE_ENV: 'production', CHATBOTKIT_API_URL: 'https://proxy.example' },
      ['CHATBOTKIT_API_URL=https://proxy.example needs one', 'set CHATBOTKIT_SECRET'],
    ],
    [{ CHATBOTKIT_API_URL: 'https://proxy.example' }, ['CHATBOTKIT_API_URL=https://proxy.example', 'set AUTH_MODE to']],
    [
      { CHATBOTKIT_SECRET: SECRET },
      ['CHATBOTKIT_SECRET is set but AUTH_MODE is not', 'set AUTH_MODE to jwt or api-key'],
    ],
    [
      { CHATBOTKIT_SECRET: SECRET, AUTH_MODE: 'none', NODE_ENV: 'PRODUCTION' },
      ['AUTH_MODE=none with NODE_ENV=PRODUCTION', 'set AUTH_MODE to jwt, api-key or passthrough'],
    ],
    [{ CHATBOTKIT_SECRET: SECRET, AUTH_MODE: 'passthrough' }, ['AUTH_MODE=passthrough', 'unset CHATBOTKIT_SECRET']],
    [{ AUTH_MODE: 'magic' }, ['AUTH_MODE must be one of', '(got "magic")']],
    [{ AUTH_MODE: 'api-key' }, ['AUTH_MODE=api-key needs GATEWAY_API_KEY_HASHES', 'set GATEWAY_API_KEY_HASHES to']],
    [{ AUTH_MODE: 'api-key', GATEWAY_API_KEY_HASHES: 'my-raw-api-key' }, ['GATEWAY_API_KEY_HASHES must hold']],
    [{ ...JWT_AUTH, JWT_SECRET: undefined }, ['AUTH_MODE=jwt needs JWT_JWKS_URL', 'set one']],
    [{ ...JWT_AUTH, JWT_SECRET, JWT_JWKS_URL: JWKS }, [`JWT_JWKS_URL=${JWKS}`, 'JWT_SECRET hidden', 'unset one']],
    [{ ...JWT_AUTH, JWT_SECRET: 'too-short-secret' }, ['JWT_SECRET must be at least 32 bytes (it has 16)']],
    [
      { ...JWT_AUTH, JWT_SECRET: undefined, JWT_JWKS_URL: 'http://issuer.example/jwks' },
      ['JWT_JWKS_URL=http://issuer.example/jwks', 'use https://issuer.example/jwks'],
    ],
    [
      { ...JWT_AUTH, JWT_SECRET, NODE_ENV: 'production', CHATBOTKIT_SECRET: SECRET },
      ['JWT_SECRET', 'NODE_ENV=production', 'set JWT_JWKS_URL'],
    ],
    [{ ...JWT_AUTH, JWT_ISSUER: undefined }, ['AUTH_MODE=jwt needs JWT_ISSUER', 'set it']],
    [
      { REDIS_URL: 'http://:redis-pw-77@cache:6379' },
      ['REDIS_URL must start with redis://', '"http://:***@cache:6379"'],
    ],
    [{ REDIS_URL: 'default:redis-pw-77@cache:6379' }, ['"default:***@cache:6379"']],
    [{ CHATBOTKIT_RUNAS_USER_ID: 'user\u0001x' }, ['CHATBOTKIT_RUNAS_USER_ID', '(got "user\\u0001x")']],
    [{ CHATBOTKIT_TIMEZONE: 'Mars/Olympus' }, ['(got "Mars/Olympus")']],
    [{ HOST: 'example.com' }, ['HOST must be', '(got "example.com")']],
    [{ CORS_ORIGINS: 'https://a.example, *' }, ['CORS_ORIGINS must list origins', '(got "*")']],
    [{ GRAPHIQL: 'maybe' }, ['GRAPHIQL must be true or false (got "maybe")']],
    [{ PERSISTED_OPERATIONS_FILE: '/nonexistent/ops.json' }, ['(got "/nonexistent/ops.json")']],
    [
      { ...API_KEY_AUTH, CHATBOTKIT_SECRET: 'sk-short-9' },
      ['CHATBOTKIT_SECRET must be at least 16 characters (it has 10), so that the logs can be scrubbed of it'],
    ],
    [
      { ...API_KEY_AUTH, CHATBOTKIT_SECRET: `${SECRET}\nsk-live-second-line` },
      ['CHATBOTKIT_SECRET must be printable ASCII', 'has a line break at position 21', 'on one line'],
    ],
    [
      { ...API_KEY_AUTH, CHATBOTKIT_SECRET: 'sk-live-7f3a9c0b 2e41' },
      ['CHATBOTKIT_SECRET must be printable ASCII', 'has a space at position 17'],
    ],
    [
      { REDIS_URL: 'redis://default:redis-pw-77@cache:6379' },
      ['REDIS_URL carries a password of 11 characters (got "redis://default:***@cache:6379")', 'at least 16'],
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gateway:hunter2@collector.example' },
      ['OTEL_EXPORTER_OTLP_ENDPOINT carries a password of 7 characters', '"https://gateway:***@collector.example"'],
    ],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://gateway:hunter2@collector:99999' },
      ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an absolute URL', '"http://gateway:***@collector:99999"'],
    ],
  ])('%j starts with a variable it set, shows its value and never a secret', (env, shows) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    const [problem = ''] = problems;
    for (const text of shows) expect(problem).toContain(text);
    // It names first a variable the user set: never one left unset as if it had been.
    expect(Object.keys(env).filter((name) => env[name] !== undefined)).toContain(/^[A-Z_]+/.exec(problem)?.[0]);
    const secrets = [SECRET, JWT_SECRET, 'too-short-secret', 'hunter2', 'redis-pw-77', 'my-raw-api-key', 'sk-short-9'];
    for (const secret of [...secrets, 'sk-live-second-line', '7f3a9c0b 2e41']) {
      expect(problem).not.toContain(secret);
    }
  });
});

describe('the secrets the logs are scrubbed of', () => {
  it('are every configured secret, in each form a log line may carry it', () => {
    const config = loadConfig({
      ...JWT_AUTH,
      CHATBOTKIT_SECRET: CBK_SECRET,
      REDIS_URL: 'redis://default:p%40ss-w0rd-2026-rotated@cache:6379',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gateway:collector-password-8d21@collector.example',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Basic%20Z2F0ZXdheTpzZWNyZXQ=,x-dataset=sessions',
    });
    expect(config.secrets).toEqual(
      expect.arrayContaining([
        CBK_SECRET,
        'x'.repeat(32),
        // As the URL carries it, and as Redis receives it.
        'p%40ss-w0rd-2026-rotated',
        'p@ss-w0rd-2026-rotated',
        'collector-password-8d21',
        'Basic%20Z2F0ZXdheTpzZWNyZXQ=',
        'Basic Z2F0ZXdheTpzZWNyZXQ=',
      ]),
    );
    // Short names and values are not credentials, and scrubbing them would maim ordinary words.
    for (const ordinary of ['default', 'gateway', 'sessions']) expect(config.secrets).not.toContain(ordinary);
  });

  it('take a token written as a URL’s user name, not a plain user name', () => {
    const token = 'glc_eyJvIjoiMTIzNDU2In0';
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `https://${token}@collector.example` }).secrets).toContain(token);
    expect(loadConfig({ REDIS_URL: 'redis://app@cache:6379' }).secrets).toEqual([]);
  });
});

describe('NODE_ENV', () => {
  const PRODUCTION_READY = { ...API_KEY_AUTH, CHATBOTKIT_SECRET: CBK_SECRET };

  it.each(['production', 'Production', 'PRODUCTION'])('means production as %s, in any case', (value) => {
    const config = loadConfig({ ...PRODUCTION_READY, NODE_ENV: value });
    expect(config).toMatchObject({ production: true, limits: { graphiql: false, introspection: false } });
    expect(config.warnings).toEqual([]);
  });

  it('means development as Development, with pretty logs', () => {
    expect(loadConfig({ NODE_ENV: 'Development' })).toMatchObject({ production: false, logFormat: 'pretty' });
  });

  it.each(['prod', 'staging'])(
    'runs %s as not production, with one warning naming it and the accepted values',
    (value) => {
      const config = loadConfig({ ...PRODUCTION_READY, NODE_ENV: value });
      expect(config).toMatchObject({ production: false, logFormat: 'json', limits: { graphiql: true } });
      expect(config.warnings).toEqual([
        `NODE_ENV=${value} is not one of production, development, test: running as not production, so GraphiQL ` +
          'and introspection are on and production’s refusals are off; set NODE_ENV=production for production',
      ]);
    },
  );

  it('takes test without a warning', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).warnings).toEqual([]);
  });
});

describe('per-tenant run-as and the key set', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keys-file-'));
  const keysFile = (name: string, entries: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(entries));
    return path;
  };
  const B = 'b'.repeat(64);
  const C = 'C'.repeat(64);

  it('reads GATEWAY_API_KEYS_FILE into keys with their users and names, digests in lowercase', () => {
    const file = keysFile('good.json', [{ sha256: C, runAsUserId: 'user_c', name: 'acme' }, { sha256: B }]);
    expect(loadConfig({ AUTH_MODE: 'api-key', GATEWAY_API_KEYS_FILE: file }).auth).toEqual({
      mode: 'api-key',
      keyHashes: [],
      keys: [{ sha256: 'c'.repeat(64), runAsUserId: 'user_c', name: 'acme' }, { sha256: B }],
    });
  });

  it('refuses GATEWAY_API_KEYS_FILE with one line per problem, never echoing a digest or key', () => {
    const file = keysFile('bad.json', [
      { sha256: 'my-raw-api-key', name: 'ok' },
      { sha256: B, runAsUserId: 'user\u0001x', name: 'has space' },
      { sha256: C, runAsUserID: 'user_c' },
      'acme',
    ]);
    const problems = problemsOf({ AUTH_MODE: 'api-key', GATEWAY_API_KEYS_FILE: file });
    expect(problems).toEqual([
      `GATEWAY_API_KEYS_FILE entry 1 of ${file}: "sha256" must be the 64-character SHA-256 hex digest of the key`,
      `GATEWAY_API_KEYS_FILE entry 2 of ${file}: "runAsUserId" must be printable ASCII, as it is sent as a header ` +
        '(got "user\\u0001x")',
      `GATEWAY_API_KEYS_FILE entry 2 of ${file}: "name" must be 1 to 64 letters, digits, ".", "_" or "-" ` +
        '(got "has space")',
      `GATEWAY_API_KEYS_FILE entry 3 of ${file}: unknown field "runAsUserID": the fields are sha256, runAsUserId, name`,
      `GATEWAY_API_KEYS_FILE entry 4 of ${file}: must be an object { "sha256", "runAsUserId", "name" }`,
    ]);
    expect(problems.join('\n')).not.toContain('my-raw-api-key');
  });

  it('refuses a key listed twice, or two keys under one name', () => {
    const file = keysFile('twice.json', [
      { sha256: B, name: 'acme' },
      { sha256: B.toUpperCase() },
      { sha256: C, name: 'acme' },
    ]);
    expect(problemsOf({ AUTH_MODE: 'api-key', GATEWAY_API_KEYS_FILE: file, GATEWAY_API_KEY_HASHES: C })).toEqual([
      `GATEWAY_API_KEYS_FILE entry 2 of ${file} has the digest of entry 1: remove one`,
      `GATEWAY_API_KEYS_FILE entry 3 of ${file} has the name "acme" of entry 1: names must differ`,
    ]);
    const other = keysFile('overlap.json', [{ sha256: C, name: 'acme' }]);
    expect(problemsOf({ AUTH_MODE: 'api-key', GATEWAY_API_KEYS_FILE: other, GATEWAY_API_KEY_HASHES: C })).toEqual([
      'GATEWAY_API_KEY_HASHES entry 1 is also in GATEWAY_API_KEYS_FILE: remove it from GATEWAY_API_KEY_HASHES, ' +
        'so that the key has one name and one run-as user',
    ]);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ AUTH_MODE: 'api-key', GATEWAY_API_KEYS_FILE: '/nonexistent/keys.json' }, /must be a readable JSON file/],
    [{ AUTH_MODE: 'api-key', GATEWAY_API_KEYS_FILE: keysFile('empty.json', []) }, /must hold a non-empty JSON list/],
    [{ ...API_KEY_AUTH, JWT_RUNAS_CLAIM: 'cbk_user' }, /^JWT_RUNAS_CLAIM=cbk_user works only with AUTH_MODE=jwt/],
    [{ ...JWT_AUTH, JWT_RUNAS_REQUIRED: 'true' }, /^JWT_RUNAS_REQUIRED=true needs AUTH_MODE=jwt and JWT_RUNAS_CLAIM/],
    [
      { ...JWT_AUTH, GATEWAY_API_KEYS_FILE: keysFile('jwt.json', [{ sha256: B }]) },
      /^GATEWAY_API_KEYS_FILE works only with AUTH_MODE=api-key, and AUTH_MODE is jwt/,
    ],
    [{ ...JWT_AUTH, JWT_JWKS_MAX_STALE_SECONDS: '-1' }, /^JWT_JWKS_MAX_STALE_SECONDS must be a whole number/],
  ])('refuses %j', (env, problem) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });

  it('takes the run-as claim and the key-set ages for jwt, with a day of stale keys by default', () => {
    expect(loadConfig({ ...JWT_AUTH, JWT_RUNAS_CLAIM: 'cbk_user', JWT_RUNAS_REQUIRED: 'true' }).auth).toMatchObject({
      runAsClaim: 'cbk_user',
      runAsRequired: true,
      jwksMaxAgeSeconds: 600,
      jwksMaxStaleSeconds: 86_400,
    });
  });
});
