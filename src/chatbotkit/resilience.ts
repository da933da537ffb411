import { setTimeout as sleep } from 'node:timers/promises';
import { Bulkhead } from './bulkhead.ts';
import { CircuitBreaker, type CircuitState, verdictOf } from './circuit-breaker.ts';
import { UpstreamResponseError, UpstreamUnavailableError } from './errors.ts';
import type { Deadline } from './transport.ts';

export type { CircuitState } from './circuit-breaker.ts';

/*
 * The retry and refusal policy around a call's attempts: the circuit breaker, the bulkhead, and
 * which failures are retried after how long. Hand-written: cockatiel's retry can neither give up
 * when `Retry-After` exceeds the budget nor abort a backoff wait, and undici's retry interceptor
 * decides on status and headers alone (it cannot tell `LIMITS_REACHED` from a passing rate limit)
 * and shortens a long `Retry-After` to its `maxTimeout` instead of giving up.
 */

/** When calls are retried or refused; part of `ChatBotKitClientOptions`. */
export interface ResilienceOptions {
  /**
   * Extra attempts after a failure that cannot have minted a session: the connection failed
   * before the request was sent, or the API answered 429 (not `LIMITS_REACHED`) or 503. Default 2.
   */
  retries?: number | undefined;
  /** Milliseconds before the first retry; doubles on each retry, jittered; a longer `Retry-After` wins. Default 250. */
  retryDelay?: number | undefined;
  /**
   * Milliseconds after the start of a call within which retries may happen: a retry whose wait
   * would end later is not begun, and the caller gets the last failure at once. Default: half of
   * the call's `timeout`, so that the last attempt keeps at least half of the deadline.
   */
  retryTimeout?: number | undefined;
  /** Consecutive calls finding the API down (5xx, timeout, unreachable) that open the circuit. Default 5. */
  circuitThreshold?: number | undefined;
  /** Milliseconds the open circuit refuses calls before one probe call may go through. Default 10000. */
  circuitHalfOpenAfter?: number | undefined;
  /** Told every change of the circuit's state. It runs inside a call, so it must not throw. */
  onCircuitChange?: ((state: CircuitState) => void) | undefined;
  /** Most calls in flight at once (retries included). Default: `connections`. */
  maxConcurrent?: number | undefined;
  /**
   * Most calls waiting for a free slot, each until its deadline; more fail at once with
   * UpstreamOverloadedError. Default 100.
   */
  maxQueued?: number | undefined;
}

/** One call's allowance of retries, and the attempts it made so far. */
export interface RetryBudget {
  readonly deadline: Deadline;
  readonly retries: number;
  /** `performance.now()` after which no retry starts. */
  readonly retryUntil: number;
  attempts: number;
}

/**
 * Only failures after which no session can have been minted: the request never left, or the
 * API said 429 (other than `LIMITS_REACHED`, which waiting does not lift) or 503.
 */
function isRetryable(error: unknown): boolean {
  if (error instanceof UpstreamUnavailableError) return !error.requestSent;
  if (!(error instanceof UpstreamResponseError)) return false;
  return error.status === 503 || (error.status === 429 && error.upstreamCode !== 'LIMITS_REACHED');
}

/**
 * Milliseconds to wait before retry number `retry` (1, 2, …): `baseMs` doubled each time and
 * jittered down by up to half so that many callers do not retry in step; a longer
 * `Retry-After` wins.
 */
function retryWaitMs(error: unknown, retry: number, baseMs: number): number {
  const backoff = baseMs * 2 ** (retry - 1) * (0.5 + Math.random() / 2);
  const retryAfterSeconds = error instanceof UpstreamResponseError ? error.retryAfterSeconds : undefined;
  return Math.max(backoff, (retryAfterSeconds ?? 0) * 1000);
}

/** The circuit breaker, the bulkhead and the retries every call of one client goes through. */
export class Resilience {
  readonly #options: ResilienceOptions;
  readonly #circuit: CircuitBreaker;
  readonly #bulkhead: Bulkhead;

  constructor(options: ResilienceOptions, connections: number) {
    this.#options = options;
    this.#circuit = new CircuitBreaker({
      threshold: options.circuitThreshold ?? 5,
      halfOpenAfterMs: options.circuitHalfOpenAfter ?? 10_000,
      onChange: options.onCircuitChange,
    });
    this.#bulkhead = new Bulkhead(options.maxConcurrent ?? connections, options.maxQueued ?? 100);
  }

  get circuit(): CircuitState {
    return this.#circuit.state;
  }

  get inFlight(): number {
    return this.#bulkhead.inFlight;
  }

  get queued(): number {
    return this.#bulkhead.queued;
  }

  /** A new call's budget; `retries` overrides the client's for this call. */
  budget(deadline: Deadline, retries: number | undefined): RetryBudget {
    const retryWindowMs = Math.min(this.#options.retryTimeout ?? deadline.timeoutMs / 2, deadline.timeoutMs);
    return {
      deadline,
      retries: retries ?? this.#options.retries ?? 2,
      retryUntil: deadline.startedAt + retryWindowMs,
      attempts: 0,
    };
  }

  /**
   * Runs `attempt` until it succeeds or its failure may not be retried; fails fast while the
   * circuit is open or the bulkhead full, and tells the circuit how the call as a whole ended.
   */
  async run<T>(attempt: () => Promise<T>, budget: RetryBudget): Promise<T> {
    const probe = this.#circuit.admit();
    let result: T;
    try {
      result = await this.#bulkhead.run(() => this.#withRetries(attempt, budget), budget.deadline.signal);
    } catch (error) {
      this.#circuit.record(probe, verdictOf(error));
      throw error;
    }
    this.#circuit.record(probe, 'up');
    return result;
  }

  async #withRetries<T>(attempt: () => Promise<T>, budget: RetryBudget): Promise<T> {
    for (;;) {
      budget.attempts++;
      try {
        return await attempt();
      } catch (error) {
        if (!this.#mayRetry(error, budget)) throw error;
        const wait = retryWaitMs(error, budget.attempts, this.#options.retryDelay ?? 250);
        // Waiting beyond the budget would only delay the same failure: the caller gets it now.
        if (performance.now() + wait > budget.retryUntil) throw error;
        await sleep(wait, undefined, { signal: budget.deadline.signal });
      }
    }
  }

  // A probe gets one attempt, and no call keeps retrying into a circuit that opened meanwhile.
  #mayRetry(error: unknown, budget: RetryBudget): boolean {
    return budget.attempts <= budget.retries && this.#circuit.state === 'closed' && isRetryable(error);
  }
}
