import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallOutcome, ChatBotKitClientOptions, CircuitState } from '../../src/chatbotkit/client.ts';
import { type CallOptions, ConversationSessionClient } from '../../src/chatbotkit/conversation-session.ts';
import {
  MalformedResponseError,
  UpstreamCircuitOpenError,
  UpstreamOverloadedError,
  UpstreamResponseError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../../src/chatbotkit/errors.ts';
import {
  type ScriptedUpstream,
  sessionBody,
  startScriptedUpstream,
  startSilentServer,
  type UpstreamReply,
} from '../helpers/upstream.ts';

// Fault injection over real sockets: what each misbehaviour of the upstream becomes, how many
// requests reach it, and that the same client keeps serving afterwards.

type Answer = Exclude<UpstreamReply, string>;

const SUCCESS: Answer = { status: 200, body: sessionBody() };
const failure = (status: number, code: string, headers: Record<string, string> = {}): Answer => ({
  status,
  body: { message: `upstream says ${status}`, code },
  headers,
});

let upstream: ScriptedUpstream;
const clients: ConversationSessionClient[] = [];

beforeAll(async () => {
  upstream = await startScriptedUpstream();
});
afterAll(() => upstream.close());
beforeEach(() => {
  upstream.requests.length = 0;
  upstream.reply(SUCCESS);
  upstream.script();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.destroy()));
});

/** A client with short limits, so that faults play out quickly. */
function connect(options: ChatBotKitClientOptions = {}): ConversationSessionClient {
  const client = new ConversationSessionClient({ baseUrl: upstream.url, timeout: 500, retryDelay: 20, ...options });
  clients.push(client);
  return client;
}

interface Settled {
  session?: unknown;
  error?: unknown;
  outcome: CallOutcome;
}

/** One `create` call, with what it returned or threw and what onSettled was told. */
async function call(client: ConversationSessionClient, options: CallOptions = {}): Promise<Settled> {
  let outcome: CallOutcome | undefined;
  const onSettled = (settled: CallOutcome): void => {
    outcome = settled;
  };
  try {
    const session = await client.create('conv1', {}, { ...options, onSettled });
    return { session, outcome: outcome! };
  } catch (error) {
    return { error, outcome: outcome! };
  }
}

async function expectServing(client: ConversationSessionClient): Promise<void> {
  const before = upstream.requests.length;
  await expect(client.create('conv1')).resolves.toEqual(sessionBody());
  expect(upstream.requests).toHaveLength(before + 1);
}

const timeout = { type: UpstreamTimeoutError, code: 'UPSTREAM_TIMEOUT', phase: 'deadline' };
const unavailable = { type: UpstreamUnavailableError, code: 'UPSTREAM_UNAVAILABLE' };
const malformed = { type: MalformedResponseError, code: 'MALFORMED_RESPONSE', status: 200 };
const response = (status: number) => ({ type: UpstreamResponseError, code: 'UPSTREAM_RESPONSE', status });

