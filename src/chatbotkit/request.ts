import { FormData } from 'undici';
import type { UpstreamRequest } from './transport.ts';

/*
 * The SDK's generic surface: how `clientFetch(path, options)` becomes one HTTP request, with the
 * SDK's path, query, body and header conventions.
 */

/** What every call carries, as the SDK's client options of the same names; part of `ChatBotKitClientOptions`. */
export interface IdentityOptions {
  /** API secret, sent as `Authorization: Bearer`. Default: none (an emulator or an authenticating proxy). */
  secret?: string | undefined;
  /** Act as this sub-account user (`x-runas-user-id`). */
  runAsUserId?: string | undefined;
  /** IANA time zone sent as `x-timezone`. */
  timezone?: string | undefined;
  /** Extra headers sent with every call. */
  headers?: Record<string, string> | undefined;
}

/** What one `clientFetch` call sends, as in the SDK. */
export interface FetchRequestOptions {
  /** JSON body; implies POST. */
  data?: Record<string, unknown>;
  /** Search parameters; a nested object becomes `key.sub=value`. */
  query?: Record<string, unknown>;
  /** Sent as multipart form field `file`; implies POST. */
  file?: { data: string | ArrayBuffer; name?: string; type?: string };
  headers?: Record<string, string>;
  /** Sent as `x-request-id` so both sides' logs line up. */
  requestId?: string;
  /** Act as this sub-account user for this call only, instead of the client's `runAsUserId`. */
  runAsUserId?: string | undefined;
}

/** The request for `clientFetch(path, options)` against `baseUrl`. */
export function buildRequest(
  baseUrl: URL,
  identity: IdentityOptions,
  path: string,
  options: FetchRequestOptions,
): UpstreamRequest {
  return {
    method: options.data || options.file ? 'POST' : 'GET',
    path: resolveApiPath(baseUrl, path) + encodeQuery(options.query),
    headers: buildHeaders(identity, options),
    body: encodeBody(options) ?? null,
  };
}

/**
 * The SDK's paths start with `/api/v1`. A base URL ending in `/v1` is where those routes start, so
 * only the rest of the path is appended (`https://host/api/v1` + `/conversation/…`). Otherwise, as
 * in the SDK, the API's own host serves the paths without `/api` and other hosts keep it.
 */
export function resolveApiPath(baseUrl: URL, path: string): string {
  const base = baseUrl.pathname.replace(/\/$/, '');
  if (base.endsWith('/v1')) return base + path.replace(/^\/api\/v1(?=\/)/, '');
  const apiPath = baseUrl.hostname === 'api.chatbotkit.com' ? path.replace(/^\/api\//, '/') : path;
  return base + apiPath;
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

function encodeBody(options: FetchRequestOptions): string | FormData | undefined {
  if (options.file) {
    const { data, name = 'file', type = 'application/octet-stream' } = options.file;
    const form = new FormData();
    for (const [key, value] of Object.entries(options.data ?? {})) form.append(key, String(value));
    form.append('file', new Blob([data], { type }), name);
    return form;
  }
  return options.data && JSON.stringify(options.data);
}

// The client's identity comes last, so no per-call header can replace it; a per-call
// `authorization` stands in only where no secret is configured, and a per-call run-as user only
// through its own option.
function buildHeaders(identity: IdentityOptions, options: FetchRequestOptions): Record<string, string> {
  const { secret, timezone, headers } = identity;
  const runAsUserId = options.runAsUserId ?? identity.runAsUserId;
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
