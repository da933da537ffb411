/**
 * The four targets: how each is started, what it is sent, and what a correct answer is.
 */
import { join } from 'node:path';
import packageJson from '../package.json' with { type: 'json' };
import type { Request } from './load.ts';
import { type Child, freePort, startChild } from './processes.ts';

/** `npm start` without its leading `node` (V8 flags, if it ever sets any, then the entry point). */
const START_ARGS = packageJson.scripts.start.split(' ').slice(1);

export type TargetName = 'direct' | 'floor' | 'gateway' | 'peer';
export const TARGET_NAMES: readonly TargetName[] = ['direct', 'floor', 'gateway', 'peer'];

export const CONVERSATION_ID = 'conv_bench';
export const DURATION_SECONDS = 600;

export const MUTATION = `mutation CreateSession { createConversationSession(input: { conversationId: "${CONVERSATION_ID}", durationInSeconds: ${DURATION_SECONDS} }) { __typename ... on ConversationSession { conversationId token expiresAt } } }`;

const GRAPHQL_BODY = JSON.stringify({ query: MUTATION, operationName: 'CreateSession' });
const GRAPHQL_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/graphql-response+json, application/json',
};
const GRAPHQL_PREFIX = `{"data":{"createConversationSession":{"__typename":"ConversationSession","conversationId":"${CONVERSATION_ID}","token":"`;
const DIRECT_PREFIX = `{"id":"${CONVERSATION_ID}","token":"`;

export interface Target {
  name: TargetName;
  child: Child;
  request: Request;
}

export interface StartTargetOptions {
  /** Base URL of the upstream emulator the proxies call. */
  upstreamUrl: string;
  /** Emulator latency, for the `direct` target's own emulator. */
  upstreamLatencyMs: number;
  /** LOG_LEVEL of the gateway. */
  logLevel: string;
  /** Extra environment for the gateway (e.g. NODE_OPTIONS, UPSTREAM_MAX_CONCURRENT); it wins over the bench's own. */
  gatewayEnv: Record<string, string>;
  /** Folder for the gateway's log file. */
  logDir: string;
  scenario: string;
}

export function startUpstream(name: string, latencyMs: number): Promise<Child> {
  return startChild({
    name,
    args: ['bench/upstream.ts'],
    env: { UPSTREAM_LATENCY_MS: String(latencyMs) },
    stdout: 'pipe',
  });
}

export async function startTarget(name: TargetName, options: StartTargetOptions): Promise<Target> {
  const child = await startTargetProcess(name, options);
  return { name, child, request: requestFor(name, child.url) };
}

async function startTargetProcess(name: TargetName, options: StartTargetOptions): Promise<Child> {
  const { upstreamUrl, upstreamLatencyMs, logLevel, logDir, scenario, gatewayEnv } = options;
  switch (name) {
    case 'direct':
      // Its own emulator process, so that its memory and CPU are its own.
      return startUpstream('direct', upstreamLatencyMs);
    case 'floor':
      return startChild({ name, args: ['bench/floor.ts'], env: { UPSTREAM_URL: upstreamUrl }, stdout: 'pipe' });
    case 'peer':
      return startChild({ name, args: ['bench/peer.ts'], env: { UPSTREAM_URL: upstreamUrl }, stdout: 'pipe' });
    case 'gateway': {
      // PORT=0 and the URL from the "gateway listening" line (info), unless the level hides that line.
      const announces = ['info', 'debug', 'trace'].includes(logLevel);
      const port = announces ? 0 : await freePort();
      const file = join(logDir, `${scenario}-gateway.log`);
      return startChild({
        name,
        // Exactly as `npm start` runs it, V8 flags included.
        args: START_ARGS,
        env: {
          CHATBOTKIT_API_URL: upstreamUrl,
          AUTH_MODE: 'none',
          LOG_LEVEL: logLevel,
          // The gateway's largest allowed value; a run never mints this many per window (60 s).
          RATE_LIMIT_POINTS: '1000000',
          PORT: String(port),
          HOST: '127.0.0.1',
          ...gatewayEnv,
        },
        stdout: announces ? { file } : { file, url: `http://127.0.0.1:${port}/graphql` },
      });
    }
  }
}

export function requestFor(name: TargetName, url: string): Request {
  if (name === 'direct') {
    return {
      url: `${url}/api/v1/conversation/${CONVERSATION_ID}/session/create`,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ durationInSeconds: DURATION_SECONDS }),
      verifyBody: (body) => body.startsWith(DIRECT_PREFIX) && body.includes('"expiresAt":'),
    };
  }
  return {
    url,
    method: 'POST',
    headers: GRAPHQL_HEADERS,
    body: GRAPHQL_BODY,
    verifyBody: (body) =>
      body.startsWith(GRAPHQL_PREFIX) && body.includes('","expiresAt":"') && !body.includes('"errors"'),
  };
}

/**
 * Sends a few requests and checks every answer in full: status, content type, the exact shape,
 * the conversation id, a fresh 43-character token each time, and an expiry 600 s from now.
 * Throws with what was wrong, so that a target answering wrongly fails the bench.
 */
export async function verifyTarget(target: Target): Promise<void> {
  const tokens = new Set<string>();
  for (let attempt = 0; attempt < 3; attempt++) {
    const { request } = target;
    const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
    const text = await response.text();
    const fail = (why: string): never => {
      throw new Error(`${target.name} answered wrongly (${why}): HTTP ${response.status} ${text.slice(0, 500)}`);
    };
    if (response.status !== 200) fail('status is not 200');
    if (!(response.headers.get('content-type') ?? '').includes('json')) fail('content type is not JSON');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      fail('body is not JSON');
    }
    const now = Date.now();
    let token: unknown;
    let expiresAtMs: number;
    if (target.name === 'direct') {
      const body = parsed as { id?: unknown; token?: unknown; expiresAt?: unknown };
      if (!sameKeys(body, ['id', 'token', 'expiresAt'])) fail('keys are not id, token, expiresAt');
      if (body.id !== CONVERSATION_ID) fail('wrong id');
      if (typeof body.expiresAt !== 'number') fail('expiresAt is not epoch milliseconds');
      token = body.token;
      expiresAtMs = body.expiresAt as number;
    } else {
      const body = parsed as { data?: { createConversationSession?: Record<string, unknown> } };
      if (!sameKeys(body, ['data'])) fail('top-level keys are not exactly "data"');
      if (!sameKeys(body.data, ['createConversationSession'])) fail('data is not exactly createConversationSession');
      const session = body.data?.createConversationSession;
      if (!sameKeys(session, ['__typename', 'conversationId', 'token', 'expiresAt']))
        fail('selection is not __typename, conversationId, token, expiresAt');
      if (session?.['__typename'] !== 'ConversationSession') fail('__typename is not ConversationSession');
      if (session?.['conversationId'] !== CONVERSATION_ID) fail('wrong conversationId');
      const expiresAt = session?.['expiresAt'];
      if (typeof expiresAt !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(expiresAt))
        fail('expiresAt is not an RFC 3339 UTC string');
      token = session?.['token'];
      expiresAtMs = Date.parse(expiresAt as string);
    }
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token))
      fail('token is not a 43-character base64url string');
    if (tokens.has(token as string)) fail('the same token twice: answers are not fresh from the upstream');
    tokens.add(token as string);
    if (Math.abs(expiresAtMs - (now + DURATION_SECONDS * 1000)) > 60_000) fail('expiresAt is not 600 s from now');
  }
}

function sameKeys(value: unknown, keys: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const actual = Object.keys(value);
  return actual.length === keys.length && keys.every((key) => actual.includes(key));
}
