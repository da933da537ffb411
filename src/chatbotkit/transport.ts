import { type Dispatcher, Pool } from 'undici';
import { CallCancelledError, ChatBotKitError, UpstreamTimeoutError, UpstreamUnavailableError } from './errors.ts';

/** How the client reaches the API; part of `ChatBotKitClientOptions`. */
export interface TransportOptions {
  /**
   * Milliseconds to open a connection (TCP and TLS); a connect timeout is retried, as the request
   * was never sent. Default 5000, at most `timeout`. This limit and the two below run on undici's
   * coarse clock (it ticks about every 0.5 s), so small values round up.
   */
  connectTimeout?: number | undefined;
  /** Milliseconds from sending a request to its response headers. Default: no limit of its own; `timeout` bounds it. */
  headersTimeout?: number | undefined;
  /** Milliseconds the response body may pause between two chunks. Default: no limit of its own; `timeout` bounds it. */
  bodyTimeout?: number | undefined;
  /** Most sockets kept open to the API. Default 64. */
  connections?: number | undefined;
}

/** One request to the API; the transport adds the origin, the deadline's signal and its own limits. */
export type UpstreamRequest = Pick<Dispatcher.RequestOptions, 'method' | 'path' | 'headers' | 'body'>;

// Errors of a connection that was never made, so the request cannot have been sent.
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * A call's overall deadline, from the first connect to the last body byte, retries and queueing
 * included; the caller's `cancel` signal ends it early too.
 */
export class Deadline {
  readonly timeoutMs: number;
  /** `performance.now()` when the call started. */
  readonly startedAt = performance.now();
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #cancel: AbortSignal | undefined;
  #cancelled = false;
  readonly #onCancel = () => {
    this.#cancelled = true;
    this.#controller.abort(this.#cancel?.reason);
  };

  constructor(timeoutMs: number, cancel?: AbortSignal) {
    this.timeoutMs = timeoutMs;
    // Not AbortSignal.timeout(): its timer cannot be cancelled, so every finished call would
    // still fire an abort (and build a DOMException) when the deadline passes.
    const expire = () => this.#controller.abort(new DOMException('deadline passed', 'TimeoutError'));
    this.#timer = setTimeout(expire, timeoutMs);
    this.#cancel = cancel;
    if (cancel?.aborted) this.#onCancel();
    else cancel?.addEventListener('abort', this.#onCancel, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the caller's signal, not the deadline, ended the call. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Cancels the timer once the call has ended. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#cancel?.removeEventListener('abort', this.#onCancel);
  }
}

/** The one HTTP client: a keep-alive undici pool to the API's origin, sending one request per attempt. */
export class Transport {
  readonly connections: number;
  readonly #pool: Pool;
  readonly #headersTimeout: number;
  readonly #bodyTimeout: number;

  constructor(origin: string, options: TransportOptions, timeoutMs: number) {
    this.connections = options.connections ?? 64;
    // 0 turns undici's own limits off: the call's deadline is the one that applies.
    this.#headersTimeout = options.headersTimeout ?? 0;
    this.#bodyTimeout = options.bodyTimeout ?? 0;
    this.#pool = new Pool(origin, {
      connections: this.connections,
      keepAliveTimeout: 30_000,
      connect: { timeout: options.connectTimeout ?? Math.min(timeoutMs, 5_000) },
    });
  }

  /** True until `close()` or `destroy()` is called. */
  get isOpen(): boolean {
    return !this.#pool.closed && !this.#pool.destroyed;
  }

  /** Waits for requests in flight, then closes the sockets. */
  async close(): Promise<void> {
    if (this.isOpen) await this.#pool.close();
  }

  /** Closes the sockets now; requests in flight fail as unavailable. */
  async destroy(): Promise<void> {
    if (!this.#pool.destroyed) await this.#pool.destroy();
  }

  /** Sends `request` once within the deadline and hands the response to `read`; every failure is a ChatBotKitError. */
  async attempt<T>(
    request: UpstreamRequest,
    deadline: Deadline,
    read: (response: Dispatcher.ResponseData) => Promise<T>,
  ): Promise<T> {
    try {
      const response = await this.#pool.request({
        ...request,
        signal: deadline.signal,
        headersTimeout: this.#headersTimeout,
        bodyTimeout: this.#bodyTimeout,
      });
      return await read(response);
    } catch (error) {
      throw this.failure(error, deadline);
    }
  }

  /**
   * What a failure of a call means: a ChatBotKitError stays as it is; undici's limits and the
   * deadline (in flight, queued or between attempts) are timeouts; anything else is unreachability.
   */
  failure(error: unknown, deadline: Deadline): ChatBotKitError {
    if (error instanceof ChatBotKitError) return error;
    if (deadline.cancelled) return new CallCancelledError();
    const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return new UpstreamTimeoutError(this.#headersTimeout, 'headers');
    if (code === 'UND_ERR_BODY_TIMEOUT') return new UpstreamTimeoutError(this.#bodyTimeout, 'body');
    if (deadline.signal.aborted) return new UpstreamTimeoutError(deadline.timeoutMs);
    return new UpstreamUnavailableError(error, !(typeof code === 'string' && CONNECT_FAILURES.has(code)));
  }
}
