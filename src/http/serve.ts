import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { App } from '../app.ts';
import type { Config } from '../config.ts';
import type { ServiceInfo } from '../context.ts';
import { GraphQLErrorCode, SHUTTING_DOWN_MESSAGE } from '../schema/errors.ts';
import { recordOf } from './request-record.ts';

/** What listening needs of the configuration. */
type ServeConfig = Pick<Config, 'host' | 'port' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'maxConnections'>;

/**
 * Listens, with bounds on slow clients and on connections, and knows how to drain: refuse new
 * connections, close kept-alive ones, bound the wait.
 */
export function serve(app: App, config: Readonly<ServeConfig>, logger: Logger, service: ServiceInfo) {
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  const timeouts = {
    // A client that trickles its headers or body is answered 408 and closed (Node's default waits 300 s).
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // How often Node looks for such clients (default 30 s, which would stretch a 10 s limit to 40 s).
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(config.headersTimeoutMs / 4))),
  };
  const server = createServer(timeouts, (request, response) => {
    // While draining, every answer tells the client to close its connection.
    if (draining) response.shouldKeepAlive = false;
    inFlight.add(response);
    response.on('close', () => inFlight.delete(response));
    app.handle(request, response);
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    logger.fatal({ address: config.host, port: config.port, code: error.code }, listenProblem(error, config));
    logger.flush(() => process.exit(1));
  });
  // Connections beyond it are closed as they arrive, before they cost a request.
  server.maxConnections = config.maxConnections;
  server.listen(config.port, config.host, () => {
    const { address, port } = server.address() as AddressInfo;
    const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/graphql`;
    logger.info({ url, ...service }, 'gateway listening');
  });

  /**
   * Requests still running at the deadline do not hold the process: their upstream calls are
   * cancelled, so that they answer 503 `SHUTTING_DOWN` themselves; whatever still has no answer
   * a moment later (waiting for something else) gets that answer here, then every connection closes.
   */
  const drain = async (timeoutMs: number): Promise<void> => {
    draining = true;
    for (const response of inFlight) response.shouldKeepAlive = false;
    let cutOff: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      logger.warn({ requests: inFlight.size }, 'drain deadline reached: answering the requests in flight 503');
      app.cancelRequests();
      cutOff = setTimeout(() => {
        for (const response of inFlight) answerShuttingDown(response);
        server.closeAllConnections();
      }, CANCELLED_ANSWER_GRACE_MS).unref();
    }, timeoutMs).unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearTimeout(deadline);
    clearTimeout(cutOff);
  };
  return { drain };
}

/** One line and no stack: what could not be bound, why, and what to do about it. */
function listenProblem({ code, message }: NodeJS.ErrnoException, { host, port }: Readonly<ServeConfig>): string {
  const where = `cannot listen on ${host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return `${where}: the port is already in use; stop what listens there, or set PORT (or --port) to a free port`;
    case 'EACCES':
      return `${where}: permission denied (ports below 1024 need privileges); set PORT (or --port) to 1024 or above`;
    case 'EADDRNOTAVAIL':
      return `${where}: this host has no such address; set HOST to one of its addresses, 0.0.0.0 or ::`;
    default:
      return `${where}: ${message}`;
  }
}

// Time for cancelled requests to write their own answers before the rest are answered here.
const CANCELLED_ANSWER_GRACE_MS = 500;

/** The edge logs this answer like any other: 503, `SHUTTING_DOWN`. */
function answerShuttingDown(response: ServerResponse): void {
  if (response.headersSent) return;
  recordOf(response.req).errorCodes = [GraphQLErrorCode.ShuttingDown];
  const body = JSON.stringify({
    errors: [{ message: SHUTTING_DOWN_MESSAGE, extensions: { code: GraphQLErrorCode.ShuttingDown } }],
  });
  response.writeHead(503, { 'content-type': 'application/json; charset=utf-8', connection: 'close' }).end(body);
}
