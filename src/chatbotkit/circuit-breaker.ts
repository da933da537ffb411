import {
  CallCancelledError,
  ChatBotKitError,
  UpstreamCircuitOpenError,
  UpstreamOverloadedError,
  UpstreamResponseError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from './errors.ts';

/*
 * Hand-written rather than taken from cockatiel because its semantics differ where it matters:
 * its half-open breaker makes other callers wait for the probe instead of failing fast, and its
 * closed breaker is not reset by a 4xx.
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

/** What the end of a call says about the upstream: it answered, it is down, or it was never reached. */
export type UpstreamVerdict = 'up' | 'down' | 'unknown';

/** 5xx, timeouts and unreachability say the upstream is down; any other answer says it is up. */
export function verdictOf(error: unknown): UpstreamVerdict {
  if (
    !(error instanceof ChatBotKitError) ||
    error instanceof CallCancelledError ||
    error instanceof UpstreamCircuitOpenError ||
    error instanceof UpstreamOverloadedError
  ) {
    return 'unknown';
  }
  if (error instanceof UpstreamResponseError) return error.status >= 500 ? 'down' : 'up';
  return error instanceof UpstreamTimeoutError || error instanceof UpstreamUnavailableError ? 'down' : 'up';
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
