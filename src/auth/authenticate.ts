import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { AuthConfig } from '../config.ts';

/** Who is calling, once their credentials have been checked. */
export interface Caller {
  /** Stable identity for rate limits and logs: `jwt:<sub>`, `key:<hash prefix>`, `token:<hash prefix>` or `ip:<address>`. */
  id: string;
  /** Whether the caller holds the right to mint sessions (the JWT scope; implied in other modes). */
  mayCreateSessions: boolean;
  /** Conversation ids, or prefixes ending in `*`, this caller may open; undefined means any. */
  conversations: readonly string[] | undefined;
  /** The caller's own ChatBotKit token, in passthrough mode only. */
  chatbotkitToken?: string;
}

/** The outcome of checking one request's credentials: a caller, or why there is none. */
export type Authentication = { caller: Caller } | { caller: undefined; reason: string };

export type Authenticator = (headers: Headers, clientAddress: string) => Promise<Authentication>;

/** Builds the credential check for the configured mode. */
export function createAuthenticator(config: AuthConfig): Authenticator {
  switch (config.mode) {
    case 'none':
      return async (_headers, address) => ({ caller: { id: `ip:${address}`, mayCreateSessions: true, conversations: undefined } });
    case 'passthrough':
      return async (headers) => {
        const token = bearerToken(headers);
        if (!token) return { caller: undefined, reason: 'no bearer token' };
        return { caller: { id: `token:${sha256(token).slice(0, 16)}`, mayCreateSessions: true, conversations: undefined, chatbotkitToken: token } };
      };
    case 'api-key':
      return apiKeyAuthenticator(config.keyHashes);
    case 'jwt':
      return jwtAuthenticator(config);
  }
}

function apiKeyAuthenticator(keyHashes: readonly string[]): Authenticator {
  const known = keyHashes.map((hash) => Buffer.from(hash, 'hex'));
  return async (headers) => {
    const key = headers.get('x-api-key');
    if (!key) return { caller: undefined, reason: 'no x-api-key header' };
    const digest = createHash('sha256').update(key).digest();
    // Compare against every key in constant time, so timing tells nothing about which matched.
    let match = false;
    for (const hash of known) match = timingSafeEqual(digest, hash) || match;
    if (!match) return { caller: undefined, reason: 'unknown API key' };
    return { caller: { id: `key:${digest.toString('hex').slice(0, 16)}`, mayCreateSessions: true, conversations: undefined } };
  };
}

function jwtAuthenticator(config: Extract<AuthConfig, { mode: 'jwt' }>): Authenticator {
  // jose caches the key set, refetches on an unknown `kid` (key rotation) at most once per cooldown.
  const key = config.jwksUrl
    ? createRemoteJWKSet(new URL(config.jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: config.jwksCooldownSeconds * 1000, timeoutDuration: 5_000 })
    : new TextEncoder().encode(config.secret);
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    algorithms: config.jwksUrl ? ['RS256', 'PS256', 'ES256', 'EdDSA'] : ['HS256'],
  };
  return async (headers) => {
    const token = bearerToken(headers);
    if (!token) return { caller: undefined, reason: 'no bearer token' };
    try {
      const { payload } =
        key instanceof Uint8Array ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
      return { caller: callerFromClaims(payload, config) };
    } catch (error) {
      return { caller: undefined, reason: jwtFailureReason(error) };
    }
  };
}

function callerFromClaims(payload: JWTPayload, config: Extract<AuthConfig, { mode: 'jwt' }>): Caller {
  const conversations = payload[config.conversationsClaim];
  return {
    id: `jwt:${payload.sub ?? 'anonymous'}`,
    mayCreateSessions: scopesOf(payload).includes(config.requiredScope),
    conversations: Array.isArray(conversations) ? conversations.filter((item): item is string => typeof item === 'string') : undefined,
  };
}

/** OAuth puts scopes in a space-separated `scope` claim; some issuers use an `scp` array. */
function scopesOf(payload: JWTPayload): string[] {
  const { scope, scp } = payload as { scope?: unknown; scp?: unknown };
  if (typeof scope === 'string') return scope.split(' ');
  if (Array.isArray(scp)) return scp.filter((item): item is string => typeof item === 'string');
  return [];
}

function jwtFailureReason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim "${error.claim}" invalid`;
  if (error instanceof joseErrors.JOSEError) return error.code;
  return 'token could not be verified';
}

function bearerToken(headers: Headers): string | undefined {
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(headers.get('authorization') ?? '');
  return match?.[1];
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Whether the caller may open a session on this conversation, given the global prefixes and their own list. */
export function mayOpenConversation(caller: Caller, conversationId: string, globalPrefixes: readonly string[]): boolean {
  if (globalPrefixes.length > 0 && !globalPrefixes.some((prefix) => conversationId.startsWith(prefix))) return false;
  if (caller.conversations === undefined) return true;
  return caller.conversations.some((allowed) =>
    allowed.endsWith('*') ? conversationId.startsWith(allowed.slice(0, -1)) : conversationId === allowed,
  );
}
