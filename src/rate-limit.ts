import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimiterOptions {
  /** Calls one caller may make per window. */
  points: number;
  /** Length of the window in seconds; it starts at a caller's first call. */
  durationSeconds: number;
  /**
   * Credentials ChatBotKit may refuse per client address and window (passthrough): the
   * failed-auth budget. Default 10.
   */
  failedAuthPoints?: number | undefined;
  /** `redis://` or `rediss://` URL. When set, every replica counts in this Redis; default: in process memory. */
  redisUrl?: string | undefined;
  /** Namespace of the counters, so that several limits can share one Redis. Default `session-gateway:rate-limit`. */
  keyPrefix?: string | undefined;
  /** Told of Redis connection errors (never thrown; the limiter falls back meanwhile). Default: ignored. */
  onRedisError?: ((error: Error) => void) | undefined;
}

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** For `/readyz` and logs: with Redis, whether counters are shared right now or kept per replica. */
export type RateLimiterStatus = { backend: 'memory' } | { backend: 'redis'; connected: boolean };

/** One budget per key and window. */
export interface Budget {
  /** Spends one point of `key`'s budget. `key` is any identity, e.g. `jwt:<sub>` or `ip:<address>`. */
  consume(key: string): Promise<RateLimitDecision>;
  /** Gives back one point that `consume` spent, for a call that turned out to cost nothing. */
  refund(key: string): Promise<void>;
}

/** Sessions per caller, and the failed-auth budget per client address, in one store. */
export interface RateLimiter extends Budget {
  /** Credentials ChatBotKit refused, per client address (passthrough). */
  failedAuth: Budget;
  status(): RateLimiterStatus;
  /** Closes the Redis connection, if any. */
  close(): Promise<void>;
}

const DEFAULT_KEY_PREFIX = 'session-gateway:rate-limit';
const DEFAULT_FAILED_AUTH_POINTS = 10;
// A counter round trip takes about a millisecond; waiting longer only delays the caller's answer.
const REDIS_COMMAND_TIMEOUT_MS = 500;
// A Redis that stops answering without closing the socket is dropped after this, so that
// later calls see "not connected" and fall back at once instead of each waiting for a timeout.
const REDIS_SOCKET_TIMEOUT_MS = 2_000;

/**
 * A fixed-window limit per caller identity, in memory or in Redis.
 *
 * When Redis is unreachable, slow or gone, each replica keeps limiting on its own in memory
 * (rate-limiter-flexible's insurance limiter) until the connection is back: callers keep
 * being served and limited, at worst `points` per replica instead of `points` in all. Failing
 * every call would turn a Redis outage into a gateway outage; letting every call through would
 * open the upstream to abuse exactly when the shared limit is missing.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const failedAuthPoints = options.failedAuthPoints ?? DEFAULT_FAILED_AUTH_POINTS;
  assertPositiveInteger('points', options.points);
  assertPositiveInteger('durationSeconds', options.durationSeconds);
  assertPositiveInteger('failedAuthPoints', failedAuthPoints);
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const sessions = { points: options.points, duration: options.durationSeconds, keyPrefix };
  const failedAuth = { ...sessions, points: failedAuthPoints, keyPrefix: `${keyPrefix}:failed-auth` };
  if (options.redisUrl === undefined) {
    return {
      ...budgetOf(new RateLimiterMemory(sessions), options.durationSeconds),
      failedAuth: budgetOf(new RateLimiterMemory(failedAuth), options.durationSeconds),
      status: () => ({ backend: 'memory' }),
      close: async () => {},
    };
  }
  const redis = connectRedis(options.redisUrl, options.onRedisError ?? (() => {}));
  const shared = (limits: typeof sessions) =>
    new RateLimiterRedis({
      ...limits,
      storeClient: redis,
      insuranceLimiter: new RateLimiterMemory(limits),
      // Not connected: go to the insurance limiter at once rather than queue behind a reconnect.
      rejectIfRedisNotReady: true,
      // No in-memory block once the limit is hit (`inMemoryBlockOnConsumed`): a refund could not
      // lift it, so a point given back would stay unspendable until the window ends.
    });
  return {
    ...budgetOf(shared(sessions), options.durationSeconds),
    failedAuth: budgetOf(shared(failedAuth), options.durationSeconds),
    status: () => ({ backend: 'redis', connected: redis.status === 'ready' }),
    close: () => disconnect(redis),
  };
}

function budgetOf(limiter: RateLimiterAbstract, durationSeconds: number): Budget {
  return {
    consume: (key) => decide(limiter, key, durationSeconds),
    refund: async (key) => {
      await limiter.reward(storageKey(key));
    },
  };
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`rate limit ${name} must be a positive integer, got ${value}`);
}

function connectRedis(url: string, onError: (error: Error) => void): Redis {
  const redis = new Redis(url, {
    connectionName: 'session-gateway-rate-limit',
    // Fail commands now when not connected, and drop the ones in flight when the connection
    // breaks: the insurance limiter answers them. Resending a counter increment after a
    // reconnect could also count one call twice.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    socketTimeout: REDIS_SOCKET_TIMEOUT_MS,
  });
  // Without a listener an 'error' event would crash the process; ioredis keeps reconnecting
  // with capped exponential backoff on its own.
  redis.on('error', onError);
  return redis;
}

async function decide(limiter: RateLimiterAbstract, key: string, durationSeconds: number): Promise<RateLimitDecision> {
  try {
    await limiter.consume(storageKey(key));
    return { allowed: true };
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    return { allowed: false, retryAfterSeconds: retryAfterSeconds(rejection.msBeforeNext, durationSeconds) };
  }
}

// A caller sends many requests in a row; remembering the last identities' digests saves a hash per
// request. Bounded by bytes too: an identity (a JWT's `sub`) may be long.
const storageKeys = new LRUCache<string, string>({
  max: 10_000,
  maxSize: 4 * 1024 * 1024,
  sizeCalculation: (key, identity) => identity.length * 2 + key.length,
});

/** Identities are caller-controlled strings of any length; stored keys are a fixed-size digest that reveals nothing. */
function storageKey(identity: string): string {
  let key = storageKeys.get(identity);
  if (key === undefined) {
    key = createHash('sha256').update(identity).digest('base64url');
    storageKeys.set(identity, key);
  }
  return key;
}

/** Whole seconds until the window ends, within 1..durationSeconds (Retry-After never says 0). */
function retryAfterSeconds(msBeforeNext: number, durationSeconds: number): number {
  return Math.min(durationSeconds, Math.max(1, Math.ceil(msBeforeNext / 1000)));
}

/** Resolves once the socket is closed and no reconnect is pending. */
async function disconnect(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  // QUIT lets replies in flight arrive first.
  const ended = new Promise((resolve) => redis.once('end', resolve));
  await redis.quit().catch(() => redis.disconnect());
  await ended;
}
