import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type ExportedJWKSCache,
  type FetchImplementation,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWKSCacheInput,
  type JWSHeaderParameters,
  jwksCache,
} from 'jose';
import type { Logger } from 'pino';

/*
 * The issuer's key set, fetched and cached by jose's `createRemoteJWKSet` (its cache max age, its
 * cooldown after a good fetch, its deduplication of concurrent fetches, its timeout). Two things
 * jose does not do, and which this module adds around it:
 * - a failed fetch is not remembered: with nothing cached, every token would start a new fetch.
 *   Here, failures back off (1 s, doubling to 60 s) through jose's `customFetch` hook, and the
 *   calls in between fail at once, without touching the network;
 * - once the cache is older than its max age, jose refuses every token while the endpoint fails.
 *   Here, the last good set (jose's own `jwksCache` export) keeps verifying for a bounded time.
 */

export interface KeySetOptions {
  url: string;
  /** Least time after a good fetch before an unknown `kid` may start another (jose's cooldown). */
  cooldownMs: number;
  /** Age after which the set is fetched again (jose's cache max age). */
  maxAgeMs: number;
  /** How long past `maxAgeMs` the last good set still verifies tokens while fetches fail; 0: not at all. */
  maxStaleMs: number;
  /** Deadline of one fetch. */
  timeoutMs: number;
  logger: Pick<Logger, 'warn' | 'info'>;
}

/** No usable key set: the endpoint failed (or is backing off) and no good set is recent enough. */
export class KeySetUnavailableError extends Error {
  readonly code = 'KEY_SET_UNAVAILABLE';
}

/** Resolves a token's verification key, as `jwtVerify` takes it. */
export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 60_000;

export function createKeySet(options: KeySetOptions): KeyResolver {
  // jose writes `uat` (when) and `jwks` (what) here after each good fetch.
  const cache: JWKSCacheInput = {};
  const guarded = guardedFetch(options, cache);
  const remote = createRemoteJWKSet(new URL(options.url), {
    cacheMaxAge: options.maxAgeMs,
    cooldownDuration: options.cooldownMs,
    timeoutDuration: options.timeoutMs,
    [jwksCache]: cache,
    [customFetch]: guarded,
  });
  let lastGood: { uat: number; keys: ReturnType<typeof createLocalJWKSet> } | undefined;
  const lastGoodKeys = () => {
    const good = goodSet(cache);
    if (!good || Date.now() >= good.uat + options.maxAgeMs + options.maxStaleMs) return undefined;
    if (lastGood?.uat !== good.uat) lastGood = { uat: good.uat, keys: createLocalJWKSet(good.jwks) };
    return lastGood.keys;
  };
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (!(error instanceof KeySetUnavailableError)) throw error;
      const keys = lastGoodKeys();
      if (!keys) throw error;
      return keys(header, token);
    }
  };
}

function goodSet(cache: JWKSCacheInput): ExportedJWKSCache | undefined {
  return 'uat' in cache && typeof cache.uat === 'number' ? (cache as ExportedJWKSCache) : undefined;
}

/**
 * The fetch jose calls: refused at once while backing off; otherwise a real fetch whose failure
 * (no answer, not 200, not a key set) starts or lengthens the backoff and is logged once.
 */
function guardedFetch(options: KeySetOptions, cache: JWKSCacheInput): FetchImplementation {
  const { origin, pathname } = new URL(options.url);
  const jwksUrl = origin + pathname;
  let failures = 0;
  let retryAt = 0;

  const failed = (error: unknown): KeySetUnavailableError => {
    failures += 1;
    const retryInMs = Math.min(FIRST_RETRY_MS * 2 ** (failures - 1), LAST_RETRY_MS);
    retryAt = Date.now() + retryInMs;
    const good = goodSet(cache);
    const staleUntil = good ? good.uat + options.maxAgeMs + options.maxStaleMs : 0;
    const fields = { err: error, jwksUrl, failures, retryInMs };
    if (good && staleUntil > Date.now()) {
      const until = new Date(staleUntil).toISOString();
      options.logger.warn(
        { ...fields, keySetFetchedAt: new Date(good.uat).toISOString(), staleUntil: until },
        `key set fetch failed: verifying tokens with the last good key set until ${until}`,
      );
    } else {
      options.logger.warn(fields, 'key set fetch failed, and no recent key set is cached: refusing every token');
    }
    return new KeySetUnavailableError('the key set could not be fetched', { cause: error });
  };

  return async (url, init) => {
    if (Date.now() < retryAt) throw new KeySetUnavailableError('waiting to fetch the key set again');
    let body: string;
    try {
      const response = await fetch(url, init);
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`the key set endpoint answered ${response.status}`);
      }
      body = await response.text();
      if (!isKeySet(JSON.parse(body))) throw new Error('the answer is not a JSON Web Key Set');
    } catch (error) {
      throw failed(error);
    }
    if (failures > 0) options.logger.info({ jwksUrl, failures }, 'key set fetched again after failures');
    failures = 0;
    retryAt = 0;
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

/** What jose takes for a key set (its own check is not exported): an object whose `keys` are objects. */
function isKeySet(value: unknown): value is JSONWebKeySet {
  const keys = isObject(value) ? value['keys'] : undefined;
  return Array.isArray(keys) && keys.every(isObject);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
