import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallOutcome } from '../../src/chatbotkit/client.ts';
import { ConversationSessionClient } from '../../src/chatbotkit/conversation-session.ts';
import {
  MalformedResponseError,
  UpstreamCircuitOpenError,
  UpstreamOverloadedError,
  UpstreamResponseError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../../src/chatbotkit/errors.ts';
import { type ScriptedUpstream, sessionBody, startScriptedUpstream, type UpstreamReply } from '../helpers/upstream.ts';

// The bulkhead's counts must come back exactly however calls end: a slot that is released twice
// lets too many calls through, one that is never released shrinks the client for good. Calls end
// every way first (each kind below), then the client must still run exactly MAX_CONCURRENT calls,
// queue exactly MAX_QUEUED more and refuse the next one.

const MAX_CONCURRENT = 3;
const MAX_QUEUED = 2;
// Long enough that the calls queued behind a wave of slow calls expire before a slot frees.
const SLOW_MS = 300;
const QUEUE_EXPIRY_MS = 100;

/** How the upstream answers each kind of call; the kind travels in the request id. */
const REPLIES = {
  ok: { status: 200, body: sessionBody() },
  slowOk: { status: 200, body: sessionBody(), delayMs: SLOW_MS },
  down: { status: 500, body: { message: 'down', code: 'INTERNAL_SERVER_ERROR' } },
  slowDown: { status: 500, body: { message: 'down', code: 'INTERNAL_SERVER_ERROR' }, delayMs: SLOW_MS },
  slowNotFound: { status: 404, body: { message: 'no', code: 'NOT_FOUND' }, delayMs: SLOW_MS },
  slowMalformed: { status: 200, body: '<html>', headers: { 'content-type': 'text/html' }, delayMs: SLOW_MS },
  hang: 'hang',
  stall: 'stall-body',
  reset: 'reset',
  // First attempt 503 (retried, holding its slot), second attempt 200.
  retried: { status: 503, body: { message: 'busy', code: 'SERVICE_UNAVAILABLE' } },
} satisfies Record<string, UpstreamReply>;
type Kind = keyof typeof REPLIES;

let upstream: ScriptedUpstream;
let client: ConversationSessionClient;
let nextId = 0;

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  upstream.reply((request) => {
    const id = String(request.headers['x-request-id']);
    const kind = id.split(':')[0] as Kind;
    const earlier = upstream.requests.filter((seen) => seen.headers['x-request-id'] === id).length;
    return kind === 'retried' && earlier > 1 ? REPLIES.ok : REPLIES[kind];
  });
  client = new ConversationSessionClient({
    baseUrl: upstream.url,
    timeout: 3_000,
    retryDelay: 20,
    maxConcurrent: MAX_CONCURRENT,
    maxQueued: MAX_QUEUED,
    circuitThreshold: 5,
    circuitHalfOpenAfter: 200,
  });
});
afterAll(async () => {
  await client.destroy();
  await upstream.close();
});

interface Settled {
  id: string;
  session?: unknown;
  error?: unknown;
  outcome: CallOutcome;
}

/** Starts one call at once (the bulkhead counts it before this returns) and settles it later. */
function start(kind: Kind, timeout?: number): Promise<Settled> {
  const id = `${kind}:${nextId++}`;
  let outcome: CallOutcome | undefined;
  const onSettled = (settled: CallOutcome): void => {
    outcome = settled;
  };
  const options = { requestId: id, onSettled };
  return client.create('conv1', {}, timeout === undefined ? options : { ...options, timeout }).then(
    (session) => ({ id, session, outcome: outcome! }),
    (error: unknown) => ({ id, error, outcome: outcome! }),
  );
}

const sent = (settled: Settled): number =>
  upstream.requests.filter((r) => r.headers['x-request-id'] === settled.id).length;

/**
 * Fills every slot with `running`, the queue with `queued`, and checks that one more call is
 * refused at once; returns them all once they have settled.
 */
async function wave(running: [Kind, number?][], queued: [Kind, number?][]): Promise<Settled[]> {
  const calls = [...running, ...queued].map(([kind, timeout]) => start(kind, timeout));
  expect(client.health()).toMatchObject({ inFlight: MAX_CONCURRENT, queued: MAX_QUEUED });
  const refused = await start('ok');
  expect(refused.error).toBeInstanceOf(UpstreamOverloadedError);
  expect(refused.outcome.attempts).toBe(0);
  return Promise.all(calls);
}

describe('bulkhead accounting', () => {
  it('runs exactly maxConcurrent calls and queues exactly maxQueued after calls that ended every way', async () => {
    const first = await wave([['hang', SLOW_MS], ['slowOk'], ['slowDown']], [['ok', QUEUE_EXPIRY_MS], ['reset']]);
    expect(first.map(({ error, session }) => error ?? session)).toEqual([
      expect.any(UpstreamTimeoutError),
      sessionBody(),
      expect.objectContaining({ status: 500 }),
      expect.any(UpstreamTimeoutError),
      expect.any(UpstreamUnavailableError),
    ]);
    // The call whose deadline passed in the queue left it unsent.
    expect([sent(first[3]!), first[3]!.outcome.attempts]).toEqual([0, 0]);

    const second = await wave(
      [['stall', SLOW_MS], ['slowNotFound'], ['slowMalformed']],
      [['ok', QUEUE_EXPIRY_MS], ['retried']],
    );
    expect(second.map(({ error, session }) => error ?? session)).toEqual([
      expect.any(UpstreamTimeoutError),
      expect.any(UpstreamResponseError),
      expect.any(MalformedResponseError),
      expect.any(UpstreamTimeoutError),
      sessionBody(),
    ]);
    expect([sent(second[3]!), second[4]!.outcome.attempts]).toEqual([0, 2]);

    // Calls the open circuit refuses never take a slot.
    while (client.health().circuit !== 'open') await start('down');
    const refused = await Promise.all([start('ok'), start('ok'), start('ok'), start('ok')]);
    for (const { error } of refused) expect(error).toBeInstanceOf(UpstreamCircuitOpenError);
    await sleep(250);
    expect((await start('ok')).session).toEqual(sessionBody());
    expect(client.health()).toEqual({ open: true, circuit: 'closed', inFlight: 0, queued: 0 });

    // Exactly MAX_CONCURRENT calls reach the upstream at once; the queued ones follow as slots free.
    const before = upstream.requests.length;
    const last = Array.from({ length: MAX_CONCURRENT + MAX_QUEUED }, () => start('slowOk'));
    expect((await start('ok')).error).toBeInstanceOf(UpstreamOverloadedError);
    await expect.poll(() => upstream.requests.length - before).toBe(MAX_CONCURRENT);
    await sleep(SLOW_MS / 2);
    expect(upstream.requests.length - before).toBe(MAX_CONCURRENT);
    for (const { session } of await Promise.all(last)) expect(session).toEqual(sessionBody());
    expect(upstream.requests.length - before).toBe(MAX_CONCURRENT + MAX_QUEUED);
    expect(client.health()).toMatchObject({ inFlight: 0, queued: 0 });
  });
});
