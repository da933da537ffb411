import { randomUUID } from 'node:crypto';
import { type DocumentNode, getOperationAST, Kind, type OperationDefinitionNode, type SelectionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../observability/metrics.ts';

/** What one HTTP request did, gathered while it runs and reported once when it ends. */
export interface RequestRecord {
  requestId: string;
  started: number;
  /** Set when our onRequest saw the request (a CORS preflight is answered before it runs). */
  counted?: boolean;
  operationName?: string | undefined;
  /** Bounded label for metrics: operation type and root fields, e.g. `mutation:createConversationSession`. */
  operation?: string;
  /** The typed result a resolver chose, e.g. `ConversationSession` or `RateLimitedError`. */
  result?: string;
  upstream?: { status: number | undefined; durationMs: number; attempts: number };
  errorCodes?: string[];
  /** The caller's identity, or why the credentials were refused. */
  callerId?: string | undefined;
  authFailure?: string;
  traceId?: string;
}

// A caller's id is kept only when it is short and plain, so it cannot forge log lines or headers.
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const KNOWN_PATHS = new Set(['/graphql', '/healthz', '/readyz', '/metrics']);
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Gives every request an id (the caller's `x-request-id`, or a new UUID) and returns it in the
 * response; when the request ends, logs one line (id, caller, operation, result, upstream
 * status, durations, error codes) and feeds the metrics. Yoga's requests report through
 * `plugin`; the known-operation path calls the same steps itself.
 */
export function createRequestLog(logger: Logger, metrics: GatewayMetrics) {
  // The request line's keys are fixed (below) and none is a redacted key, so key-based
  // redaction could never match; skipping it saves ~9 µs of a ~11 µs line (measured). Value
  // scrubbing of the secret still applies to it.
  const requestLines = logger.child({}, { redact: [] });
  const records = new WeakMap<Request, RequestRecord>();

  const newRecord = (callerRequestId: string | null): RequestRecord => ({
    requestId: callerRequestId && CALLER_REQUEST_ID.test(callerRequestId) ? callerRequestId : randomUUID(),
    started: performance.now(),
  });

  const recordOf = (request: Request): RequestRecord => {
    let record = records.get(request);
    if (!record) {
      record = newRecord(request.headers.get('x-request-id'));
      records.set(request, record);
    }
    return record;
  };

  /** The request is being handled: it counts as in flight until `ended`. */
  const started = (record: RequestRecord): void => {
    record.counted = true;
    metrics.requestStarted();
  };

  const operationStarted = (
    record: RequestRecord,
    document: DocumentNode,
    operationName: string | null | undefined,
  ): void => {
    const operation = getOperationAST(document, operationName);
    record.operationName = operation?.name?.value;
    record.operation = operation ? operationLabel(document, operation) : 'unknown';
  };

  const operationEnded = (
    record: RequestRecord,
    errors: readonly { extensions?: Record<string, unknown> | undefined }[] | undefined,
  ): void => {
    if (errors)
      record.errorCodes = errors.map((error) => String(error.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR'));
  };

  const ended = (record: RequestRecord, method: string, path: string, status: number): void => {
    const durationMs = performance.now() - record.started;
    metrics.requestEnded(KNOWN_PATHS.has(path) ? path : 'other', status, record.counted === true);
    if (record.operation)
      metrics.operationEnded(record.operation, record.errorCodes?.[0] ?? record.result ?? 'ok', durationMs / 1000);
    requestLines[PROBE_PATHS.has(path) ? 'debug' : 'info'](
      {
        requestId: record.requestId,
        traceId: record.traceId,
        method,
        path,
        status,
        operationName: record.operationName,
        caller: record.callerId,
        authFailure: record.authFailure,
        result: record.result,
        upstreamStatus: record.upstream?.status,
        upstreamMs: record.upstream && Math.round(record.upstream.durationMs),
        upstreamAttempts: record.upstream?.attempts,
        durationMs: Math.round(durationMs),
        errorCodes: record.errorCodes,
      },
      'request',
    );
  };

  const plugin: Plugin<{ request: Request }> = {
    onRequest({ request }) {
      started(recordOf(request));
    },
    onExecute({ args }) {
      const record = recordOf(args.contextValue.request);
      operationStarted(record, args.document, args.operationName);
      return {
        onExecuteDone({ result }) {
          if ('errors' in result) operationEnded(record, result.errors);
        },
      };
    },
    onResponse({ request, response }) {
      const record = recordOf(request);
      response.headers.set('x-request-id', record.requestId);
      ended(record, request.method, new URL(request.url).pathname, response.status);
    },
  };

  return { plugin, recordOf, newRecord, started, operationStarted, operationEnded, ended };
}

export type RequestLog = ReturnType<typeof createRequestLog>;

// Yoga hands the same parsed document to every request with the same text, so each label is computed once.
const labels = new WeakMap<OperationDefinitionNode, string>();

function operationLabel(document: DocumentNode, operation: OperationDefinitionNode): string {
  let label = labels.get(operation);
  if (label === undefined) {
    label = `${operation.operation}:${rootFields(document, operation.selectionSet.selections)}`;
    labels.set(operation, label);
  }
  return label;
}

/** Root field names of an operation, sorted and unique (fragments followed), e.g. `sessionGateway`. */
function rootFields(document: DocumentNode, selections: readonly SelectionNode[]): string {
  const names = new Set<string>();
  const visit = (items: readonly SelectionNode[]): void => {
    for (const item of items) {
      if (item.kind === Kind.FIELD) names.add(item.name.value);
      else if (item.kind === Kind.INLINE_FRAGMENT) visit(item.selectionSet.selections);
      else {
        const fragment = document.definitions.find(
          (definition) => definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === item.name.value,
        );
        if (fragment?.kind === Kind.FRAGMENT_DEFINITION) visit(fragment.selectionSet.selections);
      }
    }
  };
  visit(selections);
  return [...names].sort().join(',');
}