describe('each upstream fault', () => {
  it.each([
    ['a hang', ['hang'], timeout, 1],
    ['an answer slower than the deadline', [{ ...SUCCESS, delayMs: 1_500 }], timeout, 1],
    ['a body that stops half way', ['stall-body'], timeout, 1],
    ['a reset after the request was sent', ['reset'], { ...unavailable, requestSent: true }, 1],
    ['429 without Retry-After on every attempt', Array(3).fill(failure(429, 'TOO_MANY_REQUESTS')), response(429), 3],
    ['429 LIMITS_REACHED', [failure(429, 'LIMITS_REACHED')], response(429), 1],
    ['500', [failure(500, 'INTERNAL_SERVER_ERROR')], response(500), 1],
    [
      '502',
      [{ status: 502, body: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } }],
      response(502),
      1,
    ],
    ['503 on every attempt', Array(3).fill(failure(503, 'SERVICE_UNAVAILABLE')), response(503), 3],
    ['504', [failure(504, 'GATEWAY_TIMEOUT')], response(504), 1],
    ['a 200 that is not JSON', [{ status: 200, body: 'surely a session' }], malformed, 1],
    ['a 200 with truncated JSON', [{ status: 200, body: '{"id":"conv1","tok' }], malformed, 1],
    [
      'a 200 larger than 1 MiB',
      [{ status: 200, body: { ...sessionBody(), padding: 'x'.repeat(2 * 1024 * 1024) } }],
      malformed,
      1,
    ],
    ['a valid session declared as text/html', [{ ...SUCCESS, headers: { 'content-type': 'text/html' } }], malformed, 1],
    [
      'a valid session declared as text/plain',
      [{ ...SUCCESS, headers: { 'content-type': 'text/plain; charset=utf-8' } }],
      malformed,
      1,
    ],
    ['a 200 without a token', [{ status: 200, body: { id: 'conv1', expiresAt: 1 } }], malformed, 1],
    ['a 200 with a numeric id', [{ status: 200, body: { ...sessionBody(), id: 1 } }], malformed, 1],
    [
      'a 200 with expiresAt as a string',
      [{ status: 200, body: { ...sessionBody(), expiresAt: '2030-01-01' } }],
      malformed,
      1,
    ],
  ] as [string, UpstreamReply[], { type: new (...args: never[]) => Error }, number][])(
    '%s: fails as expected after the expected attempts, and the client keeps serving',
    async (_name, replies, { type, ...fields }, attempts) => {
      const client = connect();
      upstream.script(...replies);
      const { error, outcome } = await call(client);
      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject(fields);
      expect(upstream.requests).toHaveLength(attempts);
      expect(outcome.attempts).toBe(attempts);
      await expectServing(client);
    },
  );

  it.each([
    ['an answer slower than usual but within the deadline', [{ ...SUCCESS, delayMs: 150 }], 1],
    ['one 429 without Retry-After', [failure(429, 'TOO_MANY_REQUESTS')], 2],
    ['two 503s', [failure(503, 'SERVICE_UNAVAILABLE'), failure(503, 'SERVICE_UNAVAILABLE')], 3],
  ] as [string, UpstreamReply[], number][])('%s: succeeds after %i attempt(s)', async (_name, replies, attempts) => {
    const client = connect({ timeout: 2_000 });
    upstream.script(...replies);
    const { session, outcome } = await call(client);
    expect(session).toEqual(sessionBody());
    expect(upstream.requests).toHaveLength(attempts);
    expect(outcome).toMatchObject({ status: 200, attempts });
  });

  it('honours a per-call retries override', async () => {
    upstream.script(failure(503, 'SERVICE_UNAVAILABLE'));
    const { error } = await call(connect(), { retries: 0 });
    expect(error).toMatchObject({ status: 503 });
    expect(upstream.requests).toHaveLength(1);
  });

  it('retries a refused connection, and serves the next call once the upstream is back', async () => {
    const gone = await startScriptedUpstream();
    await gone.close();
    const client = connect({ baseUrl: gone.url, retryDelay: 100, timeout: 2_000 });
    const started = performance.now();
    const { error, outcome } = await call(client);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', requestSent: false });
    expect(outcome).toMatchObject({ attempts: 3, status: undefined });
    // Two backoff waits (at least 50 and 100 ms) separated the three attempts.
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);

    const back = await startScriptedUpstream(SUCCESS, { port: gone.port });
    try {
      await expect(client.create('conv1')).resolves.toEqual(sessionBody());
      expect(back.requests).toHaveLength(1);
    } finally {
      await back.close();
    }
  });

  it('retries a connect timeout, since the request was never sent', async () => {
    const silent = await startSilentServer();
    try {
      // undici checks connect timeouts on a clock that ticks about every half second.
      const client = connect({
        baseUrl: silent.url,
        connectTimeout: 100,
        retries: 1,
        timeout: 5_000,
        retryTimeout: 5_000,
      });
      const { error, outcome } = await call(client);
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect(error).toMatchObject({ requestSent: false });
      expect(silent.connections).toBe(2);
      expect(outcome.attempts).toBe(2);
    } finally {
      await silent.close();
    }
  });
});

describe('timeouts', () => {
  it.each([
    ['headers', 'hang', { headersTimeout: 200 }],
    ['body', 'stall-body', { bodyTimeout: 200 }],
  ] as const)('gives up on missing %s after its own limit, long before the deadline', async (phase, reply, limit) => {
    const client = connect({ timeout: 10_000, ...limit });
    upstream.script(reply);
    const started = performance.now();
    const { error, outcome } = await call(client);
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect(error).toMatchObject({ phase });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(outcome.attempts).toBe(1);
    await expectServing(client);
  });
});

