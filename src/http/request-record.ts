import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * What one HTTP request did, gathered while it runs and reported once, by the edge, when it
 * ends: the edge fills in the HTTP facts, the request-facts plugin the GraphQL ones, and the
 * context what the resolvers did (caller, result, upstream call).
 */
export interface RequestRecord {
  requestId: string;
  started: number;
  /** The client's address: the socket's peer, or who a trusted proxy says it forwards for. */
  clientAddress: string;
  /** Set when the known-operation path answered the request rather than Yoga. */
  knownOperation?: boolean;
  operationName?: string | undefined;
  /** Bounded label for metrics: operation type and root fields, e.g. `mutation:createConversationSession`. */
  operation?: string;
  /** The typed result a resolver chose, e.g. `ConversationSession` or `RateLimitedError`. */
  result?: string;
  upstream?: { status: number | undefined; durationMs: number; attempts: number };
  errorCodes?: string[];
  /** The caller's identity, or why the credentials were refused. */
  callerId?: string | undefined;
  /** Why the credentials were refused, or why a known caller may not mint sessions. */
  authFailure?: string | undefined;
  /** The ChatBotKit sub-account user the request's sessions are minted as. */
  runAs?: string | undefined;
  traceId?: string;
}

// A caller's id is kept only when it is short and plain, so it cannot forge log lines or headers.
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// A property of the request rather than a WeakMap entry, which costs the garbage collector more.
const RECORD = Symbol('request record');
type RecordedRequest = IncomingMessage & { [RECORD]?: RequestRecord };

/** Opens the record of a request as it arrives: its id is the caller's `x-request-id`, or a new UUID. */
export function openRecord(request: IncomingMessage, clientAddress: string): RequestRecord {
  const callerRequestId = request.headers['x-request-id'];
  const record: RequestRecord = {
    requestId:
      typeof callerRequestId === 'string' && CALLER_REQUEST_ID.test(callerRequestId) ? callerRequestId : randomUUID(),
    started: performance.now(),
    clientAddress,
  };
  (request as RecordedRequest)[RECORD] = record;
  return record;
}

/**
 * The record the edge opened for a request. A request that never passed the edge (one handed
 * to `yoga.fetch` in process) gets a record of its own that nobody reports.
 */
export function recordOf(request: IncomingMessage | undefined): RequestRecord {
  return (
    (request as RecordedRequest | undefined)?.[RECORD] ?? {
      requestId: randomUUID(),
      started: performance.now(),
      clientAddress: request?.socket.remoteAddress ?? 'unknown',
    }
  );
}
