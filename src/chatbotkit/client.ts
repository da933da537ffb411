import { FormData, Pool } from 'undici';
import {
  MalformedResponseError,
  UpstreamResponseError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from './errors.ts';

export const DEFAULT_BASE_URL = 'https://api.chatbotkit.com';

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
  /** Milliseconds a call may take, connect to last body byte. Default 30000. */
  timeout?: number | undefined;
  /** Most sockets kept open to the API. Default 64. */
  connections?: number | undefined;
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
  /** Sent as `x-request-id` so both sides' logs line up. */
  requestId?: string;
  /** Told how the call ended: the status when one arrived, and how long it took. */
  onSettled?: (outcome: { status: number | undefined; durationMs: number }) => void;
}

// The API's answers are a few hundred bytes; anything far larger is not one of them.
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** The transport every ChatBotKit resource client shares: one keep-alive pool to the API origin. */
export class ChatBotKitClient {
  readonly baseUrl: URL;
  readonly #options: ChatBotKitClientOptions;
  readonly #pool: Pool;
  readonly #timeout: number;

  constructor(options: ChatBotKitClientOptions = {}) {
    this.#options = options;
    this.baseUrl = new URL(options.baseUrl ?? DEFAULT_BASE_URL);
    this.#timeout = options.timeout ?? 30_000;
    this.#pool = new Pool(this.baseUrl.origin, {
      connections: options.connections ?? 64,
      keepAliveTimeout: 30_000,
      connect: { timeout: Math.min(this.#timeout, 10_000) },
    });
  }

  /** True until `close()` is called. */
  get isOpen(): boolean {
    return !this.#pool.closed && !this.#pool.destroyed;
  }

  /** Waits for calls in flight, then closes the sockets. */
  async close(): Promise<void> {
    if (this.isOpen) await this.#pool.close();
  }

  /** Closes the sockets now; calls in flight fail as unavailable. */
  async destroy(): Promise<void> {
    if (!this.#pool.destroyed) await this.#pool.destroy();
  }

  /** Calls `path` (an SDK path such as `/api/v1/...`) and returns the parsed JSON answer. */
  async clientFetch(path: string, options: FetchOptions = {}): Promise<unknown> {
    const timeout = options.timeout ?? this.#timeout;
    const started = performance.now();
    let status: number | undefined;
    try {
      const response = await this.#pool.request({
        method: options.data || options.file ? 'POST' : 'GET',
        path: resolveApiPath(this.baseUrl, path) + encodeQuery(options.query),
        headers: this.#headers(options),
        body: encodeBody(options) ?? null,
        signal: AbortSignal.timeout(timeout),
      });
      status = response.statusCode;
      const text = await readText(response.body, status);
      if (status < 200 || status > 299) {
        throw parseErrorResponse(status, text, response.headers['retry-after']);
      }
      return parseJson(status, text);
    } catch (error) {
      throw classifyFailure(error, timeout);
    } finally {
      options.onSettled?.({ status, durationMs: performance.now() - started });
    }
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
async function readText(body: AsyncIterable<Buffer> & { destroy(): void }, status: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      if (status >= 200 && status <= 299) throw new MalformedResponseError(status, `answer larger than ${MAX_RESPONSE_BYTES} bytes`);
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
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
  const code = typeof fields['code'] === 'string' ? fields['code'] : status === 413 ? 'CONTENT_TOO_LARGE' : 'GENERIC_ERROR';
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

function classifyFailure(error: unknown, timeout: number): Error {
  if (error instanceof UpstreamResponseError || error instanceof MalformedResponseError) return error;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'HeadersTimeoutError' || error.name === 'BodyTimeoutError')) {
    return new UpstreamTimeoutError(timeout);
  }
  return new UpstreamUnavailableError(error);
}
