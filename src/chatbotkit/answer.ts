import type { Dispatcher } from 'undici';
import { MalformedResponseError, UpstreamResponseError } from './errors.ts';

/*
 * Reading and checking the API's answer: a 2xx must be declared JSON and parse as JSON; any
 * other status becomes an UpstreamResponseError with the API's own code, or the SDK's fallbacks.
 */

// The API's answers are a few hundred bytes; anything far larger is not one of them.
const MAX_RESPONSE_BYTES = 1024 * 1024;

// A longer wait is not a rate limit but a broken or hostile header.
const MAX_RETRY_AFTER_SECONDS = 86_400;

/** The parsed JSON of a 2xx answer; throws MalformedResponseError or UpstreamResponseError otherwise. */
export async function readAnswer({ statusCode: status, headers, body }: Dispatcher.ResponseData): Promise<unknown> {
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

/** `Retry-After` as whole seconds from now (delta-seconds or an HTTP date), at most a day. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Math.ceil((Date.parse(value) - now) / 1000);
  return Number.isNaN(seconds) ? undefined : Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, seconds));
}

/**
 * Reads at most MAX_RESPONSE_BYTES. A larger success body is refused; a larger error body is
 * cut off, so that its status (a 429, say) still decides what the caller sees. Not undici's
 * `maxResponseSize`: it fails error answers as well, and their status would be lost.
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
