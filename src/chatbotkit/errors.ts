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

/** Which limit ran out: the wait for headers, a pause in the body, or the call's overall deadline. */
export type TimeoutPhase = 'headers' | 'body' | 'deadline';

/** No complete answer arrived in time. Never retried: the request may have minted a session. */
export class UpstreamTimeoutError extends ChatBotKitError {
  readonly code = 'UPSTREAM_TIMEOUT';
  readonly phase: TimeoutPhase;

  constructor(timeoutMs: number, phase: TimeoutPhase = 'deadline') {
    super(`no answer from the ChatBotKit API within ${timeoutMs} ms (${phase})`);
    this.phase = phase;
  }
}

/** The caller cancelled the call (the gateway is shutting down); it may or may not have reached the API. */
export class CallCancelledError extends ChatBotKitError {
  readonly code = 'CALL_CANCELLED';

  constructor() {
    super('the call was cancelled before it ended');
  }
}

/** The API could not be reached (connection refused, reset, DNS, TLS, pool closed). */
export class UpstreamUnavailableError extends ChatBotKitError {
  // A plain string, so that the more specific failures below can refine it.
  readonly code: string = 'UPSTREAM_UNAVAILABLE';
  /**
   * False only when the request provably never left (refused, DNS failure, connect timeout),
   * so a retry cannot mint a second session; true when it may have reached the API.
   */
  readonly requestSent: boolean;

  constructor(cause: unknown, requestSent = true, message = 'the ChatBotKit API could not be reached') {
    super(message, { cause });
    this.requestSent = requestSent;
  }
}

/**
 * The circuit breaker is open: recent calls found the API down, so this one was refused
 * without touching the network. A subclass of unavailable, so code that does not know it
 * still treats it as such.
 */
export class UpstreamCircuitOpenError extends UpstreamUnavailableError {
  override readonly code = 'UPSTREAM_CIRCUIT_OPEN';

  constructor() {
    super(undefined, false, 'the ChatBotKit API is failing; calls are refused until a probe succeeds');
  }
}

/** Too many calls were in flight and queued already; this one was refused without touching the network. */
export class UpstreamOverloadedError extends UpstreamUnavailableError {
  override readonly code = 'UPSTREAM_OVERLOADED';

  constructor(maxConcurrent: number, maxQueued: number) {
    super(undefined, false, `${maxConcurrent} calls to the ChatBotKit API in flight and ${maxQueued} waiting already`);
  }
}
