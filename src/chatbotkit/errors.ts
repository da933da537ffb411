/**
 * Failures of a call to the ChatBotKit API, one class per kind, each with a stable `code`.
 * Callers match on `code` (or `instanceof`); messages are for logs and never carry the
 * secret, a token or the upstream body.
 */
export abstract class ChatBotKitError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An argument was refused before any request was sent. */
export class InvalidArgumentError extends ChatBotKitError {
  readonly code = 'INVALID_ARGUMENT';
  readonly argument: string;

  constructor(argument: string, reason: string) {
    super(reason);
    this.argument = argument;
  }
}

/** The API answered with a non-2xx status; `upstreamCode` is its own code (e.g. `NOT_FOUND`). */
export class UpstreamResponseError extends ChatBotKitError {
  readonly code = 'UPSTREAM_RESPONSE';
  readonly status: number;
  readonly upstreamCode: string;
  /** Seconds from the `Retry-After` header, when the API sent one. */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, upstreamCode: string, message: string, retryAfterSeconds?: number) {
    super(message);
    this.status = status;
    this.upstreamCode = upstreamCode;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The API answered 2xx, but not with the body its contract promises. */
export class MalformedResponseError extends ChatBotKitError {
  readonly code = 'MALFORMED_RESPONSE';
  readonly status: number;

  constructor(status: number, reason: string) {
    super(reason);
    this.status = status;
  }
}

/** No complete answer arrived within the call's timeout. */
export class UpstreamTimeoutError extends ChatBotKitError {
  readonly code = 'UPSTREAM_TIMEOUT';

  constructor(timeoutMs: number) {
    super(`no answer from the ChatBotKit API within ${timeoutMs} ms`);
  }
}

/** The API could not be reached (connection refused, reset, DNS, TLS, pool closed). */
export class UpstreamUnavailableError extends ChatBotKitError {
  readonly code = 'UPSTREAM_UNAVAILABLE';

  constructor(cause: unknown) {
    super('the ChatBotKit API could not be reached', { cause });
  }
}
