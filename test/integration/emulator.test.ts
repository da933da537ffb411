import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMULATOR_DEFAULT_DURATION_SECONDS,
  type RunningEmulator,
  startEmulator,
} from '../../src/chatbotkit/emulator.ts';

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({ secret: 'sk-emulator' });
});
afterAll(() => emulator.close());

async function createSession(path: string, body?: unknown, authorization = 'Bearer sk-emulator') {
  const response = await fetch(`${emulator.url}${path}`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the session API emulator', () => {
  it('mints a session with the contract fields and the asked duration', async () => {
    const before = Date.now();
    const { status, body } = await createSession('/v1/conversation/conv_a/session/create', { durationInSeconds: 120 });
    expect(status).toBe(200);
    expect(body).toEqual({
      id: 'conv_a',
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(Number),
    });
    expect(body['expiresAt']).toBeGreaterThanOrEqual(before + 120_000);
    expect(body['expiresAt']).toBeLessThan(Date.now() + 121_000);
  });

  it('mints a different token each time and uses its default duration without a body', async () => {
    const first = await createSession('/api/v1/conversation/conv_a/session/create');
    const second = await createSession('/api/v1/conversation/conv_a/session/create');
    expect(first.body['token']).not.toBe(second.body['token']);
    expect(Number(first.body['expiresAt']) - Date.now()).toBeGreaterThan(
      (EMULATOR_DEFAULT_DURATION_SECONDS - 5) * 1000,
    );
  });

  it('answers 404 NOT_FOUND for ids that begin with "unknown"', async () => {
    expect(await createSession('/v1/conversation/unknown_1/session/create')).toEqual({
      status: 404,
      body: { code: 'NOT_FOUND', message: 'Conversation not found' },
    });
  });

  it('answers 401 NOT_AUTHENTICATED without the secret', async () => {
    const { status, body } = await createSession('/v1/conversation/conv_a/session/create', {}, 'Bearer wrong');
    expect(status).toBe(401);
    expect(body['code']).toBe('NOT_AUTHENTICATED');
  });

  it.each([['not json'], [{ durationInSeconds: -1 }], [{ durationInSeconds: '60' }], [[1, 2]]])(
    'answers 400 BAD_REQUEST for body %j',
    async (body) => {
      const { status, body: answer } = await createSession('/v1/conversation/conv_a/session/create', body);
      expect(status).toBe(400);
      expect(answer['code']).toBe('BAD_REQUEST');
    },
  );

  it('answers a plain 404, not ChatBotKit’s NOT_FOUND, for other routes, and 405 for other methods', async () => {
    // ChatBotKit's NOT_FOUND means an unknown conversation; a route miss must not read as one.
    const other = await fetch(`${emulator.url}/api/v1/api/v1/conversation/conv_a/session/create`, { method: 'POST' });
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toBe('text/plain');
    expect(await other.text()).toBe('Not Found');
    const get = await fetch(`${emulator.url}/v1/conversation/conv_a/session/create`);
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
  });
});
