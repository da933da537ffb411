import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, FormData, Pool } from 'undici';
import {
  ChatBotKitError,
  MalformedResponseError,
  UpstreamResponseError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from './errors.ts';
import { DEFAULT_BASE_URL } from './options.ts';
import { Bulkhead, CircuitBreaker, type CircuitState, isRetryable, retryWaitMs, verdictOf } from './resilience.ts';

export type { CircuitState } from './resilience.ts';

// Defined with the upstream's options; re-exported for the code that still imports it from here.
export { DEFAULT_BASE_URL };

/** Options of a ChatBotKit client, as in the SDK's `ChatBotKitClientOptions` where they fit a server. */
export interface ChatBotKitClientOptions {
  /** API secret, sent as `Authorization: Bearer`. Default: none (an emulator or an authenticating proxy). */
  secret?: string | undefined;
  /** Where the API lives. Default `https://api.chatbotkit.com`. */
  baseUrl?: string | undefined;
  /** Act as this sub-account user (`x-runas-user-id`). */
  runAsUserId?: string | undefined;
  /** IANA time zone sent as `x-timezone`. */
  timezone?: string | undefined;
  /** Extra headers sent with every call. */
  headers?: Record<string, string> | undefined;
  /** Overall deadline of a call in milliseconds, from the first connect to the last body byte, retries and queueing included. Default 30000. */
  timeout?: number | undefined;
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
  /**
   * Extra attempts after a failure that cannot have minted a session: the connection failed
   * before the request was sent, or the API answered 429 (not `LIMITS_REACHED`) or 503. Default 2.
   */
  retries?: number | undefined;
  /** Milliseconds before the first retry; doubles on each retry, jittered, and a longer `Retry-After` wins. Default 250. */
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
  /** Most sockets kept open to the API. Default 64. */
  connections?: number | undefined;
  /** Most calls in flight at once (retries included). Default: `connections`. */
  maxConcurrent?: number | undefined;
  /** Most calls waiting for a free slot, each until its deadline; more fail with UpstreamOverloadedError. Default 100. */
  maxQueued?: number | undefined;
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
export interface FetchOptions {
  /** JSON body; implies POST. */
  data?: Record<string, unknown>;
  /** Search parameters; a nested object becomes `key.sub=value`. */
  query?: Record<string, unknown>;
  /** Sent as multipart form field `file`; implies POST. */
  file?: { data: string | ArrayBuffer; name?: string; type?: string };
  headers?: Record<string, string>;
  /** Overrides the client's timeout for this call. */
  timeout?: number;
  /** Overrides the client's retries for this call. */
  retries?: number;
  /** Sent as `x-request-id` so both sides' logs line up. */
  requestId?: string;
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

// The API's answers are a few hundred bytes; anything far larger is not one of them.
const MAX_RESPONSE_BYTES = 1024 * 1024;

// Errors of a connection that was never made, so the request cannot have been sent.
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

type UndiciRequest = Omit<Dispatcher.RequestOptions, 'origin'>;

/** One call's limits and what happened so far. */
interface Call {
  deadline: AbortSignal;
  timeoutMs: number;
  retries: number;
  /** `performance.now()` after which no retry starts. */
  retryUntil: number;
  attempts: number;
  status: number | undefined;
}

/** The transport every ChatBotKit resource client shares: one keep-alive pool to the API origin. */
export class ChatBotKitClient {
  readonly baseUrl: URL;
  readonly #options: ChatBotKitClientOptions;
  readonly #pool: Pool;
  readonly #timeout: number;
  readonly #circuit: CircuitBreaker;
  readonly #bulkhead: Bulkhead;

  constructor(options: ChatBotKitClientOptions = {}) {
    this.#options = options;
    this.baseUrl = new URL(options.baseUrl ?? DEFAULT_BASE_URL);
    this.#timeout = options.timeout ?? 30_000;
    const connections = options.connections ?? 64;
    this.#pool = new Pool(this.baseUrl.origin, {
      connections,
      keepAliveTimeout: 30_000,
      connect: { timeout: options.connectTimeout ?? Math.min(this.#timeout, 5_000) },
    });
    this.#circuit = new CircuitBreaker({
      threshold: options.circuitThreshold ?? 5,
      halfOpenAfterMs: options.circuitHalfOpenAfter ?? 10_000,
      onChange: options.onCircuitChange,
    });
    this.#bulkhead = new Bulkhead(options.maxConcurrent ?? connections, options.maxQueued ?? 100);
  }

  /** True until `close()` is called. */
  get isOpen(): boolean {
    return !this.#pool.closed && !this.#pool.destroyed;
  }

  /** The pool, the circuit and the load, for readiness probes and dashboards. */
  health(): ClientHealth {
    return {
      open: this.isOpen,
      circuit: this.#circuit.state,
      inFlight: this.#bulkhead.inFlight,
      queued: this.#bulkhead.queued,
    };
  }

  /** Waits for calls in flight, then closes the sockets. */
  async close(): Promise<void> {
    if (this.isOpen) await this.#pool.close();
  }

  /** Closes the sockets now; calls in flight fail as unavailable. */
  async destroy(): Promise<void> {
    if (!this.#pool.destroyed) await this.#pool.destroy();
  }

  /**
   * Calls `path` (an SDK path such as `/api/v1/...`) and returns the parsed JSON answer. The
   * circuit breaker, the bulkhead, retries and the deadline all apply to the call as a whole.
   */
  async clientFetch(path: string, options: FetchOptions = {}): Promise<unknown> {
    const started = performance.now();
    const timeoutMs = options.timeout ?? this.#timeout;
    // Not AbortSignal.timeout(): its timer cannot be cancelled, so every finished call would
    // still fire an abort (and build a DOMException) when the deadline passes.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('deadline passed', 'TimeoutError')), timeoutMs);
    const call: Call = {
      deadline: deadline.signal,
      timeoutMs,
      retries: options.retries ?? this.#options.retries ?? 2,
      retryUntil: started + Math.min(this.#options.retryTimeout ?? timeoutMs / 2, timeoutMs),
      attempts: 0,
      status: undefined,
    };
    const request = this.#request(path, options);
    try {
      return await this.#guarded(() => this.#withRetries(request, call), call.deadline);
    } catch (error) {
      throw this.#classify(error, call);
    } finally {
      clearTimeout(timer);
      options.onSettled?.({ status: call.status, durationMs: performance.now() - started, attempts: call.attempts });
    }
  }

  /** Fails fast while the circuit is open or the bulkhead full; tells the circuit how the call ended. */
  async #guarded<T>(run: () => Promise<T>, deadline: AbortSignal): Promise<T> {
    const probe = this.#circuit.admit();
    let result: T;
    try {
      result = await this.#bulkhead.run(run, deadline);
    } catch (error) {
      this.#circuit.record(probe, verdictOf(error));
      throw error;
    }
    this.#circuit.record(probe, 'up');
    return result;
  }

  async #withRetries(request: UndiciRequest, call: Call): Promise<unknown> {
    for (;;) {
      try {
        return await this.#attempt(request, call);
      } catch (error) {
        if (!this.#mayRetry(error, call)) throw error;
        const wait = retryWaitMs(error, call.attempts, this.#options.retryDelay ?? 250);
        // Waiting beyond the budget would only delay the same failure: the caller gets it now.
        if (performance.now() + wait > call.retryUntil) throw error;
        await sleep(wait, undefined, { signal: call.deadline });
      }
    }
  }

  // A probe gets one attempt, and no call keeps retrying into a circuit that opened meanwhile.
  #mayRetry(error: unknown, call: Call): boolean {
    return call.attempts <= call.retries && this.#circuit.state === 'closed' && isRetryable(error);
  }

  async #attempt(request: UndiciRequest, call: Call): Promise<unknown> {
    call.attempts++;
    call.status = undefined;
    try {
      const response = await this.#pool.request({ ...request, signal: call.deadline });
      call.status = response.statusCode;
      return await readAnswer(response);
    } catch (error) {
      throw this.#classify(error, call);
    }
  }

  #request(path: string, options: FetchOptions): UndiciRequest {
    return {
      method: options.data || options.file ? 'POST' : 'GET',
      path: resolveApiPath(this.baseUrl, path) + encodeQuery(options.query),
      headers: this.#headers(options),
      body: encodeBody(options) ?? null,
      // 0 turns undici's own limits off: the call's deadline is the one that applies.
      headersTimeout: this.#options.headersTimeout ?? 0,
      bodyTimeout: this.#options.bodyTimeout ?? 0,
    };
  }

  #classify(error: unknown, call: Call): ChatBotKitError {
    if (error instanceof ChatBotKitError) return error;
    const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
    if (code === 'UND_ERR_HEADERS_TIMEOUT')
      return new UpstreamTimeoutError(this.#options.headersTimeout ?? 0, 'headers');
    if (code === 'UND_ERR_BODY_TIMEOUT') return new UpstreamTimeoutError(this.#options.bodyTimeout ?? 0, 'body');
    if (call.deadline.aborted) return new UpstreamTimeoutError(call.timeoutMs);
    return new UpstreamUnavailableError(error, !(typeof code === 'string' && CONNECT_FAILURES.has(code)));
  }

  #headers(options: FetchOptions): Record<string, string> {
    const { secret, runAsUserId, timezone, headers } = this.#options;
    return {
      ...headers,
      ...options.headers,
      accept: 'application/json',
      ...(options.data && { 'content-type': 'application/json' }),
      ...(secret && { authorization: `Bearer ${secret}` }),
      ...(runAsUserId && { 'x-runas-user-id': runAsUserId }),
      ...(timezone && { 'x-timezone': timezone }),
      ...(options.requestId && { 'x-request-id': options.requestId }),
    };
  }
}

