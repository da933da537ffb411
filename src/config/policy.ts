import { isIP } from 'node:net';
import type { AuthConfig } from '../auth/options.ts';
import { DEFAULT_BASE_URL, type UpstreamConfig } from '../chatbotkit/options.ts';
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
    found.problems.push(
      'UPSTREAM_CONNECT_TIMEOUT_MS must be at most a quarter of UPSTREAM_TIMEOUT_MS, or a failed connect could ' +
        `never be retried (got ${connectTimeoutMs} and ${timeoutMs}): lower UPSTREAM_CONNECT_TIMEOUT_MS to ` +
        `${Math.floor(timeoutMs / 4)}, raise UPSTREAM_TIMEOUT_MS to ${connectTimeoutMs * 4}, or unset either one`,
    );
  }
  return { timeoutMs, connectTimeoutMs };
}

export function chooseUpstream(env: Variables, production: boolean, found: Findings): UpstreamConfig {
  const secret = env.CHATBOTKIT_SECRET;
  const apiUrlSet = env.CHATBOTKIT_API_URL !== undefined || found.reported.has('CHATBOTKIT_API_URL');
  // In passthrough mode callers bring their own ChatBotKit tokens, so no secret is needed.
  const callerCredentials = env.AUTH_MODE === 'passthrough';
  if (!apiUrlSet && secret === undefined && !(callerCredentials && production)) {
    if (production) {
      found.problems.push(
        'NODE_ENV is production but CHATBOTKIT_SECRET is not set: refusing to serve sessions from the local emulator',
      );
    }
    return { kind: 'emulator' };
  }
  if (production && secret === undefined && !callerCredentials) {
    found.problems.push('NODE_ENV is production but CHATBOTKIT_SECRET is not set: the ChatBotKit API needs it');
  }
  const baseUrl = env.CHATBOTKIT_API_URL ?? DEFAULT_BASE_URL;
  if (isPlainHttpToAnotherHost(baseUrl) && (secret !== undefined || callerCredentials)) {
    found.problems.push(
      'CHATBOTKIT_API_URL is plain http to another host: credentials would cross the network unencrypted; use https',
    );
  }
  return { kind: 'http', baseUrl, secret };
}

export function chooseAuth(env: Variables, upstream: UpstreamConfig, production: boolean, found: Findings): AuthConfig {
  const mode = env.AUTH_MODE;
  if (mode === undefined) {
    if (upstream.kind === 'emulator' || found.reported.has('AUTH_MODE')) return { mode: 'none' };
    found.problems.push(
      upstream.secret === undefined
        ? 'AUTH_MODE is not set: say who may call the gateway (jwt, api-key, passthrough, or none to accept anyone)'
        : 'CHATBOTKIT_SECRET is set but AUTH_MODE is not: anyone who reaches the gateway could mint sessions ' +
            'with the secret; set AUTH_MODE to jwt, api-key or passthrough',
    );
    return { mode: 'none' };
  }
  switch (mode) {
    case 'none':
      if (production)
        found.problems.push('AUTH_MODE=none with NODE_ENV=production: refusing to let anyone mint sessions');
      else if (upstream.kind === 'http')
        found.warnings.push('AUTH_MODE=none: anyone who can reach the gateway can mint sessions');
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
      if (env.GATEWAY_API_KEY_HASHES.length === 0 && !found.reported.has('GATEWAY_API_KEY_HASHES')) {
        found.problems.push(
          'GATEWAY_API_KEY_HASHES is required with AUTH_MODE=api-key (comma-separated SHA-256 hex digests)',
        );
      }
      return { mode, keyHashes: env.GATEWAY_API_KEY_HASHES };
    case 'jwt':
      return chooseJwt(env, production, found);
  }
}

function chooseJwt(env: Variables, production: boolean, found: Findings): AuthConfig {
  const { JWT_JWKS_URL: jwksUrl, JWT_SECRET: secret } = env;
  const jwksUrlSet = jwksUrl !== undefined || found.reported.has('JWT_JWKS_URL');
  const secretSet = secret !== undefined || found.reported.has('JWT_SECRET');
  if (jwksUrlSet === secretSet) {
    found.problems.push(
      'AUTH_MODE=jwt needs exactly one of JWT_JWKS_URL (key set URL) and JWT_SECRET (HS256, development only)',
    );
  }
  if (jwksUrl !== undefined && isPlainHttpToAnotherHost(jwksUrl)) found.problems.push('JWT_JWKS_URL must use https');
  if (secretSet && production) {
    found.problems.push(
      'JWT_SECRET (a shared HS256 secret) is for development; with NODE_ENV=production use JWT_JWKS_URL',
    );
  }
  if (env.JWT_ISSUER === undefined)
    found.problems.push('JWT_ISSUER is required with AUTH_MODE=jwt (the expected "iss")');
  if (env.JWT_AUDIENCE === undefined) {
    found.problems.push('JWT_AUDIENCE is required with AUTH_MODE=jwt (the expected "aud")');
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
    conversationsClaim: env.JWT_CONVERSATIONS_CLAIM,
  };
}

/** The URL is valid here (the schema checked it); plain http is fine only on this machine. */
function isPlainHttpToAnotherHost(value: string): boolean {
  const { protocol, hostname } = new URL(value);
  return protocol === 'http:' && !isLoopback(hostname);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || (isIP(hostname) === 4 && hostname.startsWith('127.'));
}
