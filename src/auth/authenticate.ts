import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { AuthConfig } from './options.ts';

/** Who is calling, once their credentials have been checked. */
export interface Caller {
  /** Stable identity for logs: `jwt:<sub>`, `key:<hash prefix>`, `token:<hash prefix>` or `ip:<address>`. */
  id: string;
  /** Whose budget a session is charged to: the caller's id, or in passthrough mode a digest of the whole token. */
  rateLimitKey: string;
  /**
   * Passthrough only: the client address whose failed-auth budget pays for this token while
   * ChatBotKit has not accepted it, since any string is a "token" until ChatBotKit says otherwise.
   */
  failedAuthKey?: string;
  /** Whether the caller holds the right to mint sessions (the JWT scope; implied in other modes). */
  mayCreateSessions: boolean;
  /** Conversation ids, or prefixes ending in `*`, this caller may open; undefined means any. */
  conversations: readonly string[] | undefined;
  /** The caller's own ChatBotKit token, in passthrough mode only. */
  chatbotkitToken?: string;
}

/** The outcome of checking one request's credentials: a caller, or why there is none. */
export type Authentication = { caller: Caller } | { caller: undefined; reason: string };

/** Reads one request header (a Fetch `Headers`, or node's headers behind the same method). */
export type HeaderReader = Pick<Headers, 'get'>;

export type Authenticator = (headers: HeaderReader, clientAddress: string) => Promise<Authentication>;

/** Builds the credential check for the configured mode. */
export function createAuthenticator(config: AuthConfig): Authenticator {
  switch (config.mode) {
    case 'none':
      return async (_headers, address) => ({
        caller: {
          id: `ip:${address}`,
          rateLimitKey: `ip:${address}`,
          mayCreateSessions: true,
          conversations: undefined,
        },
      });
    case 'passthrough':
      return async (headers, address) => {
        const token = bearerToken(headers);
        if (!token) return { caller: undefined, reason: 'no bearer token' };
        const digest = sha256(token);
        return {
          caller: {
            id: `token:${digest.slice(0, 16)}`,
            rateLimitKey: `token:${digest}`,
            failedAuthKey: `ip:${address}`,
            mayCreateSessions: true,
            conversations: undefined,
            chatbotkitToken: token,
          },
        };
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
    const id = `key:${digest.toString('hex').slice(0, 16)}`;
    return { caller: { id, rateLimitKey: id, mayCreateSessions: true, conversations: undefined } };
  };
}

function jwtAuthenticator(config: Extract<AuthConfig, { mode: 'jwt' }>): Authenticator {
  // jose caches the key set, refetches on an unknown `kid` (key rotation) at most once per cooldown.
  const secret = new TextEncoder().encode(config.secret);
  const keySet = config.jwksUrl
    ? createRemoteJWKSet(new URL(config.jwksUrl), {
        cacheMaxAge: 10 * 60_000,
        cooldownDuration: config.jwksCooldownSeconds * 1000,
        timeoutDuration: 5_000,
      })
    : undefined;
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    // Without `exp` a token would work forever; without `sub` callers could not be told apart.
    requiredClaims: ['exp', 'sub'],
    algorithms: keySet ? ['RS256', 'PS256', 'ES256', 'EdDSA'] : ['HS256'],
  };
  return async (headers) => {
    const token = bearerToken(headers);
    if (!token) return { caller: undefined, reason: 'no bearer token' };
    try {
      const { payload } = keySet ? await jwtVerify(token, keySet, options) : await jwtVerify(token, secret, options);
      return { caller: callerFromClaims(payload, config) };
    } catch (error) {
      return { caller: undefined, reason: jwtFailureReason(error) };
    }
  };
}

function callerFromClaims(payload: JWTPayload, config: Extract<AuthConfig, { mode: 'jwt' }>): Caller {
  const id = `jwt:${payload.sub}`;
  return {
    id,
    rateLimitKey: id,
    mayCreateSessions: scopesOf(payload).includes(config.requiredScope),
    conversations: conversationsOf(payload[config.conversationsClaim]),
  };
}

/** Absent means any conversation; present but not a list of strings means none (fail closed). */
function conversationsOf(claim: unknown): string[] | undefined {
  if (claim === undefined) return undefined;
  return Array.isArray(claim) && claim.every((item) => typeof item === 'string') ? claim : [];
}

/** OAuth puts scopes in a space-separated `scope` claim; some issuers use `scp`, as a list or a string. */
function scopesOf(payload: JWTPayload): string[] {
  const { scope, scp } = payload as { scope?: unknown; scp?: unknown };
  const claim = scope ?? scp;
  if (typeof claim === 'string') return claim.split(' ');
  if (Array.isArray(claim)) return claim.filter((item): item is string => typeof item === 'string');
  return [];
}

function jwtFailureReason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim "${error.claim}" invalid`;
  if (error instanceof joseErrors.JOSEError) return error.code;
  return 'token could not be verified';
}

function bearerToken(headers: HeaderReader): string | undefined {
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(headers.get('authorization') ?? '');
  return match?.[1];
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Whether the caller may open a session on this conversation, given the global prefixes and their own list. */
export function mayOpenConversation(
  caller: Caller,
  conversationId: string,
  globalPrefixes: readonly string[],
): boolean {
  if (globalPrefixes.length > 0 && !globalPrefixes.some((prefix) => conversationId.startsWith(prefix))) return false;
  if (caller.conversations === undefined) return true;
  return caller.conversations.some((allowed) =>
    allowed.endsWith('*') ? conversationId.startsWith(allowed.slice(0, -1)) : conversationId === allowed,
  );
}
