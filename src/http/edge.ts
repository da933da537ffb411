import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../observability/metrics.ts';
import { startServerSpan } from '../observability/tracing.ts';
import { createAccessLog } from './access-log.ts';
import type { ClientAddress } from './client-address.ts';
import { isLoopbackHostname } from './options.ts';
import { openRecord } from './request-record.ts';

export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface EdgeOptions {
  logger: Logger;
  metrics: GatewayMetrics;
  /** Largest request body accepted, by its Content-Length. */
  maxBodyBytes: number;
  /** Where requests go once the edge has let them in: the known-operation path or Yoga. */
  route: NodeHandler;
  /** The client's address, computed here once for both paths (src/http/client-address.ts). */
  clientAddress: ClientAddress;
  /** The address the server listens on (HOST): bound to loopback, only loopback Host names are let in. */
  listenHost: string;
}

const METRIC_PATHS = new Set(['/graphql', '/healthz', '/readyz', '/metrics']);
// Probes come every few seconds from every replica's orchestrator: no span for them.
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The one node-level handler every request passes: it gives the request its id (returned in
 * `x-request-id`) and its client address, refuses a bad Host and bodies over the limit before anything reads them,
 * counts it in flight, runs it inside a SERVER span in the caller's trace, and when it ends
 * reports it once: metrics, the span's outcome and the access log line, from its record.
 */
export function createEdge(options: EdgeOptions): NodeHandler {
  const { logger, metrics, maxBodyBytes, route, clientAddress, listenHost } = options;
  const writeAccessLine = createAccessLog(logger);
  const loopbackOnly = isLoopbackHostname(listenHost.includes(':') ? `[${listenHost}]` : listenHost);
  return (request, response) => {
    const record = openRecord(request, clientAddress(request));
    const method = request.method ?? 'GET';
    const path = pathOf(request.url);
    response.setHeader('x-request-id', record.requestId);
    metrics.requestStarted();
    const span = UNTRACED_PATHS.has(path) ? undefined : startServerSpan(request, method, path);
    if (span?.traceId) record.traceId = span.traceId;
    response.once('close', () => {
      const status = response.writableFinished ? response.statusCode : undefined;
      const durationMs = performance.now() - record.started;
      span?.end(record, status);
      metrics.requestEnded(record, { path: METRIC_PATHS.has(path) ? path : 'other', status, durationMs });
      writeAccessLine(record, { method, path, status, durationMs });
    });

    const refusal =
      hostRefusal(request.headers.host, loopbackOnly) ?? bodyRefusal(method, request.headers, maxBodyBytes);
    if (refusal) {
      // Closing, so that node does not read and throw away a refused body to keep the connection.
      const headers = { 'content-type': 'text/plain; charset=utf-8', connection: 'close' };
      response.writeHead(refusal.status, headers).end(refusal.message);
    } else if (span) {
      span.run(() => route(request, response));
    } else {
      route(request, response);
    }
  };
}

interface Refusal {
  status: number;
  message: string;
}

/**
 * A Host that makes no URL would fail deeper down (Yoga answers it with a stack trace). Bound to
 * loopback, the gateway is meant for this machine only: a page on another site whose name an
 * attacker re-pointed at 127.0.0.1 (DNS rebinding) reaches it with that site's name as its Host.
 */
function hostRefusal(host: string | undefined, loopbackOnly: boolean): Refusal | undefined {
  if (host === undefined) return undefined;
  if (!URL.canParse(`http://${host}`)) return { status: 400, message: 'The Host header is not a valid host.' };
  if (loopbackOnly && !isLoopbackHostname(new URL(`http://${host}`).hostname)) {
    return { status: 400, message: 'This gateway listens on loopback: it answers only Host localhost or 127.0.0.1.' };
  }
  return undefined;
}

/** A URL's hostname that names this machine: localhost, 127.0.0.0/8 or [::1]. */
/**
 * Bodies are refused by their declared length, before a byte is read; a POST without one (a
 * chunked body of unknown size) is refused too, as no GraphQL client needs to send one.
 */
function bodyRefusal(method: string, headers: IncomingHttpHeaders, maxBytes: number): Refusal | undefined {
  if (method !== 'POST') return undefined;
  const contentLength = headers['content-length'];
  if (contentLength === undefined) return { status: 411, message: 'A Content-Length header is required.' };
  if (!/^\d+$/.test(contentLength) || Number(contentLength) > maxBytes) {
    return { status: 413, message: `Request bodies are limited to ${maxBytes} bytes.` };
  }
  return undefined;
}

function pathOf(url: string | undefined): string {
  const path = url ?? '/';
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}
