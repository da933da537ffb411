import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for ChatBotKit's conversation session API, with the same route, headers,
 * bodies and error codes. It is what `npm start` talks to when nothing is configured, and the
 * real HTTP upstream of the tests. Hand-written because no package emulates this API.
 */
export interface EmulatorOptions {
  /** Default 127.0.0.1: the emulator is never meant to be reachable from elsewhere. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** When set, calls must send `Authorization: Bearer <secret>`. */
  secret?: string | undefined;
  /** Delay before each answer, to stand in for the network. Default 0. */
  latencyMs?: number;
}

export interface RunningEmulator {
  /** Base URL to give the client, e.g. `http://127.0.0.1:41234`. */
  url: string;
  close(): Promise<void>;
}

/** Sessions last this long when the caller does not say. */
export const EMULATOR_DEFAULT_DURATION_SECONDS = 3600;

// Ids beginning with this prefix stand for conversations that do not exist.
export const EMULATOR_UNKNOWN_ID_PREFIX = 'unknown';

const ROUTE = /^(?:\/api)?\/v1\/conversation\/([^/]+)\/session\/create$/;
const MAX_BODY_BYTES = 64 * 1024;

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const server = createServer((request, response) => {
    handle(request, response, options).catch(() =>
      answer(response, 500, error('INTERNAL_SERVER_ERROR', 'Internal error')),
    );
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, options: EmulatorOptions): Promise<void> {
  const { pathname } = new URL(request.url ?? '/', 'http://emulator');
  const match = ROUTE.exec(pathname);
  // A route it does not serve gets a web server's plain 404, not ChatBotKit's `NOT_FOUND`, which
  // says that a conversation is unknown: the gateway tells the two apart.
  if (!match) return void response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
  if (request.method !== 'POST') return answer(response, 405, error('METHOD_NOT_ALLOWED', 'Use POST'));
  if (options.secret && request.headers.authorization !== `Bearer ${options.secret}`) {
    return answer(response, 401, error('NOT_AUTHENTICATED', 'Authentication required'));
  }

  const body = await readJsonObject(request);
  if (body === 'too-large') return answer(response, 413, error('CONTENT_TOO_LARGE', 'Request body too large'));
  if (body === 'invalid') return answer(response, 400, error('BAD_REQUEST', 'Request body must be a JSON object'));
  const duration = body['durationInSeconds'] ?? EMULATOR_DEFAULT_DURATION_SECONDS;
  if (typeof duration !== 'number' || !(duration > 0)) {
    return answer(response, 400, error('BAD_REQUEST', 'durationInSeconds must be a positive number'));
  }

  const conversationId = decodeURIComponent(match[1] ?? '');
  if (conversationId.startsWith(EMULATOR_UNKNOWN_ID_PREFIX)) {
    return answer(response, 404, error('NOT_FOUND', 'Conversation not found'));
  }
  if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
  answer(response, 200, {
    id: conversationId,
    token: sessionToken(request.headers['x-runas-user-id']),
    expiresAt: Date.now() + Math.round(duration * 1000),
  });
}

/**
 * A new opaque token. A session minted as a sub-account user (`x-runas-user-id`) carries that
 * user in the token, as `<user id, base64url>.<random>`, so that one can tell whose it is.
 */
function sessionToken(runAsUserId: string | string[] | undefined): string {
  const random = randomBytes(32).toString('base64url');
  return typeof runAsUserId === 'string' ? `${Buffer.from(runAsUserId).toString('base64url')}.${random}` : random;
}

/** The sub-account user an emulator token was minted as, if any. */
export function emulatorRunAsOf(token: string): string | undefined {
  const [user, random] = token.split('.');
  return random === undefined || user === undefined ? undefined : Buffer.from(user, 'base64url').toString();
}

async function readJsonObject(request: IncomingMessage): Promise<Record<string, unknown> | 'invalid' | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : 'invalid';
  } catch {
    return 'invalid';
  }
}

function error(code: string, message: string): { message: string; code: string } {
  return { message, code };
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  response.end(json);
}