/** The SDK's paths start with `/api`; the API's own host serves them without it, others keep it. */
export function resolveApiPath(baseUrl: URL, path: string): string {
  const apiPath = baseUrl.hostname === 'api.chatbotkit.com' ? path.replace(/^\/api\//, '/') : path;
  return baseUrl.pathname.replace(/\/$/, '') + apiPath;
}

function encodeBody(options: FetchOptions): string | FormData | undefined {
  if (options.file) {
    const { data, name = 'file', type = 'application/octet-stream' } = options.file;
    const form = new FormData();
    for (const [key, value] of Object.entries(options.data ?? {})) form.append(key, String(value));
    form.append('file', new Blob([data], { type }), name);
    return form;
  }
  return options.data && JSON.stringify(options.data);
}

/** `{ a: 1, b: { c: 2 } }` → `?a=1&b.c=2`, as the SDK encodes queries. */
export function encodeQuery(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  const add = (prefix: string, value: unknown): void => {
    if (value === undefined || value === null) return;
    if (typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) add(`${prefix}.${key}`, inner);
    } else {
      params.append(prefix, String(value));
    }
  };
  for (const [key, value] of Object.entries(query)) add(key, value);
  const encoded = params.toString();
  return encoded ? `?${encoded}` : '';
}

/**
 * Reads at most MAX_RESPONSE_BYTES. A larger success body is refused; a larger error body is
 * cut off, so that its status (a 429, say) still decides what the caller sees.
 */
