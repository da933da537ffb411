import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/chatbotkit/answer.ts';
import { ChatBotKitClient } from '../../src/chatbotkit/client.ts';
import { ConversationSessionClient } from '../../src/chatbotkit/conversation-session.ts';
import {
  InvalidArgumentError,
  MalformedResponseError,
  UpstreamResponseError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../../src/chatbotkit/errors.ts';
import { encodeQuery, resolveApiPath } from '../../src/chatbotkit/request.ts';
import { type ScriptedUpstream, sessionBody, startScriptedUpstream } from '../helpers/upstream.ts';

let upstream: ScriptedUpstream;
let client: ConversationSessionClient;

beforeAll(async () => {
  upstream = await startScriptedUpstream();
});
afterAll(() => upstream.close());
afterEach(async () => {
  upstream.requests.length = 0;
  await client?.close();
});

function connect(options: ConstructorParameters<typeof ConversationSessionClient>[0] = {}): ConversationSessionClient {
  client = new ConversationSessionClient({ baseUrl: upstream.url, timeout: 1_000, ...options });
  return client;
}

describe('ConversationSessionClient.create', () => {
  it('POSTs the session route with the secret, run-as, timezone, request id and a JSON body', async () => {
    upstream.reply({ status: 200, body: sessionBody('conv_1') });
    const session = await connect({
      secret: 'sk-test-secret',
      runAsUserId: 'user_7',
      timezone: 'Europe/London',
      headers: { 'x-extra': 'yes' },
    }).create('conv_1', { durationInSeconds: 600 }, { requestId: 'req-42' });

    expect(session).toEqual(sessionBody('conv_1'));
    const [request] = upstream.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/api/v1/conversation/conv_1/session/create');
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer sk-test-secret',
      'content-type': 'application/json',
      'x-runas-user-id': 'user_7',
      'x-timezone': 'Europe/London',
      'x-request-id': 'req-42',
      'x-extra': 'yes',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual({ durationInSeconds: 600 });
  });

  it('sends an empty JSON object and no auth header when no duration or secret is given', async () => {
    upstream.reply({ status: 200, body: sessionBody() });
    await connect().create('conv1');
    expect(upstream.requests[0]?.body).toBe('{}');
    expect(upstream.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('keeps a path prefix of the base URL', async () => {
    upstream.reply({ status: 200, body: sessionBody() });
    await connect({ baseUrl: `${upstream.url}/proxy/cbk/` }).create('conv1');
    expect(upstream.requests[0]?.url).toBe('/proxy/cbk/api/v1/conversation/conv1/session/create');
  });

  it('reuses keep-alive connections across calls instead of opening one per call', async () => {
    upstream.reply({ status: 200, body: sessionBody() });
    connect();
    for (let i = 0; i < 10; i++) await client.create('conv1');
    // undici may open a second socket while the first is still finishing a response.
    expect(new Set(upstream.requests.map((request) => request.socket)).size).toBeLessThanOrEqual(2);
  });

  it.each([
    ['', 'empty'],
    ['../../v1/bot/x', 'a path traversal'],
    ['a/b', 'a slash'],
    ['a?admin=1', 'a query'],
    ['a#b', 'a fragment'],
    ['%2e%2e', 'percent-encoding'],
    ['a b', 'a space'],
    ['x'.repeat(65), 'too long'],
    ['conv\n1', 'a newline'],
  ])('refuses conversation id %j (%s) without calling the upstream', async (conversationId) => {
    await expect(connect().create(conversationId)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'conversationId',
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it.each([0, -5, 1.5, 86_401, Number.NaN])(
    'refuses durationInSeconds %s without calling the upstream',
    async (duration) => {
      const error = await connect()
        .create('conv1', { durationInSeconds: duration })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ argument: 'durationInSeconds' });
      expect(upstream.requests).toHaveLength(0);
    },
  );
});

describe('upstream errors', () => {
  it.each([
    [400, 'BAD_REQUEST'],
    [401, 'NOT_AUTHENTICATED'],
    [403, 'NOT_AUTHORIZED'],
    [404, 'NOT_FOUND'],
    [413, 'CONTENT_TOO_LARGE'],
    [429, 'TOO_MANY_REQUESTS'],
    [500, 'INTERNAL_SERVER_ERROR'],
  ])('carries status %i and the upstream code %s from a JSON error body', async (status, code) => {
    upstream.reply({ status, body: { message: `upstream says ${status}`, code } });
    const error = await connect()
      .create('conv1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamResponseError);
    expect(error).toMatchObject({ status, upstreamCode: code, message: `upstream says ${status}` });
  });

  it.each([
    [413, 'CONTENT_TOO_LARGE'],
    [500, 'GENERIC_ERROR'],
    [502, 'GENERIC_ERROR'],
  ])('falls back to the SDK code when a %i body is not JSON', async (status, code) => {
    upstream.reply({ status, body: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } });
    await expect(connect().create('conv1')).rejects.toMatchObject({ status, upstreamCode: code });
  });

  it('reads Retry-After on a 429', async () => {
    upstream.reply({
      status: 429,
      body: { message: 'slow down', code: 'TOO_MANY_REQUESTS' },
      headers: { 'retry-after': '7' },
    });
    await expect(connect().create('conv1')).rejects.toMatchObject({ status: 429, retryAfterSeconds: 7 });
  });

  it('parses Retry-After as seconds or as an HTTP date, bounded to a day', () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30);
    expect(parseRetryAfter(new Date(now - 30_000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter('99999999999', now)).toBe(86_400);
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', now)).toBe(86_400);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('keeps the status of an error answer larger than 1 MiB', async () => {
    upstream.reply({ status: 429, body: 'x'.repeat(2 * 1024 * 1024), headers: { 'retry-after': '3' } });
    await expect(connect().create('conv1')).rejects.toMatchObject({
      status: 429,
      upstreamCode: 'GENERIC_ERROR',
      retryAfterSeconds: 3,
    });
  });
});

describe('malformed 200 answers', () => {
  it.each([
    ['not JSON', 'surely a session'],
    ['truncated JSON', '{"id":"conv1","tok'],
    ['a JSON array', [sessionBody()]],
    ['no token', { id: 'conv1', expiresAt: 1 }],
    ['an empty token', { ...sessionBody(), token: '' }],
    ['no id', { token: 't', expiresAt: 1 }],
    ['expiresAt as a string', { ...sessionBody(), expiresAt: '2030-01-01' }],
    ['expiresAt out of range', { ...sessionBody(), expiresAt: 1e20 }],
    ['null', null],
    ['another conversation’s session', sessionBody('conv2')],
  ])('turns %s into a MalformedResponseError', async (_name, body) => {
    upstream.reply({ status: 200, body: typeof body === 'string' ? body : JSON.stringify(body) });
    await expect(connect().create('conv1')).rejects.toBeInstanceOf(MalformedResponseError);
  });

  it('refuses an answer larger than 1 MiB', async () => {
    upstream.reply({ status: 200, body: JSON.stringify({ ...sessionBody(), padding: 'x'.repeat(2 * 1024 * 1024) }) });
    await expect(connect().create('conv1')).rejects.toBeInstanceOf(MalformedResponseError);
  });
});

describe('transport failures', () => {
  it('gives up on a hanging upstream after the timeout', async () => {
    upstream.reply('hang');
    const started = performance.now();
    await expect(connect({ timeout: 300 }).create('conv1')).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('gives up on an upstream that stalls in the middle of the body', async () => {
    upstream.reply('stall-body');
    await expect(connect({ timeout: 300 }).create('conv1')).rejects.toBeInstanceOf(UpstreamTimeoutError);
  });

  it('honours a per-call timeout', async () => {
    upstream.reply({ status: 200, body: sessionBody(), delayMs: 1_000 });
    await expect(connect({ timeout: 10_000 }).create('conv1', {}, { timeout: 200 })).rejects.toBeInstanceOf(
      UpstreamTimeoutError,
    );
  });

  it('reports a reset connection as unavailable', async () => {
    upstream.reply('reset');
    await expect(connect().create('conv1')).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });

  it('reports a refused connection as unavailable', async () => {
    const closed = await startScriptedUpstream();
    await closed.close();
    client = new ConversationSessionClient({ baseUrl: closed.url });
    await expect(client.create('conv1')).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });

  it('tells onSettled the status, duration and attempts of each call', async () => {
    upstream.reply({ status: 404, body: { message: 'no', code: 'NOT_FOUND' } });
    const outcomes: unknown[] = [];
    await connect()
      .create('conv1', {}, { onSettled: (outcome) => outcomes.push(outcome) })
      .catch(() => undefined);
    expect(outcomes).toEqual([{ status: 404, durationMs: expect.any(Number), attempts: 1 }]);
  });

  it('is closed after close()', async () => {
    connect();
    expect(client.isOpen).toBe(true);
    await client.close();
    expect(client.isOpen).toBe(false);
    await expect(client.create('conv1')).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});

describe('clientFetch', () => {
  it('encodes a nested query as key.sub=value and uses GET without a body', async () => {
    upstream.reply({ status: 200, body: { items: [] } });
    const generic = new ChatBotKitClient({ baseUrl: upstream.url });
    await generic.clientFetch('/api/v1/conversation/list', {
      query: { take: 5, meta: { tag: 'a b' }, skip: undefined },
    });
    await generic.close();
    expect(upstream.requests[0]).toMatchObject({
      method: 'GET',
      url: '/api/v1/conversation/list?take=5&meta.tag=a+b',
      body: '',
    });
  });

  it('sends a file as multipart field "file"', async () => {
    upstream.reply({ status: 200, body: {} });
    const generic = new ChatBotKitClient({ baseUrl: upstream.url });
    await generic.clientFetch('/api/v1/file/upload', {
      file: { data: 'hello file', name: 'a.txt', type: 'text/plain' },
    });
    await generic.close();
    const [request] = upstream.requests;
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(request?.body).toContain('name="file"; filename="a.txt"');
    expect(request?.body).toContain('hello file');
  });

  it('encodes an empty query as nothing', () => {
    expect(encodeQuery({})).toBe('');
    expect(encodeQuery(undefined)).toBe('');
  });
});

describe('resolveApiPath', () => {
  it("drops /api on ChatBotKit's own host, as the SDK does", () => {
    expect(resolveApiPath(new URL('https://api.chatbotkit.com'), '/api/v1/x')).toBe('/v1/x');
  });

  it('keeps /api on any other host', () => {
    expect(resolveApiPath(new URL('https://chatbotkit.example'), '/api/v1/x')).toBe('/api/v1/x');
  });

  it.each([
    ['https://api.chatbotkit.com/v1', '/v1/x'],
    ['https://chatbotkit.example/api/v1', '/api/v1/x'],
    ['https://proxy.example/cbk/api/v1/', '/cbk/api/v1/x'],
    ['https://proxy.example/v1', '/v1/x'],
  ])('appends only the rest of the path to a base URL ending in /v1 (%s)', (baseUrl, path) => {
    expect(resolveApiPath(new URL(baseUrl), '/api/v1/x')).toBe(path);
  });
});
