import * as v from 'valibot';
import { apiKeysFile } from '../auth/api-keys.ts';
import { AUTH_MODES } from '../auth/options.ts';
import { DEFAULT_BASE_URL } from '../chatbotkit/options.ts';
import { FORWARDING_HEADERS, isTrustedProxyEntry } from '../http/options.ts';
import { readPersistedOperations } from '../limits/options.ts';
import { LOG_FORMATS, LOG_LEVELS } from '../observability/options.ts';
import { withDefault, withoutDefault } from './env-schema.ts';
import { NODE_ENVS } from './policy.ts';
import { otlpHeaders, secret } from './secret-values.ts';
import { apiBaseUrl, httpUrl, otlpEndpoint, redisUrl } from './url-values.ts';
import {
  boolean,
  file,
  headerValue,
  ipAddressOrLocalhost,
  list,
  oneOf,
  origins,
  sha256Digests,
  text,
  timeZone,
  wholeNumber,
} from './value-types.ts';

/*
 * Every environment variable the gateway reads, and the only place that names them: what each
 * accepts, its default and what it is for. docs/environment.md, `--help` and the deploy checks
 * are printed from this table; the rules between variables live in policy.ts.
 */

export const VARIABLES = v.object({
  NODE_ENV: withoutDefault(v.pipe(text(), v.metadata({ allowed: `${NODE_ENVS.join(', ')}, in any case` })), {
    description:
      'production: needs CHATBOTKIT_SECRET (or AUTH_MODE=passthrough), refuses AUTH_MODE=none and JWT_SECRET, ' +
      'turns GraphiQL and introspection off; development: pretty logs; any other value: not production, with a warning',
  }),
  HOST: withDefault(ipAddressOrLocalhost(), {
    default: '127.0.0.1',
    description: 'Address to listen on; 0.0.0.0 or :: to be reachable from other hosts (the Docker image sets 0.0.0.0)',
  }),
  PORT: withDefault(wholeNumber(0, 65_535), { default: '4000', description: 'Port to listen on; 0 picks a free one' }),
  SHUTDOWN_TIMEOUT_MS: withDefault(wholeNumber(0, 300_000), {
    default: '10000',
    description:
      'How long SIGTERM or SIGINT waits for requests in flight; then their upstream calls are cancelled and ' +
      'they are answered 503 SHUTTING_DOWN',
  }),
  HEADERS_TIMEOUT_MS: withoutDefault(wholeNumber(100, 300_000), {
    shown: '10000, or REQUEST_TIMEOUT_MS if less',
    description: 'Longest time a client may take to send a request’s headers; then the connection is closed',
  }),
  REQUEST_TIMEOUT_MS: withDefault(wholeNumber(100, 600_000), {
    default: '30000',
    description:
      'Longest time a client may take to send a whole request (headers and body): 408 and closed. ' +
      'The time to answer is not counted',
  }),
  MAX_CONNECTIONS: withDefault(wholeNumber(1, 1_000_000), {
    default: '1024',
    description: 'Open client connections at most; further ones are closed as they arrive',
  }),
  CORS_ORIGINS: withDefault(origins(), {
    default: '',
    shown: 'none (same origin only)',
    description: 'Browser origins allowed to call the gateway',
  }),
  CONVERSATION_ID_PREFIXES: withDefault(list(), {
    default: '',
    shown: 'none (any id)',
    description: 'Prefixes every conversation id must start with, for every caller',
  }),

  CHATBOTKIT_SECRET: withoutDefault(secret({ header: 'Authorization' }), {
    shown: 'none: the built-in emulator mints sessions',
    description: 'ChatBotKit API secret; when set, sessions come from ChatBotKit',
  }),
  CHATBOTKIT_API_URL: withoutDefault(apiBaseUrl(), {
    shown: `${DEFAULT_BASE_URL} with a secret, else the emulator`,
    description:
      'Where the API lives: its origin, or the URL its /v1 routes start at (…/v1, …/api/v1); ' +
      'plain http with credentials only to loopback',
  }),
  CHATBOTKIT_RUNAS_USER_ID: withoutDefault(headerValue(), {
    description: 'Act as this sub-account user (sent as x-runas-user-id)',
  }),
  CHATBOTKIT_TIMEZONE: withoutDefault(timeZone(), { description: 'Time zone sent as x-timezone' }),
  UPSTREAM_TIMEOUT_MS: withoutDefault(wholeNumber(100, 120_000), {
    shown: '10000, or 4 × UPSTREAM_CONNECT_TIMEOUT_MS if more',
    description: 'Deadline of one upstream call, connect to last byte, retries included',
  }),
  UPSTREAM_CONNECT_TIMEOUT_MS: withoutDefault(wholeNumber(100, 60_000), {
    shown: '2000, or UPSTREAM_TIMEOUT_MS ÷ 4 if less',
    description:
      'TCP and TLS connect deadline; at most UPSTREAM_TIMEOUT_MS ÷ 4, so that a failed connect can be retried',
  }),
  UPSTREAM_HEADERS_TIMEOUT_MS: withDefault(wholeNumber(0, 120_000), {
    default: '0',
    description: 'Longest wait for the answer’s headers; 0: only the call’s deadline',
  }),
  UPSTREAM_BODY_TIMEOUT_MS: withDefault(wholeNumber(0, 120_000), {
    default: '0',
    description: 'Longest wait between two chunks of the answer’s body; 0: only the call’s deadline',
  }),
  UPSTREAM_RETRIES: withDefault(wholeNumber(0, 5), {
    default: '2',
    description: 'Retries where no session can have been minted (connection not made, 429, 503)',
  }),
  UPSTREAM_RETRY_DELAY_MS: withDefault(wholeNumber(10, 10_000), {
    default: '250',
    description: 'First backoff before a retry; it doubles on each further retry, with jitter',
  }),
  UPSTREAM_CIRCUIT_THRESHOLD: withDefault(wholeNumber(1, 1000), {
    default: '5',
    description: 'Failures in a row that open the circuit: calls then fail fast',
  }),
  UPSTREAM_CIRCUIT_HALF_OPEN_MS: withDefault(wholeNumber(100, 600_000), {
    default: '10000',
    description: 'How long the circuit stays open before one probe call goes through',
  }),
  UPSTREAM_MAX_CONCURRENT: withDefault(wholeNumber(1, 10_000), {
    default: '256',
    description: 'Upstream calls in flight, and sockets to the upstream',
  }),
  UPSTREAM_MAX_QUEUED: withDefault(wholeNumber(0, 100_000), {
    default: '256',
    description: 'Calls waiting for a free slot; beyond that they fail with GATEWAY_OVERLOADED',
  }),

  ROUTER_SHARED_SECRET: withoutDefault(secret({ minBytes: 32, header: 'x-router-secret' }), {
    shown: 'none: _service follows INTROSPECTION in production, _entities is open',
    description:
      'When set, the federation fields _service and _entities answer only requests whose x-router-secret ' +
      'header carries it: set your router to send it',
  }),
  AUTH_MODE: withoutDefault(oneOf(AUTH_MODES), {
    shown: 'none with the emulator, else required',
    description: 'Who may mint sessions: JWT bearers, API key holders, callers with their own ChatBotKit token, anyone',
  }),
  GATEWAY_API_KEY_HASHES: withDefault(sha256Digests(), {
    default: '',
    shown: 'none (required with api-key)',
    description: 'With api-key: digests of the accepted x-api-key values',
  }),
  GATEWAY_API_KEYS_FILE: withoutDefault(apiKeysFile(), {
    description:
      'With api-key: JSON list of { "sha256", "runAsUserId", "name" }: accepted keys, each with its own ' +
      'sub-account user and the name logs show for it; beside or instead of GATEWAY_API_KEY_HASHES',
  }),
  JWT_JWKS_URL: withoutDefault(httpUrl(), {
    description: 'With jwt: the issuer’s key set (https, or http to loopback)',
  }),
  JWT_SECRET: withoutDefault(secret({ minBytes: 32 }), {
    description: 'With jwt, development only: a shared HS256 secret, instead of JWT_JWKS_URL',
  }),
  JWT_ISSUER: withoutDefault(text(), { shown: 'none (required with jwt)', description: 'The expected iss claim' }),
  JWT_AUDIENCE: withoutDefault(text(), { shown: 'none (required with jwt)', description: 'The expected aud claim' }),
  JWT_REQUIRED_SCOPE: withDefault(text(), {
    default: 'conversation-session:create',
    description: 'Scope (in scope or scp) needed to mint sessions',
  }),
  JWT_CLOCK_TOLERANCE_SECONDS: withDefault(wholeNumber(0, 300), {
    default: '5',
    description: 'Allowed clock skew for exp and nbf',
  }),
  JWT_JWKS_COOLDOWN_SECONDS: withDefault(wholeNumber(0, 3600), {
    default: '30',
    description: 'Least time between two key-set fetches (an unknown kid triggers one)',
  }),
  JWT_JWKS_MAX_AGE_SECONDS: withDefault(wholeNumber(1, 86_400), {
    default: '600',
    description: 'Age at which the key set is fetched again',
  }),
  JWT_JWKS_MAX_STALE_SECONDS: withDefault(wholeNumber(0, 7 * 86_400), {
    default: '86400',
    description:
      'While key-set fetches fail, how long past its max age the last good key set still verifies tokens; ' +
      '0: refuse every token once it is too old',
  }),
  JWT_CONVERSATIONS_CLAIM: withDefault(text(), {
    default: 'conversations',
    description: 'Claim listing the conversation ids (or prefix*) a caller may open; absent means any',
  }),
  JWT_RUNAS_CLAIM: withoutDefault(text(), {
    shown: 'none (every session as CHATBOTKIT_RUNAS_USER_ID)',
    description: 'With jwt: claim naming the sub-account user each caller’s sessions are minted as',
  }),
  JWT_RUNAS_REQUIRED: withDefault(boolean(), {
    default: 'false',
    description: 'true: refuse (FORBIDDEN) tokens without JWT_RUNAS_CLAIM, rather than use CHATBOTKIT_RUNAS_USER_ID',
  }),

  GRAPHIQL: withoutDefault(boolean(), {
    shown: 'false in production, else true',
    description: 'Serve GraphiQL on GET /graphql to browsers',
  }),
  INTROSPECTION: withoutDefault(boolean(), {
    shown: 'false in production, else true',
    description: 'Answer introspection (and suggest field names in errors)',
  }),
  // 64 KiB holds any document within the token limit (1,000 tokens) and its variables; larger
  // bodies would only be padding, and what a body holds is what a request can make the gateway keep.
  MAX_BODY_BYTES: withDefault(wholeNumber(1024, 64 * 1024), {
    default: '65536',
    description: 'Largest request body; at most 64 KiB, more than any document within the token limit needs',
  }),
  PERSISTED_OPERATIONS_FILE: withoutDefault(
    file(
      readPersistedOperations,
      (path) => `must be a readable JSON object of { "<hash>": "<GraphQL document>" } (got "${path}")`,
    ),
    { description: 'JSON object of operation hashes (SHA-256) to documents; when set, only these operations run' },
  ),
  RATE_LIMIT_POINTS: withDefault(wholeNumber(1, 1_000_000_000), {
    default: '60',
    description: 'Sessions one caller may mint per window',
  }),
  RATE_LIMIT_WINDOW_SECONDS: withDefault(wholeNumber(1, 86_400), {
    default: '60',
    description: 'The rate-limit window',
  }),
  RATE_LIMIT_FAILED_AUTH_POINTS: withDefault(wholeNumber(1, 1_000_000), {
    default: '10',
    description:
      'With passthrough: tokens ChatBotKit may refuse per client address and window; beyond that, ' +
      'tokens it has not accepted are refused unsent',
  }),
  TRUSTED_PROXIES: withDefault(
    list({
      kind: 'IPs or CIDR ranges',
      check: isTrustedProxyEntry,
      problem: (entry) =>
        `must list your proxies' IP addresses or CIDR ranges (10.0.0.0/8, fd00::/8), loopback or private ` +
        `(got "${entry}")`,
    }),
    {
      default: '',
      shown: 'none (the socket peer is the client)',
      description:
        'Proxies whose forwarding header names the client, for rate limits and logs; loopback: 127.0.0.0/8, ::1; ' +
        'private: 10/8, 172.16/12, 192.168/16, fc00::/7',
    },
  ),
  TRUSTED_PROXY_HEADER: withDefault(oneOf(FORWARDING_HEADERS), {
    default: 'x-forwarded-for',
    description: 'The header your trusted proxies write; the other is ignored, as a client could have sent it',
  }),
  REDIS_URL: withoutDefault(redisUrl(), {
    shown: 'none (in memory)',
    description: 'Redis for rate-limit counters shared by all replicas',
  }),

  LOG_LEVEL: withDefault(oneOf(LOG_LEVELS), { default: 'info', description: 'Least severe log lines written' }),
  LOG_FORMAT: withoutDefault(oneOf(LOG_FORMATS), {
    shown: 'pretty with NODE_ENV=development, else json',
    description: 'pretty needs the pino-pretty dev dependency (not in the image)',
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: withoutDefault(otlpEndpoint(), {
    description: 'OTLP collector; setting it turns tracing on (the SDK reads the other OTEL_* variables)',
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: withoutDefault(otlpEndpoint(), {
    description: 'OTLP collector for traces only; setting it turns tracing on',
  }),
  OTEL_EXPORTER_OTLP_HEADERS: withoutDefault(otlpHeaders(), {
    description: 'Headers sent to the collector, read by the SDK; named here so that the logs are scrubbed of them',
  }),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: withoutDefault(otlpHeaders(), {
    description: 'Headers sent to the traces collector, read by the SDK; scrubbed from the logs likewise',
  }),
  OTEL_TRACES_EXPORTER: withoutDefault(text(), {
    description: 'Trace exporter, e.g. otlp or console; none turns tracing off',
  }),
  OTEL_SDK_DISABLED: withoutDefault(text(), { description: 'true turns tracing off, whatever else is set' }),
});

export type Variables = v.InferOutput<typeof VARIABLES>;
