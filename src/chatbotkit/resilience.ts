import {
  ChatBotKitError,
  UpstreamCircuitOpenError,
  UpstreamOverloadedError,
  UpstreamResponseError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from './errors.ts';

/**
 * The client's defences against a misbehaving upstream: which failures may be retried, a
 * circuit breaker and a bulkhead. Written here rather than taken from cockatiel because its
 * semantics differ where it matters: its half-open breaker makes other callers wait for the
 * probe instead of failing fast, its closed breaker is not reset by a 4xx, its bulkhead queue
 * ignores abort signals (a queued call would outlive its deadline), and its retry can neither
 * give up when `Retry-After` exceeds the budget nor abort a backoff wait.
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

/** What the end of a call says about the upstream: it answered, it is down, or it was never reached. */
export type UpstreamVerdict = 'up' | 'down' | 'unknown';

/** 5xx, timeouts and unreachability say the upstream is down; any other answer says it is up. */
export function verdictOf(error: unknown): UpstreamVerdict {
  if (
    !(error instanceof ChatBotKitError) ||
    error instanceof UpstreamCircuitOpenError ||
    error instanceof UpstreamOverloadedError
  ) {
    return 'unknown';
  }
  if (error instanceof UpstreamResponseError) return error.status >= 500 ? 'down' : 'up';
  return error instanceof UpstreamTimeoutError || error instanceof UpstreamUnavailableError ? 'down' : 'up';
}

/**
 * Only failures after which no session can have been minted: the request never left, or the
 * API said 429 (other than `LIMITS_REACHED`, which waiting does not lift) or 503.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof UpstreamUnavailableError) return !error.requestSent;
  if (!(error instanceof UpstreamResponseError)) return false;
  return error.status === 503 || (error.status === 429 && error.upstreamCode !== 'LIMITS_REACHED');
}

/**
 * Milliseconds to wait before retry number `retry` (1, 2, …): `baseMs` doubled each time and
 * jittered down by up to half so that many callers do not retry in step; a longer
 * `Retry-After` wins.
 */
export function retryWaitMs(error: unknown, retry: number, baseMs: number): number {
  const backoff = baseMs * 2 ** (retry - 1) * (0.5 + Math.random() / 2);
  const retryAfterSeconds = error instanceof UpstreamResponseError ? error.retryAfterSeconds : undefined;
  return Math.max(backoff, (retryAfterSeconds ?? 0) * 1000);
}

export interface CircuitBreakerOptions {
  threshold: number;
  halfOpenAfterMs: number;
  onChange?: ((state: CircuitState) => void) | undefined;
}

/**
 * Opens after `threshold` consecutive calls found the upstream down and refuses calls while
 * open. Once `halfOpenAfterMs` have passed, the next call goes through as the only probe
 * (others keep failing fast); its verdict closes the circuit or opens it again.
 */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
  }

  /** `open` until the next call after the delay turns it `half-open`. */
  get state(): CircuitState {
    return this.#state;
  }

  /** Lets a call through or throws UpstreamCircuitOpenError; true when the call is the probe. */
  admit(): boolean {
    if (this.#state === 'closed') return false;
    if (this.#state === 'open' && performance.now() - this.#openedAt >= this.#options.halfOpenAfterMs) {
      this.#set('half-open');
      return true;
    }
    throw new UpstreamCircuitOpenError();
  }

  /** Records how an admitted call ended; `probe` is what `admit()` returned for it. */
  record(probe: boolean, verdict: UpstreamVerdict): void {
    if (probe) {
      this.#settleProbe(verdict);
      return;
    }
    // A call let through before the circuit opened says nothing about the upstream now.
    if (this.#state !== 'closed' || verdict === 'unknown') return;
    this.#failures = verdict === 'down' ? this.#failures + 1 : 0;
    if (this.#failures >= this.#options.threshold) this.#open();
  }

  #settleProbe(verdict: UpstreamVerdict): void {
    if (verdict === 'up') {
      this.#failures = 0;
      this.#set('closed');
    } else if (verdict === 'down') {
      this.#open();
    } else {
      // The probe never reached the upstream: keep the old opening time, so the next call probes.
      this.#set('open');
    }
  }

  #open(): void {
    this.#openedAt = performance.now();
    this.#set('open');
  }

  #set(state: CircuitState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#options.onChange?.(state);
  }
}

/**
 * At most `limit` calls run at once and `maxQueued` more wait for a slot, each only until its
 * signal aborts; beyond that a call fails at once with UpstreamOverloadedError.
 */
export class Bulkhead {
  readonly #limit: number;
  readonly #maxQueued: number;
  readonly #waiting: (() => void)[] = [];
  #active = 0;

  constructor(limit: number, maxQueued: number) {
    this.#limit = limit;
    this.#maxQueued = maxQueued;
  }

  get inFlight(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  async run<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  async #acquire(signal: AbortSignal): Promise<void> {
    if (this.#active < this.#limit) {
      this.#active++;
      return;
    }
    if (this.#waiting.length >= this.#maxQueued) throw new UpstreamOverloadedError(this.#limit, this.#maxQueued);
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', leave);
        resolve();
      };
      const leave = (): void => {
        this.#waiting.splice(this.#waiting.indexOf(grant), 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', leave, { once: true });
      this.#waiting.push(grant);
    });
  }

  // A freed slot passes straight to the next waiter, so no newcomer can jump the queue.
  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active--;
  }
}
