import { type JWTPayload, type JWTVerifyOptions, errors as joseErrors, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import type { Authentication, Caller } from './authenticate.ts';
import { createKeySet, KeySetUnavailableError } from './key-set.ts';
import type { JwtAuthConfig } from './options.ts';
import { isRunAsUserId } from './run-as.ts';

/** Checks a bearer JWT: signature, claims, `typ`; then who the caller is and what it may do. */
export function createJwtVerifier(config: JwtAuthConfig, logger: Pick<Logger, 'warn' | 'info'>) {
  const secret = new TextEncoder().encode(config.secret);
  const keySet = config.jwksUrl
    ? createKeySet({
        url: config.jwksUrl,
        cooldownMs: config.jwksCooldownSeconds * 1000,
        maxAgeMs: config.jwksMaxAgeSeconds * 1000,
        maxStaleMs: config.jwksMaxStaleSeconds * 1000,
        timeoutMs: config.jwksTimeoutMs,
        logger,
      })
    : undefined;
  const options: JWTVerifyOptions = {
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    // Without `exp` a token would work forever; without `sub` callers could not be told apart.
    requiredClaims: ['exp', 'sub'],
    algorithms: keySet ? ['RS256', 'PS256', 'ES256', 'EdDSA'] : ['HS256'],
  };
  return async (token: string): Promise<Authentication> => {
    try {
      const { payload, protectedHeader } = keySet
        ? await jwtVerify(token, keySet, options)
        : await jwtVerify(token, secret, options);
      if (!isAccessTokenType(protectedHeader.typ)) return { caller: undefined, reason: 'typ header not accepted' };
      return { caller: callerFromClaims(payload, config) };
    } catch (error) {
      return { caller: undefined, reason: jwtFailureReason(error) };
    }
  };
}

// jose's `typ` option takes one value; access tokens come as `JWT`, as RFC 9068's `at+jwt`, or
// with no `typ`. Any other type (`dpop+jwt`, an ID token's `id+jwt`, a logout token) was signed
// for another purpose by the same issuer and must not open sessions.
const ACCESS_TOKEN_TYPES = new Set(['jwt', 'at+jwt']);

/** RFC 7515 §4.1.9: media types compare without case, and `application/` may be left out. */
function isAccessTokenType(typ: unknown): boolean {
  if (typ === undefined) return true;
  return typeof typ === 'string' && ACCESS_TOKEN_TYPES.has(typ.toLowerCase().replace(/^application\//, ''));
}

function callerFromClaims(payload: JWTPayload, config: JwtAuthConfig): Caller {
  const id = `jwt:${payload.sub}`;
  const runAs = runAsOf(payload, config);
  const scoped = scopesOf(payload).includes(config.requiredScope);
  const refusal = runAs.refusal ?? (scoped ? undefined : `no "${config.requiredScope}" scope`);
  return {
    id,
    rateLimitKey: id,
    mayCreateSessions: refusal === undefined,
    conversations: conversationsOf(payload[config.conversationsClaim]),
    ...(runAs.runAsUserId !== undefined && { runAsUserId: runAs.runAsUserId }),
    ...(refusal !== undefined && { refusal }),
  };
}

/** The caller's own sub-account user, from JWT_RUNAS_CLAIM; a value that is no valid id fails closed. */
function runAsOf(payload: JWTPayload, config: JwtAuthConfig): { runAsUserId?: string; refusal?: string } {
  const claim = config.runAsClaim;
  if (claim === undefined) return {};
  const value = payload[claim];
  if (value === undefined) return config.runAsRequired ? { refusal: `no "${claim}" claim` } : {};
  if (!isRunAsUserId(value)) return { refusal: `"${claim}" claim is not a run-as user id` };
  return { runAsUserId: value };
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
  if (error instanceof KeySetUnavailableError) return 'key set unavailable';
  if (error instanceof joseErrors.JWTExpired) return 'token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim "${error.claim}" invalid`;
  if (error instanceof joseErrors.JOSEError) return error.code;
  return 'token could not be verified';
}
