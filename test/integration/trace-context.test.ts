import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_SESSION, type GatewayPair, startGatewayPair, type TestGateway } from '../helpers/gateway.ts';
import { type ScriptedUpstream, sessionForRoute, startScriptedUpstream } from '../helpers/upstream.ts';

/*
 * With tracing off (no OpenTelemetry SDK in this file, as in a gateway without OTEL_*
 * variables), the gateway passes the caller's W3C trace context on to ChatBotKit unchanged, so
 * that ChatBotKit's spans join the caller's trace; a malformed `traceparent` is dropped, never
 * forwarded, on both request paths. (test/integration/observability.test.ts covers tracing on.)
 */

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

let upstream: ScriptedUpstream;
let pair: GatewayPair;
beforeAll(async () => {
  upstream = await startScriptedUpstream();
  upstream.reply(sessionForRoute('tok_trace'));
  pair = await startGatewayPair(upstream.url);
});
afterAll(async () => {
  await pair.close();
  await upstream.close();
});

const PATHS = [
  ['the known-operation path', () => pair.known],
  ['Yoga', () => pair.yogaOnly],
] as const;

/** Mints a session through `gateway` with these headers; the trace headers the upstream received. */
async function forwarded(gateway: TestGateway, headers: Record<string, string>) {
  const calls = upstream.requests.length;
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: CREATE_SESSION, variables: { input: { conversationId: 'conv_trace' } } }),
  });
  expect((await response.json()).data.createConversationSession.token).toBe('tok_trace');
  expect(upstream.requests).toHaveLength(calls + 1);
  const { traceparent, tracestate } = upstream.requests[calls]?.headers ?? {};
  return { traceparent, tracestate };
}

describe.each(PATHS)('the caller’s trace context, through %s, with tracing off', (_path, gateway) => {
  it('reaches the upstream unchanged: traceparent and tracestate', async () => {
    expect(await forwarded(gateway(), { traceparent: TRACEPARENT, tracestate: TRACESTATE })).toEqual({
      traceparent: TRACEPARENT,
      tracestate: TRACESTATE,
    });
    expect(await forwarded(gateway(), { traceparent: TRACEPARENT })).toEqual({
      traceparent: TRACEPARENT,
      tracestate: undefined,
    });
    expect(await forwarded(gateway(), {})).toEqual({ traceparent: undefined, tracestate: undefined });
  });

  it.each([
    ['a trace id a digit short', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['a parent id a digit long', `00-${TRACE_ID}-${SPAN_ID}0-01`],
    ['flags of three digits', `00-${TRACE_ID}-${SPAN_ID}-001`],
    ['uppercase hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['a version that is not hex', `0g-${TRACE_ID}-${SPAN_ID}-01`],
    ['a version of three digits', `000-${TRACE_ID}-${SPAN_ID}-01`],
    ['an extra field', `${TRACEPARENT}-extra`],
    ['two values in one header', `${TRACEPARENT}, ${TRACEPARENT}`],
    ['underscores for dashes', TRACEPARENT.replaceAll('-', '_')],
    ['a tab inside', `00-${TRACE_ID}\t-${SPAN_ID}-01`],
    ['a non-ASCII character', `00-${TRACE_ID.slice(1)}é-${SPAN_ID}-01`],
    ['a semicolon and a parameter', `${TRACEPARENT};x=1`],
    ['a bare id', TRACE_ID],
    // W3C forbids version ff and all-zero ids.
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['an all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
  ])('with %s in traceparent, reaches it as no trace context at all', async (_case, traceparent) => {
    expect(await forwarded(gateway(), { traceparent, tracestate: TRACESTATE })).toEqual({
      traceparent: undefined,
      tracestate: undefined,
    });
  });

  it.each([
    ['longer than 512 characters', `a=${'b'.repeat(511)}`],
    ['a non-ASCII character', 'congo=é'],
  ])('with a tracestate %s, reaches it with the traceparent only', async (_case, tracestate) => {
    expect(await forwarded(gateway(), { traceparent: TRACEPARENT, tracestate })).toEqual({
      traceparent: TRACEPARENT,
      tracestate: undefined,
    });
  });

  it('with two traceparent header lines, reaches it as no trace context', async () => {
    // fetch joins repeated headers into one line; node's client sends each on its own line.
    const calls = upstream.requests.length;
    const { port } = new URL(gateway().url);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/graphql',
          method: 'POST',
          headers: { 'content-type': 'application/json', traceparent: [TRACEPARENT, TRACEPARENT] },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode));
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify({ query: CREATE_SESSION, variables: { input: { conversationId: 'conv_trace' } } }));
    });
    expect(status).toBe(200);
    expect(upstream.requests).toHaveLength(calls + 1);
    expect(upstream.requests[calls]?.headers['traceparent']).toBeUndefined();
  });
});
