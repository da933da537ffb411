import { UpstreamOverloadedError } from './errors.ts';

/*
 * Hand-written, as neither undici nor cockatiel does what it must:
 * - undici 8's Pool does take a request whose signal aborts out of its queue unsent, but the
 *   queue has no bound (no option refuses a request when it is full) and the Pool limits sockets,
 *   not calls: over HTTP/2, which it negotiates by default, one socket carries up to 100 requests.
 *   A call would also give its place back between retries and queue again behind newer calls,
 *   and onSettled could not tell a call that expired in the queue (0 attempts) from one that
 *   reached the API.
 * - cockatiel's bulkhead queue ignores abort signals: a queued call would outlive its deadline.
 */

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

  /** Runs `fn` in a slot, waiting for one until `signal` aborts; the slot is freed however `fn` ends. */
  async run<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  // Counts the slot synchronously, so that calls started in one tick see each other.
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