function readText(body: Dispatcher.ResponseData['body'], status: number): Promise<string> {
  // Events rather than `for await`: a stream's async iterator cost more than the rest of the read.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => resolve(Buffer.concat(chunks).toString('utf8'));
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_RESPONSE_BYTES) {
        chunks.push(chunk);
      } else if (status >= 200 && status <= 299) {
        body.destroy();
        reject(new MalformedResponseError(status, `answer larger than ${MAX_RESPONSE_BYTES} bytes`));
      } else {
        body.destroy();
        finish();
      }
    });
    body.once('end', finish);
    body.once('error', reject);
  });
}

/** A 2xx must be declared JSON and parse as JSON; any other status becomes an UpstreamResponseError. */
async function readAnswer({ statusCode: status, headers, body }: Dispatcher.ResponseData): Promise<unknown> {
  const success = status >= 200 && status <= 299;
  if (success && !isJsonMediaType(headers['content-type'])) {
    // Drains a small body so the connection can be reused; undici closes it when the body is large.
    await body.dump();
    throw new MalformedResponseError(status, 'answer is not declared as JSON');
  }
  const text = await readText(body, status);
  if (!success) throw parseErrorResponse(status, text, headers['retry-after']);
  return parseJson(status, text);
}

/** `application/json` or a `+json` type, parameters aside; a missing type is not JSON. */
function isJsonMediaType(contentType: unknown): boolean {
  if (typeof contentType !== 'string') return false;
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[^/]+\+json$/.test(type);
}

function parseJson(status: number, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new MalformedResponseError(status, 'answer is not JSON');
  }
}

/** The API's `{ message, code }`, or the SDK's fallbacks when the body is not that. */
function parseErrorResponse(status: number, text: string, retryAfter: unknown): UpstreamResponseError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code =
    typeof fields['code'] === 'string' ? fields['code'] : status === 413 ? 'CONTENT_TOO_LARGE' : 'GENERIC_ERROR';
  const message = typeof fields['message'] === 'string' ? fields['message'] : `ChatBotKit API answered ${status}`;
  return new UpstreamResponseError(status, code, message, parseRetryAfter(retryAfter));
}

// A longer wait is not a rate limit but a broken or hostile header.
const MAX_RETRY_AFTER_SECONDS = 86_400;

/** `Retry-After` as whole seconds from now (delta-seconds or an HTTP date), at most a day. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Math.ceil((Date.parse(value) - now) / 1000);
  return Number.isNaN(seconds) ? undefined : Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, seconds));
}
