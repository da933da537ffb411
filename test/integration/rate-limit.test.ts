import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Budget,
  createRateLimiter,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimiterOptions,
} from '../../src/rate-limit.ts';
import { REDIS_SERVER, startRedis, type TestRedis } from '../helpers/redis.ts';

// Debian's redis-server, which .ci/run installs; the Redis tests skip only where it cannot be installed.
if (!REDIS_SERVER)
  console.warn('SKIPPING the Redis rate-limit tests: redis-server is not on PATH (apt-get install -y redis-server)');

// Windows far longer than a test, so no budget comes back while one runs.
const WINDOW_SECONDS = 600;

async function consumeTimes(limiter: Budget, key: string, times: number): Promise<RateLimitDecision[]> {
  const decisions: RateLimitDecision[] = [];
  for (let i = 0; i < times; i++) decisions.push(await limiter.consume(key));
  return decisions;
}

function expectRefused(decision: RateLimitDecision | undefined): void {
  expect(decision).toEqual({ allowed: false, retryAfterSeconds: expect.any(Number) });
  const { retryAfterSeconds } = decision as { retryAfterSeconds: number };
  expect(Number.isInteger(retryAfterSeconds) && retryAfterSeconds >= 1 && retryAfterSeconds <= WINDOW_SECONDS).toBe(
    true,
  );
}

describe('rate limit in memory', () => {
  it('allows `points` calls, then refuses with the whole seconds left in the window', async () => {
    const limiter = createRateLimiter({ points: 3, durationSeconds: WINDOW_SECONDS });
    const decisions = await consumeTimes(limiter, 'jwt:alice', 5);
    expect(decisions.slice(0, 3)).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
    expectRefused(decisions[3]);
    expectRefused(decisions[4]);
    expect(limiter.status()).toEqual({ backend: 'memory' });
    await limiter.close();
  });

  it('gives every caller identity its own budget, whatever the string', async () => {
    const limiter = createRateLimiter({ points: 1, durationSeconds: WINDOW_SECONDS });
    const identities = [
      'jwt:alice',
      'jwt:bob',
      'ip:127.0.0.1',
      'key:',
      '',
      `jwt:${'x'.repeat(100_000)}`,
      'jwt:ålice\n*:{}',
    ];
    for (const identity of identities) expect(await limiter.consume(identity)).toEqual({ allowed: true });
    for (const identity of identities) expectRefused(await limiter.consume(identity));
  });

  it('gives back refunded points, and keeps the failed-auth budget apart from the sessions', async () => {
    const limiter = createRateLimiter({ points: 1, durationSeconds: WINDOW_SECONDS, failedAuthPoints: 2 });
    expect(await limiter.consume('ip:203.0.113.7')).toEqual({ allowed: true });
    await limiter.refund('ip:203.0.113.7');
    expect(await limiter.consume('ip:203.0.113.7')).toEqual({ allowed: true });
    expectRefused(await limiter.consume('ip:203.0.113.7'));
    expect(await consumeTimes(limiter.failedAuth, 'ip:203.0.113.7', 2)).toEqual([{ allowed: true }, { allowed: true }]);
    expectRefused(await limiter.failedAuth.consume('ip:203.0.113.7'));
  });

  it('refuses limits that are not positive integers', () => {
    expect(() => createRateLimiter({ points: 0, durationSeconds: 60 })).toThrow(RangeError);
    expect(() => createRateLimiter({ points: 10, durationSeconds: 1.5 })).toThrow(RangeError);
    expect(() => createRateLimiter({ points: Number.NaN, durationSeconds: 60 })).toThrow(RangeError);
  });
});

/** Limiters made in a test, closed after it so no connection outlives it. */
function limiterFactory(url: () => string): {
  make(options?: Partial<RateLimiterOptions>): RateLimiter;
  closeAll(): Promise<void>;
} {
  const made: RateLimiter[] = [];
  return {
    make(options = {}) {
      const limiter = createRateLimiter({
        points: 3,
        durationSeconds: WINDOW_SECONDS,
        redisUrl: url(),
        keyPrefix: 'test',
        ...options,
      });
      made.push(limiter);
      return limiter;
    },
    closeAll: async () => {
      await Promise.all(made.splice(0).map((limiter) => limiter.close()));
    },
  };
}

async function connected(...limiters: RateLimiter[]): Promise<void> {
  for (const limiter of limiters)
    await expect.poll(() => limiter.status(), { timeout: 10_000 }).toEqual({ backend: 'redis', connected: true });
}

