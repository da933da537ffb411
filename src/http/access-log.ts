import type { Logger } from 'pino';
import type { RequestRecord } from './request-record.ts';

const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** How a request ended, as the edge saw it. */
export interface HttpOutcome {
  method: string;
  path: string;
  /** Undefined when the connection closed before an answer was sent. */
  status: number | undefined;
  durationMs: number;
}

/**
 * Writes one line per request: id, client address, caller, operation, result, upstream status, durations and
 * error codes. Probes are logged at debug level, everything else at info.
 */
export function createAccessLog(logger: Logger): (record: RequestRecord, outcome: HttpOutcome) => void {
  // The line's keys are fixed (below) and none is a redacted key, so key-based redaction could
  // never match; skipping it saves ~9 µs of a ~11 µs line (measured). Value scrubbing of the
  // secret still applies to it.
  const lines = logger.child({}, { redact: [] });
  return (record, { method, path, status, durationMs }) => {
    lines[PROBE_PATHS.has(path) ? 'debug' : 'info'](
      {
        requestId: record.requestId,
        traceId: record.traceId,
        method,
        path,
        status,
        aborted: status === undefined || undefined,
        operationName: record.operationName,
        clientAddress: record.clientAddress,
        caller: record.callerId,
        authFailure: record.authFailure,
        runAs: record.runAs,
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
}
