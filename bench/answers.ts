/**
 * What every target is sent, and what a correct answer is: a cheap check of every answer under
 * load, and a full check of a few answers before any load.
 */
import type { Request } from './load.ts';
import type { Target, TargetKind } from './targets.ts';

export const CONVERSATION_ID = 'conv_bench';
export const DURATION_SECONDS = 600;

export const MUTATION =
  'mutation CreateSession { createConversationSession(' +
  `input: { conversationId: "${CONVERSATION_ID}", durationInSeconds: ${DURATION_SECONDS} }) ` +
  '{ __typename ... on ConversationSession { conversationId token expiresAt } } }';

/**
 * The same call in the schema Mesh generates from the OpenAPI description: the path parameter and
 * the request body are arguments, the answer is the upstream's object (`id`, aliased to
 * `conversationId`, and `expiresAt` in epoch milliseconds, a Float), not a result union.
 */
export const MESH_MUTATION =
  `mutation CreateSession { createConversationSession(conversationId: "${CONVERSATION_ID}", ` +
  `input: { durationInSeconds: ${DURATION_SECONDS} }) { __typename conversationId: id token expiresAt } }`;
const MESH_TYPENAME = 'createConversationSession_200_response';

const GRAPHQL_BODY = JSON.stringify({ query: MUTATION, operationName: 'CreateSession' });
const GRAPHQL_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/graphql-response+json, application/json',
};
const GRAPHQL_PREFIX =
  `{"data":{"createConversationSession":{"__typename":"ConversationSession",` +
  `"conversationId":"${CONVERSATION_ID}","token":"`;
const MESH_PREFIX =
  `{"data":{"createConversationSession":{"__typename":"${MESH_TYPENAME}",` +
  `"conversationId":"${CONVERSATION_ID}","token":"`;
const DIRECT_PREFIX = `{"id":"${CONVERSATION_ID}","token":"`;

/** The request a target of this kind gets, with the check every answer under load must pass. */
export function requestFor(kind: TargetKind, url: string): Request {
  if (kind === 'direct') {
    return {
      url: `${url}/api/v1/conversation/${CONVERSATION_ID}/session/create`,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ durationInSeconds: DURATION_SECONDS }),
      verifyBody: (body) => body.startsWith(DIRECT_PREFIX) && body.includes('"expiresAt":'),
    };
  }
  if (kind === 'hive-mesh') {
    return {
      url,
      method: 'POST',
      headers: GRAPHQL_HEADERS,
      body: JSON.stringify({ query: MESH_MUTATION, operationName: 'CreateSession' }),
      verifyBody: (body) =>
        body.startsWith(MESH_PREFIX) && body.includes('","expiresAt":') && !body.includes('"errors"'),
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
    if (target.kind === 'direct') {
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
      const typename = target.kind === 'hive-mesh' ? MESH_TYPENAME : 'ConversationSession';
      if (session?.['__typename'] !== typename) fail(`__typename is not ${typename}`);
      if (session?.['conversationId'] !== CONVERSATION_ID) fail('wrong conversationId');
      const expiresAt = session?.['expiresAt'];
      token = session?.['token'];
      if (target.kind === 'hive-mesh') {
        // What the OpenAPI description gives: the upstream's epoch milliseconds, as a Float.
        if (typeof expiresAt !== 'number') fail('expiresAt is not epoch milliseconds');
        expiresAtMs = expiresAt as number;
      } else {
        if (typeof expiresAt !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(expiresAt))
          fail('expiresAt is not an RFC 3339 UTC string');
        expiresAtMs = Date.parse(expiresAt as string);
      }
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
