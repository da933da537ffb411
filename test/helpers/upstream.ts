import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';

/** One request as the upstream saw it. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Identifies the TCP connection, to see keep-alive reuse. */
  socket: string;
}

/** What the scripted upstream does with a request. */
export type UpstreamReply =
  /** `until`: answer only once it settles, for a test that needs a call held in flight. */
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number; until?: Promise<unknown> }
  | 'hang'
  | 'reset'
  /** Sends a 200's headers and part of the body, then nothing. */
  | 'stall-body';

export interface ScriptedUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Replaces the reply for the requests that follow. */
  reply(reply: UpstreamReply | ((request: RecordedRequest) => UpstreamReply)): void;
  /**
   * Answers the next requests with these replies, one each (replacing any still unused), then
   * falls back to `reply`'s.
   */
  script(...replies: UpstreamReply[]): void;
  close(): Promise<void>;
}

export interface ScriptedUpstreamOptions {
  /** Listen on this port (e.g. one a closed upstream used) instead of a free one. */
  port?: number;
}

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers as scripted: a
 * status and body (a string is sent as is, anything else as JSON), a delay, a hang, a reset
 * or a body that stops half way; either always the same way, or request by request.
 */
export async function startScriptedUpstream(
  initial: UpstreamReply = { status: 200, body: {} },
  options: ScriptedUpstreamOptions = {},
): Promise<ScriptedUpstream> {
  let script: UpstreamReply | ((request: RecordedRequest) => UpstreamReply) = initial;
  const queued: UpstreamReply[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const recorded: RecordedRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      socket: `${request.socket.remoteAddress}:${request.socket.remotePort}`,
    };
    requests.push(recorded);
    const reply = queued.shift() ?? (typeof script === 'function' ? script(recorded) : script);
    if (reply === 'hang') return;
    if (reply === 'reset') return void request.socket.destroy();
    if (reply === 'stall-body') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.write('{"id":"conv1",');
    }
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (reply.until) await reply.until;
    send(response, reply.status, reply.body, reply.headers);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    reply: (next) => {
      script = next;
    },
    script: (...replies) => {
      queued.splice(0, queued.length, ...replies);
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(text);
}

/** A valid session answer, as ChatBotKit sends it. */
export function sessionBody(
  conversationId = 'conv1',
  token = 'tok_secret_value_123',
): { id: string; token: string; expiresAt: number } {
  return { id: conversationId, token, expiresAt: Date.UTC(2030, 0, 1) };
}

/**
 * A reply that answers ChatBotKit's session route (under `prefix`, where its /v1 routes start) as
 * ChatBotKit would for any conversation it names: a session with this token, or 404 for any other route.
 */
export function sessionForRoute(
  token = 'tok_secret_value_123',
  prefix = '/api/v1',
): (request: RecordedRequest) => UpstreamReply {
  return (request) => {
    const route = request.url.startsWith(`${prefix}/`) ? request.url.slice(prefix.length) : '';
    const id = /^\/conversation\/([^/?#]*)\/session\/create$/.exec(route)?.[1];
    let decoded: string | undefined;
    try {
      decoded = id === undefined ? undefined : decodeURIComponent(id);
    } catch {
      decoded = undefined;
    }
    return decoded === undefined
      ? { status: 404, body: { message: 'Route not found', code: 'NOT_FOUND' } }
      : { status: 200, body: sessionBody(decoded, token) };
  };
}

export interface SilentServer {
  /** An `https://` URL: the TLS handshake never completes, so a client's connect timeout fires. */
  url: string;
  /** TCP connections accepted so far: one per connection attempt. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that accepts connections and never says a word. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
