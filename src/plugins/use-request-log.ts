import { randomUUID } from 'node:crypto';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';

/** What one HTTP request did, gathered while it runs and logged as one line when it ends. */
export interface RequestRecord {
  requestId: string;
  started: number;
  operationName?: string | undefined;
  upstream?: { status: number | undefined; durationMs: number };
  errorCodes?: string[];
  /** The caller's identity, or why the credentials were refused. */
  callerId?: string | undefined;
  authFailure?: string;
}

// A caller's id is kept only when it is short and plain, so it cannot forge log lines or headers.
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Gives every request an id (the caller's `x-request-id`, or a new UUID), returns it in the
 * response, and logs one line per request: id, operation, upstream status, durations, error codes.
 */
export function createRequestLog(logger: Logger) {
  const records = new WeakMap<Request, RequestRecord>();

  const recordOf = (request: Request): RequestRecord => {
    let record = records.get(request);
    if (!record) {
      const callerId = request.headers.get('x-request-id');
      record = { requestId: callerId && CALLER_REQUEST_ID.test(callerId) ? callerId : randomUUID(), started: performance.now() };
      records.set(request, record);
    }
    return record;
  };

  const plugin: Plugin<{ request: Request }> = {
    onRequest({ request }) {
      recordOf(request);
    },
    onExecute({ args }) {
      const record = recordOf(args.contextValue.request);
      record.operationName = getOperationAST(args.document, args.operationName)?.name?.value;
      return {
        onExecuteDone({ result }) {
          if ('errors' in result && result.errors) {
            record.errorCodes = result.errors.map((error) => String(error.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR'));
          }
        },
      };
    },
    onResponse({ request, response }) {
      const record = recordOf(request);
      response.headers.set('x-request-id', record.requestId);
      const path = new URL(request.url).pathname;
      logger[PROBE_PATHS.has(path) ? 'debug' : 'info'](
        {
          requestId: record.requestId,
          method: request.method,
          path,
          status: response.status,
          operationName: record.operationName,
          caller: record.callerId,
          authFailure: record.authFailure,
          upstreamStatus: record.upstream?.status,
          upstreamMs: record.upstream && Math.round(record.upstream.durationMs),
          durationMs: Math.round(performance.now() - record.started),
          errorCodes: record.errorCodes,
        },
        'request',
      );
    },
  };

  return { plugin, recordOf };
}
