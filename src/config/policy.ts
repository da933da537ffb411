import type { AuthConfig } from '../auth/options.ts';
import { DEFAULT_BASE_URL, type UpstreamConfig } from '../chatbotkit/options.ts';
import { isLoopbackHostname } from '../http/options.ts';
import { chooseApiKeys, runAsRules } from './run-as-policy.ts';
import type { Variables } from './variables.ts';

/*
 * The rules between variables: production safety, who may call against which upstream, where
 * credentials may travel, and how the upstream timeouts fit together. Each value on its own is
 * checked by the schema in variables.ts. House rule: a setting that is safe on its own never
 * refuses to start because of a default the user did not choose; that default is derived.
 */

export interface Findings {
  /** Each stops the gateway; all are reported together. */
  problems: string[];
  /** Logged at start; the gateway still runs. */
  warnings: string[];
  /** Variables the schema already reported: they count as set, but their value is unusable. */
  reported: ReadonlySet<string>;
}

/** The NODE_ENV values the gateway knows; compared in any case. */
export const NODE_ENVS = ['production', 'development', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

/**
 * NODE_ENV in any case. Any other value (`prod`, `staging`) runs as not production, with a warning:
 * staging-like names are common and must keep starting, but a `prod` meant as production must not
 * pass unnoticed with GraphiQL on and production's refusals off.
 */
export function nodeEnv(value: string | undefined, found: Findings): NodeEnv | undefined {
  if (value === undefined) return undefined;
  const known = NODE_ENVS.find((name) => name === value.toLowerCase());
  if (known === undefined) {
    found.warnings.push(
      `NODE_ENV=${value} is not one of ${NODE_ENVS.join(', ')}: running as not production, so GraphiQL and ` +
        'introspection are on and production’s refusals are off; set NODE_ENV=production for production',
    );
  }
  return known;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;

/**
 * Retries may start only in the first half of the call's deadline; a connect timeout longer than
 * a quarter of it leaves no room for the retry that a refused connection deserves. Whichever of
 * the two is unset is derived from the other; only two chosen values can disagree.
 */
export function upstreamTimeouts(env: Variables, found: Findings): { timeoutMs: number; connectTimeoutMs: number } {
  const chosenTimeout = env.UPSTREAM_TIMEOUT_MS;
  const chosenConnect = env.UPSTREAM_CONNECT_TIMEOUT_MS;
  const timeoutMs = chosenTimeout ?? Math.max(DEFAULT_TIMEOUT_MS, 4 * (chosenConnect ?? 0));
  const connectTimeoutMs = chosenConnect ?? Math.min(DEFAULT_CONNECT_TIMEOUT_MS, Math.floor(timeoutMs / 4));
  if (connectTimeoutMs * 4 > timeoutMs) {
    // Only two chosen values get here: an unset one is derived to fit.
    found.problems.push(
      `UPSTREAM_CONNECT_TIMEOUT_MS=${connectTimeoutMs} is more than a quarter of UPSTREAM_TIMEOUT_MS=${timeoutMs}, ` +
        `so a failed connect could never be retried: lower UPSTREAM_CONNECT_TIMEOUT_MS to ` +
        `${Math.floor(timeoutMs / 4)}, raise UPSTREAM_TIMEOUT_MS to ${connectTimeoutMs * 4}, or unset either one`,
    );
  }
  return { timeoutMs, connectTimeoutMs };
}

const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;

/**
 * Node refuses a headers timeout longer than the request timeout (the headers are part of the
 * request): an unset headers timeout is derived to fit, and only two chosen values can clash.
 */
export function clientTimeouts(
  env: Variables,
  found: Findings,
): { headersTimeoutMs: number; requestTimeoutMs: number } {
  const requestTimeoutMs = env.REQUEST_TIMEOUT_MS;
  const headersTimeoutMs = env.HEADERS_TIMEOUT_MS ?? Math.min(DEFAULT_HEADERS_TIMEOUT_MS, requestTimeoutMs);
  if (headersTimeoutMs > requestTimeoutMs) {
    found.problems.push(
      `HEADERS_TIMEOUT_MS=${headersTimeoutMs} is longer than REQUEST_TIMEOUT_MS=${requestTimeoutMs}, which ` +
        `includes the headers: lower HEADERS_TIMEOUT_MS to ${requestTimeoutMs} or less, or raise REQUEST_TIMEOUT_MS`,
    );
  }
  return { headersTimeoutMs, requestTimeoutMs };
}

export function chooseUpstream(env: Variables, production: boolean, found: Findings): UpstreamConfig {
  const secret = env.CHATBOTKIT_SECRET;
  const apiUrlSet = env.CHATBOTKIT_API_URL !== undefined || found.reported.has('CHATBOTKIT_API_URL');
  // In passthrough mode callers bring their own ChatBotKit tokens, so no secret is needed.
  const callerCredentials = env.AUTH_MODE === 'passthrough';
  const needSecret = 'set CHATBOTKIT_SECRET, or AUTH_MODE=passthrough for callers who bring their own tokens';
  if (!apiUrlSet && secret === undefined && !(callerCredentials && production)) {
    if (production) {
      found.problems.push(
        `NODE_ENV=${env.NODE_ENV} without CHATBOTKIT_SECRET: refusing to serve sessions from the local emulator; ` +
          needSecret,
      );
    }
    return { kind: 'emulator' };
  }
  if (production && secret === undefined && !callerCredentials) {
    found.problems.push(
      `NODE_ENV=${env.NODE_ENV} without CHATBOTKIT_SECRET: ${shown('CHATBOTKIT_API_URL', env.CHATBOTKIT_API_URL)} ` +
        `needs one; ${needSecret}`,
    );
  }
  const baseUrl = env.CHATBOTKIT_API_URL ?? DEFAULT_BASE_URL;
  if (isPlainHttpToAnotherHost(baseUrl) && (secret !== undefined || callerCredentials)) {
    const credentials = secret === undefined ? 'callers’ tokens (AUTH_MODE=passthrough)' : 'CHATBOTKIT_SECRET';
    found.problems.push(
      `CHATBOTKIT_API_URL=${baseUrl} is plain http to another host: ${credentials} would cross the network ` +
        `unencrypted; use ${baseUrl.replace(/^http:/, 'https:')}`,
    );
  }
  return { kind: 'http', baseUrl, secret };
}

export function chooseAuth(env: Variables, upstream: UpstreamConfig, production: boolean, found: Findings): AuthConfig {
  const mode = env.AUTH_MODE;
  runAsRules(env, mode, found);
  if (mode === undefined) {
    if (upstream.kind === 'emulator' || found.reported.has('AUTH_MODE')) return { mode: 'none' };
    found.problems.push(
      upstream.secret === undefined
        ? `${shown('CHATBOTKIT_API_URL', env.CHATBOTKIT_API_URL)} is set but AUTH_MODE is not: say who may call ` +
            'the gateway; set AUTH_MODE to jwt, api-key, passthrough, or none to accept anyone'
        : 'CHATBOTKIT_SECRET is set but AUTH_MODE is not: anyone who reaches the gateway could mint sessions ' +
            'with the secret; set AUTH_MODE to jwt or api-key',
    );
    return { mode: 'none' };
  }
  switch (mode) {
    case 'none':
      if (production) {
        found.problems.push(
          `AUTH_MODE=none with NODE_ENV=${env.NODE_ENV}: refusing to let anyone mint sessions in production; ` +
            'set AUTH_MODE to jwt, api-key or passthrough',
        );
      } else if (upstream.kind === 'http') {
        found.warnings.push('AUTH_MODE=none: anyone who can reach the gateway can mint sessions');
      }
      return { mode };
    case 'passthrough':
      if (upstream.kind === 'http' && upstream.secret !== undefined) {
        found.problems.push(
          'AUTH_MODE=passthrough forwards each caller’s own ChatBotKit token: ' +
            'unset CHATBOTKIT_SECRET, it would never be used',
        );
      }
      return { mode };
    case 'api-key':
      return chooseApiKeys(env, found);
    case 'jwt':
      return chooseJwt(env, production, found);
  }
}

// jose's default: an issuer's key set that takes longer is as good as down.
const JWKS_TIMEOUT_MS = 5_000;

function chooseJwt(env: Variables, production: boolean, found: Findings): AuthConfig {
  const { JWT_JWKS_URL: jwksUrl, JWT_SECRET: secret } = env;
  const jwksUrlSet = jwksUrl !== undefined || found.reported.has('JWT_JWKS_URL');
  const secretSet = secret !== undefined || found.reported.has('JWT_SECRET');
  if (!jwksUrlSet && !secretSet) {
    found.problems.push(
      'AUTH_MODE=jwt needs JWT_JWKS_URL (the issuer’s key set) or, in development, JWT_SECRET (HS256): set one',
    );
  } else if (jwksUrlSet && secretSet) {
    found.problems.push(
      `AUTH_MODE=jwt takes one of JWT_JWKS_URL and JWT_SECRET, and both are set ` +
        `(${shown('JWT_JWKS_URL', jwksUrl)}, JWT_SECRET hidden): unset one`,
    );
  }
  if (jwksUrl !== undefined && isPlainHttpToAnotherHost(jwksUrl)) {
    found.problems.push(
      `JWT_JWKS_URL=${jwksUrl} must use https (plain http only to loopback): ` +
        `use ${jwksUrl.replace(/^http:/, 'https:')}`,
    );
  }
  if (secretSet && production) {
    found.problems.push(
      `JWT_SECRET (a shared HS256 secret) is for development, and NODE_ENV=${env.NODE_ENV}: ` +
        'unset JWT_SECRET and set JWT_JWKS_URL to the issuer’s key set',
    );
  }
  if (env.JWT_ISSUER === undefined) found.problems.push('AUTH_MODE=jwt needs JWT_ISSUER: set it to the expected "iss"');
  if (env.JWT_AUDIENCE === undefined) {
    found.problems.push('AUTH_MODE=jwt needs JWT_AUDIENCE: set it to the expected "aud"');
  }
  return {
    mode: 'jwt',
    jwksUrl,
    secret,
    issuer: env.JWT_ISSUER ?? '',
    audience: env.JWT_AUDIENCE ?? '',
    requiredScope: env.JWT_REQUIRED_SCOPE,
    clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
    jwksCooldownSeconds: env.JWT_JWKS_COOLDOWN_SECONDS,
    jwksMaxAgeSeconds: env.JWT_JWKS_MAX_AGE_SECONDS,
    jwksMaxStaleSeconds: env.JWT_JWKS_MAX_STALE_SECONDS,
    jwksTimeoutMs: JWKS_TIMEOUT_MS,
    conversationsClaim: env.JWT_CONVERSATIONS_CLAIM,
    runAsClaim: env.JWT_RUNAS_CLAIM,
    runAsRequired: env.JWT_RUNAS_REQUIRED,
  };
}

/** `NAME=value`, or just `NAME` when the schema refused its value (that refusal already shows it). */
function shown(name: string, value: string | undefined): string {
  return value === undefined ? name : `${name}=${value}`;
}

/** The URL is valid here (the schema checked it); plain http is fine only on this machine. */
function isPlainHttpToAnotherHost(value: string): boolean {
  const { protocol, hostname } = new URL(value);
  return protocol === 'http:' && !isLoopbackHostname(hostname);
}