describe.skipIf(!REDIS_SERVER)('rate limit shared in a real Redis', () => {
  let redis: TestRedis;
  let inspector: Redis;
  const limiters = limiterFactory(() => redis.url);

  beforeAll(async () => {
    redis = await startRedis();
    inspector = new Redis(redis.url);
  });
  afterEach(() => limiters.closeAll());
  afterAll(async () => {
    await inspector?.quit();
    await redis?.close();
  });

  it('shares one budget between two gateway replicas', async () => {
    const keyPrefix = randomUUID();
    const [replicaA, replicaB] = [limiters.make({ keyPrefix }), limiters.make({ keyPrefix })] as const;
    await connected(replicaA, replicaB);
    expect(await consumeTimes(replicaA, 'jwt:alice', 2)).toEqual([{ allowed: true }, { allowed: true }]);
    expect(await replicaB.consume('jwt:alice')).toEqual({ allowed: true });
    expectRefused(await replicaB.consume('jwt:alice'));
    expectRefused(await replicaA.consume('jwt:alice'));
    expect(await replicaB.consume('jwt:bob')).toEqual({ allowed: true });
  });

  it('shares refunds and the failed-auth budget between replicas', async () => {
    const keyPrefix = randomUUID();
    const options = { keyPrefix, points: 1, failedAuthPoints: 1 };
    const [replicaA, replicaB] = [limiters.make(options), limiters.make(options)] as const;
    await connected(replicaA, replicaB);
    expect(await replicaA.consume('jwt:alice')).toEqual({ allowed: true });
    await replicaB.refund('jwt:alice');
    expect(await replicaB.consume('jwt:alice')).toEqual({ allowed: true });
    expectRefused(await replicaA.consume('jwt:alice'));
    expect(await replicaA.failedAuth.consume('ip:203.0.113.7')).toEqual({ allowed: true });
    expectRefused(await replicaB.failedAuth.consume('ip:203.0.113.7'));
  });

  it('lets refunds lift a refusal: points given back after the limit was hit can be spent', async () => {
    const limiter = limiters.make({ keyPrefix: randomUUID(), points: 1, failedAuthPoints: 2 });
    await connected(limiter);
    // Three new tokens at once from one address: two reserve, the third is refused; the two
    // then mint and give their points back, so the address can try again at once.
    expect(await consumeTimes(limiter.failedAuth, 'ip:203.0.113.7', 2)).toEqual([{ allowed: true }, { allowed: true }]);
    expectRefused(await limiter.failedAuth.consume('ip:203.0.113.7'));
    await limiter.failedAuth.refund('ip:203.0.113.7');
    await limiter.failedAuth.refund('ip:203.0.113.7');
    expect(await limiter.failedAuth.consume('ip:203.0.113.7')).toEqual({ allowed: true });
  });

  it('stores a fixed-size digest of the identity under the prefix, never the identity', async () => {
    const keyPrefix = randomUUID();
    const limiter = limiters.make({ keyPrefix });
    await connected(limiter);
    await limiter.consume('ip:203.0.113.7');
    await limiter.consume(`jwt:${'x'.repeat(10_000)}`);
    const keys = await inspector.keys(`${keyPrefix}:*`);
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key).toMatch(new RegExp(`^${keyPrefix}:[A-Za-z0-9_-]{43}$`));
    expect(await inspector.ttl(keys[0] ?? '')).toBeGreaterThan(0);
  });

  it('closes its Redis connection on close()', async () => {
    const limiter = limiters.make();
    await connected(limiter);
    const limiterConnections = async () =>
      String(await inspector.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(' name=session-gateway-rate-limit ')).length;
    expect(await limiterConnections()).toBe(1);
    await limiter.close();
    expect(limiter.status()).toEqual({ backend: 'redis', connected: false });
    await expect.poll(limiterConnections).toBe(0);
  });
});

describe.skipIf(!REDIS_SERVER)('rate limit when Redis fails', () => {
  let redis: TestRedis;
  const limiters = limiterFactory(() => redis.url);

  // Each test breaks its server, so each gets its own.
  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await limiters.closeAll();
    await redis?.close();
  });

  it('keeps limiting per replica in memory while Redis is down, and shares again once it is back', {
    timeout: 30_000,
  }, async () => {
    const errors: Error[] = [];
    const [replicaA, replicaB] = [
      limiters.make({ points: 2, onRedisError: (error) => errors.push(error) }),
      limiters.make({ points: 2 }),
    ] as const;
    await connected(replicaA, replicaB);

    await redis.stop();
    expect(await consumeTimes(replicaA, 'jwt:alice', 2)).toEqual([{ allowed: true }, { allowed: true }]);
    expectRefused(await replicaA.consume('jwt:alice'));
    // Replica B counts on its own while nothing is shared.
    expect(await replicaB.consume('jwt:alice')).toEqual({ allowed: true });
    await expect.poll(() => replicaA.status()).toEqual({ backend: 'redis', connected: false });
    await expect.poll(() => errors.length).toBeGreaterThan(0);

    await redis.start();
    await connected(replicaA, replicaB);
    expect(await consumeTimes(replicaA, 'jwt:carol', 2)).toEqual([{ allowed: true }, { allowed: true }]);
    expectRefused(await replicaB.consume('jwt:carol'));
  });

  it('answers from memory when Redis stops answering, then treats it as disconnected', {
    timeout: 30_000,
  }, async () => {
    const limiter = limiters.make({ points: 1 });
    await connected(limiter);
    redis.pause();
    try {
      // Waits for the command timeout, then the in-memory limiter answers.
      expect(await limiter.consume('jwt:alice')).toEqual({ allowed: true });
      await expect.poll(() => limiter.status(), { timeout: 15_000 }).toEqual({ backend: 'redis', connected: false });
      expect(await limiter.consume('jwt:bob')).toEqual({ allowed: true });
      expectRefused(await limiter.consume('jwt:bob'));
    } finally {
      redis.resume();
    }
  });
});
