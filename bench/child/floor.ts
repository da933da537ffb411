/**
 * Child process: the "floor" target, the least work any Node gateway for this mutation must do.
 *
 * node:http in; the conversation id and duration taken from the GraphQL document with a regular
 * expression (no GraphQL parse, validation or execution); one undici `Pool` request out to the
 * upstream; the upstream JSON reshaped into the same GraphQL answer the gateway gives. No logging,
 * no auth, no limits. UPSTREAM_URL names the upstream; prints `{"url": ".../graphql"}` when it listens.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const upstream = new URL(process.env['UPSTREAM_URL'] ?? 'http://127.0.0.1:1');
// Default undici Pool: unlimited sockets, keep-alive, no pipelining.
const pool = new Pool(upstream.origin, { keepAliveTimeout: 30_000 });
const basePath = upstream.pathname.replace(/\/$/, '');

const ID = /conversationId\s*:\s*"([A-Za-z0-9_-]{1,64})"/;
const DURATION = /durationInSeconds\s*:\s*(\d+)/;

interface UpstreamSession {
  id: string;
  token: string;
  expiresAt: number;
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    handle(request, Buffer.concat(chunks).toString('utf8'), response).catch((error: unknown) => {
      send(response, 502, {
        errors: [{ message: 'Upstream failed.', extensions: { code: 'UPSTREAM_UNAVAILABLE', cause: String(error) } }],
      });
    });
  });
});

async function handle(request: IncomingMessage, text: string, response: ServerResponse): Promise<void> {
  if (request.method !== 'POST') return send(response, 405, { errors: [{ message: 'POST only' }] });
  let query: unknown;
  try {
    query = (JSON.parse(text) as { query?: unknown }).query;
  } catch {
    return send(response, 400, { errors: [{ message: 'Body is not JSON.' }] });
  }
  const id = typeof query === 'string' ? ID.exec(query)?.[1] : undefined;
  if (!id) return send(response, 400, { errors: [{ message: 'No conversationId.' }] });
  const duration = typeof query === 'string' ? DURATION.exec(query)?.[1] : undefined;

  const { statusCode, body } = await pool.request({
    method: 'POST',
    path: `${basePath}/api/v1/conversation/${id}/session/create`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: duration ? `{"durationInSeconds":${duration}}` : '{}',
  });
  const session = (await body.json()) as UpstreamSession;
  if (statusCode !== 200)
    return send(response, 502, { errors: [{ message: 'Upstream error.', extensions: { code: 'UPSTREAM_ERROR' } }] });
  send(response, 200, {
    data: {
      createConversationSession: {
        __typename: 'ConversationSession',
        conversationId: session.id,
        token: session.token,
        expiresAt: new Date(session.expiresAt).toISOString(),
      },
    },
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  response.end(json);
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/graphql` })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeIdleConnections();
  void pool.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