describe('retry budget', () => {
  it('stops retrying when the next wait would end beyond retryTimeout, with the last failure', async () => {
    const client = connect({ retries: 20, retryDelay: 50, retryTimeout: 500, timeout: 10_000 });
    upstream.reply(failure(503, 'SERVICE_UNAVAILABLE'));
    const started = performance.now();
    const { error, outcome } = await call(client);
    expect(error).toMatchObject({ code: 'UPSTREAM_RESPONSE', status: 503 });
    // Waits of 25–50, 50–100, 100–200, 200–400 ms… fit three to five attempts into 500 ms.
    expect(outcome.attempts).toBeGreaterThanOrEqual(3);
    expect(outcome.attempts).toBeLessThanOrEqual(6);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('keeps every retry within the call deadline', async () => {
    const client = connect({ retries: 20, retryDelay: 50, retryTimeout: 60_000, timeout: 400 });
    upstream.reply(failure(503, 'SERVICE_UNAVAILABLE'));
    const started = performance.now();
    const { outcome } = await call(client);
    expect(outcome.attempts).toBeGreaterThanOrEqual(2);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it.each([429, 503])(
    'does not wait for a %i Retry-After beyond the budget: the caller gets it at once',
    async (status) => {
      const client = connect({ retryTimeout: 1_000, timeout: 10_000 });
      upstream.script(failure(status, 'BUSY', { 'retry-after': '5' }));
      const started = performance.now();
      const { error } = await call(client);
      expect(error).toMatchObject({ status, retryAfterSeconds: 5 });
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(upstream.requests).toHaveLength(1);
      await expectServing(client);
    },
  );

  it('waits for a Retry-After within the budget, then succeeds', async () => {
    const client = connect({ retryTimeout: 3_000, timeout: 5_000 });
    upstream.script(failure(503, 'SERVICE_UNAVAILABLE', { 'retry-after': '1' }));
    const started = performance.now();
    const { session, outcome } = await call(client);
    expect(session).toEqual(sessionBody());
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(outcome.attempts).toBe(2);
  });
});

describe('circuit breaker', () => {
  function connectWatched(options: ChatBotKitClientOptions): {
    client: ConversationSessionClient;
    changes: CircuitState[];
  } {
    const changes: CircuitState[] = [];
    return { client: connect({ ...options, onCircuitChange: (state) => changes.push(state) }), changes };
  }

  it('opens after the threshold, fails fast without touching the network, and closes after a good probe', async () => {
    const { client, changes } = connectWatched({ circuitThreshold: 3, circuitHalfOpenAfter: 300 });
    upstream.reply(failure(500, 'INTERNAL_SERVER_ERROR'));
    for (let i = 0; i < 3; i++) expect((await call(client)).error).toMatchObject({ status: 500 });
    expect(client.health().circuit).toBe('open');

    const refused = await call(client);
    expect(refused.error).toBeInstanceOf(UpstreamCircuitOpenError);
    expect(refused.error).toMatchObject({ code: 'UPSTREAM_CIRCUIT_OPEN' });
    expect(refused.outcome).toMatchObject({ attempts: 0, status: undefined });
    expect(upstream.requests).toHaveLength(3);

    upstream.reply(SUCCESS);
    await sleep(400);
    await expectServing(client);
    expect(client.health().circuit).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });

  it('lets only the probe through while half-open, does not retry it, and reopens when it fails', async () => {
    const { client, changes } = connectWatched({ circuitThreshold: 1, circuitHalfOpenAfter: 200, timeout: 2_000 });
    upstream.script(failure(500, 'INTERNAL_SERVER_ERROR'), { ...failure(503, 'SERVICE_UNAVAILABLE'), delayMs: 300 });
    await call(client);
    await sleep(300);

    const probe = call(client);
    await expect.poll(() => upstream.requests.length).toBe(2);
    expect(client.health().circuit).toBe('half-open');
    const meanwhile = await call(client);
    expect(meanwhile.error).toBeInstanceOf(UpstreamCircuitOpenError);
    expect(meanwhile.outcome.attempts).toBe(0);

    const probed = await probe;
    expect(probed.error).toMatchObject({ status: 503 });
    expect(probed.outcome.attempts).toBe(1);
    expect(client.health().circuit).toBe('open');
    expect((await call(client)).error).toBeInstanceOf(UpstreamCircuitOpenError);
    expect(upstream.requests).toHaveLength(2);
    expect(changes).toEqual(['open', 'half-open', 'open']);
  });

  it('counts only consecutive calls that find the upstream down: any other answer resets the count', async () => {
    const { client, changes } = connectWatched({ circuitThreshold: 2 });
    const down = failure(500, 'INTERNAL_SERVER_ERROR');
    upstream.script(
      down,
      failure(404, 'NOT_FOUND'),
      down,
      failure(429, 'LIMITS_REACHED'),
      down,
      { ...SUCCESS, headers: { 'content-type': 'text/html' } },
      down,
      down,
    );
    for (let i = 0; i < 7; i++) await call(client);
    expect(changes).toEqual([]);
    await call(client);
    expect(changes).toEqual(['open']);
    expect(upstream.requests).toHaveLength(8);
  });

  it('counts a call once, however many attempts it made', async () => {
    const { client } = connectWatched({ circuitThreshold: 2, timeout: 2_000 });
    upstream.reply(failure(503, 'SERVICE_UNAVAILABLE'));
    expect((await call(client)).outcome.attempts).toBe(3);
    expect(client.health().circuit).toBe('closed');
    await call(client);
    expect(client.health().circuit).toBe('open');
  });
});

describe('bulkhead', () => {
  it('queues beyond maxConcurrent, refuses beyond maxQueued unconnected, and ends a wait at its deadline', async () => {
    const client = connect({ maxConcurrent: 2, maxQueued: 1, timeout: 1_000 });
    upstream.reply('hang');
    const hanging = [call(client), call(client)];
    await expect.poll(() => upstream.requests.length).toBe(2);
    const queued = call(client, { timeout: 200 });
    expect(client.health()).toEqual({ open: true, circuit: 'closed', inFlight: 2, queued: 1 });

    const refused = await call(client);
    expect(refused.error).toBeInstanceOf(UpstreamOverloadedError);
    expect(refused.error).toMatchObject({ code: 'UPSTREAM_OVERLOADED' });
    expect(refused.outcome.attempts).toBe(0);

    const waited = await queued;
    expect(waited.error).toBeInstanceOf(UpstreamTimeoutError);
    expect(waited.outcome.attempts).toBe(0);
    expect(client.health()).toMatchObject({ inFlight: 2, queued: 0 });

    upstream.reply(SUCCESS);
    for (const { error } of await Promise.all(hanging)) expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect(client.health()).toMatchObject({ inFlight: 0, queued: 0 });
    expect(upstream.requests).toHaveLength(2);
    await expectServing(client);
  });

  it('neither counts a refused call against the upstream nor lets it reset the count', async () => {
    const client = connect({ maxConcurrent: 1, maxQueued: 0, circuitThreshold: 2 });
    upstream.script(failure(500, 'INTERNAL_SERVER_ERROR'), 'hang');
    await call(client);
    const hanging = call(client);
    expect((await call(client)).error).toBeInstanceOf(UpstreamOverloadedError);
    expect(client.health().circuit).toBe('closed');
    expect((await hanging).error).toBeInstanceOf(UpstreamTimeoutError);
    expect(client.health().circuit).toBe('open');
  });

  it('runs queued calls as slots free up', async () => {
    const client = connect({ maxConcurrent: 1, maxQueued: 2, timeout: 2_000 });
    upstream.reply({ ...SUCCESS, delayMs: 100 });
    const calls = [call(client), call(client), call(client)];
    expect(client.health()).toMatchObject({ inFlight: 1, queued: 2 });
    for (const { session } of await Promise.all(calls)) expect(session).toEqual(sessionBody());
    expect(upstream.requests).toHaveLength(3);
  });
});

describe('health()', () => {
  it('reports the pool, the circuit and the load', async () => {
    const client = connect();
    expect(client.health()).toEqual({ open: true, circuit: 'closed', inFlight: 0, queued: 0 });
    await client.close();
    expect(client.health().open).toBe(false);
  });
});
