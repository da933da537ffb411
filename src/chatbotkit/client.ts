import { readAnswer } from './answer.ts';
import { DEFAULT_BASE_URL } from './options.ts';
import { buildRequest, type FetchRequestOptions, type IdentityOptions } from './request.ts';
import { type CircuitState, Resilience, type ResilienceOptions } from './resilience.ts';
import { Deadline, Transport, type TransportOptions } from './transport.ts';

export type { CircuitState } from './resilience.ts';

/**
 * Options of a ChatBotKit client, as in the SDK's `ChatBotKitClientOptions` where they fit a
 * server; each part is documented beside the code that uses it.
 */
export interface ChatBotKitClientOptions extends IdentityOptions, TransportOptions, ResilienceOptions {
  /** Where the API lives. Default `https://api.chatbotkit.com`. */
  baseUrl?: string | undefined;
  /**
   * Overall deadline of a call in milliseconds, from the first connect to the last body byte,
   * retries and queueing included. Default 30000.
   */
  timeout?: number | undefined;
}

/** How a call ended, for logs and metrics. */
export interface CallOutcome {
  /** The last answer's status; undefined when the last attempt got none. */
  status: number | undefined;
  durationMs: number;
  /** Requests sent to (or attempted at) the API: 0 when the circuit or the bulkhead refused the call. */
  attempts: number;
}

/** One call's options, as in the SDK's `clientFetch`. */
export interface FetchOptions extends FetchRequestOptions {
  /** Overrides the client's timeout for this call. */
  timeout?: number;
  /** Overrides the client's retries for this call. */
  retries?: number;
  /** Cancels the call (queued, in flight or between retries): it fails with CallCancelledError. */
  signal?: AbortSignal;
  /** Told how the call ended: the last status, how long it took, and how many attempts it made. */
  onSettled?: (outcome: CallOutcome) => void;
}

/** What `/readyz` and dashboards want to know about the client. */
export interface ClientHealth {
  /** False once `close()` or `destroy()` was called. */
  open: boolean;
  circuit: CircuitState;
  inFlight: number;
  queued: number;
}

/** What every ChatBotKit resource client shares: the transport, the answer's reading, and the resilience policy. */
export class ChatBotKitClient {
  readonly baseUrl: URL;
  readonly #options: ChatBotKitClientOptions;
  readonly #timeoutMs: number;
  readonly #transport: Transport;
  readonly #resilience: Resilience;

  constructor(options: ChatBotKitClientOptions = {}) {
    this.#options = options;
    this.baseUrl = new URL(options.baseUrl ?? DEFAULT_BASE_URL);
    this.#timeoutMs = options.timeout ?? 30_000;
    this.#transport = new Transport(this.baseUrl.origin, options, this.#timeoutMs);
    this.#resilience = new Resilience(options, this.#transport.connections);
  }

  /** True until `close()` is called. */
  get isOpen(): boolean {
    return this.#transport.isOpen;
  }

  /** The pool, the circuit and the load, for readiness probes and dashboards. */
  health(): ClientHealth {
    const { circuit, inFlight, queued } = this.#resilience;
    return { open: this.isOpen, circuit, inFlight, queued };
  }

  /** Waits for calls in flight, then closes the sockets. */
  close(): Promise<void> {
    return this.#transport.close();
  }

  /** Closes the sockets now; calls in flight fail as unavailable. */
  destroy(): Promise<void> {
    return this.#transport.destroy();
  }

  /**
   * Calls `path` (an SDK path such as `/api/v1/...`) and returns the parsed JSON answer. The
   * circuit breaker, the bulkhead, retries and the deadline all apply to the call as a whole.
   */
  async clientFetch(path: string, options: FetchOptions = {}): Promise<unknown> {
    // The request first: the deadline arms a timer and listens to the shutdown signal, which only
    // the `finally` below releases.
    const request = buildRequest(this.baseUrl, this.#options, path, options);
    const deadline = new Deadline(options.timeout ?? this.#timeoutMs, options.signal);
    const budget = this.#resilience.budget(deadline, options.retries);
    let status: number | undefined;
    const attempt = () => {
      status = undefined;
      return this.#transport.attempt(request, deadline, (response) => {
        status = response.statusCode;
        return readAnswer(response);
      });
    };
    try {
      return await this.#resilience.run(attempt, budget);
    } catch (error) {
      throw this.#transport.failure(error, deadline);
    } finally {
      deadline.clear();
      const durationMs = performance.now() - deadline.startedAt;
      options.onSettled?.({ status, durationMs, attempts: budget.attempts });
    }
  }
}
