import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_SESSION, postGraphQL, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startServerProcess } from '../helpers/process.ts';
import { type ScriptedUpstream, sessionBody, startScriptedUpstream } from '../helpers/upstream.ts';

// An in-memory OpenTelemetry SDK for this file: what an OTLP exporter would receive.
const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

let upstream: ScriptedUpstream;
let gateway: TestGateway;
beforeAll(async () => {
  upstream = await startScriptedUpstream({ status: 200, body: sessionBody('conv_obs') });
  gateway = await startGateway(upstream.url);
});
afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('tracing (OpenTelemetry)', () => {
  it('makes a span per operation and per upstream call, in the caller’s trace, and passes it upstream', async () => {
    exporter.reset();
    upstream.requests.length = 0;
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    await postGraphQL(
      gateway.url,
      CREATE_SESSION,
      { input: { conversationId: 'conv_obs' } },
      { traceparent: `00-${traceId}-${callerSpanId}-01` },
    );

    const spans = exporter.getFinishedSpans();
    const operation = spans.find((span) => span.name === 'graphql.operation CreateSession');
    const upstreamCall = spans.find((span) => span.name.startsWith('chatbotkit POST'));
    expect(operation?.spanContext().traceId).toBe(traceId);
    expect(operation?.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(upstreamCall?.spanContext().traceId).toBe(traceId);
    expect(upstreamCall?.parentSpanContext?.spanId).toBe(operation?.spanContext().spanId);
    expect(upstreamCall?.attributes['http.response.status_code']).toBe(200);

    // ChatBotKit sees the upstream span as its parent.
    expect(upstream.requests[0]?.headers['traceparent']).toBe(`00-${traceId}-${upstreamCall?.spanContext().spanId}-01`);
    // And the request's log line carries the trace id.
    expect(gateway.logs.join('')).toContain(`"traceId":"${traceId}"`);
  });

  it('marks the operation span as failed with the error code', async () => {
    exporter.reset();
    upstream.reply({ status: 503, body: 'down' });
    try {
      await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv_obs' } });
    } finally {
      upstream.reply({ status: 200, body: sessionBody('conv_obs') });
    }
    const operation = exporter.getFinishedSpans().find((span) => span.name.startsWith('graphql.operation'));
    expect(operation?.status).toMatchObject({ code: 2, message: 'UPSTREAM_UNAVAILABLE' });
  });
});

describe('metrics (Prometheus)', () => {
  const scrape = async () => {
    const response = await fetch(new URL('/metrics', gateway.url));
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };

  it('counts operations by root field and outcome, and upstream calls by status', async () => {
    await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'conv_obs' } });
    await postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId: 'bad id' } });
    const text = await scrape();
    const operations = (outcome: string) =>
      'gateway_graphql_operation_duration_seconds_count' +
      `{operation="mutation:createConversationSession",outcome="${outcome}"}`;
    const count = (outcome: string) =>
      Number(
        text
          .split('\n')
          .find((line) => line.startsWith(`${operations(outcome)} `))
          ?.split(' ')[1],
      );
    expect(count('ConversationSession')).toBeGreaterThan(0);
    expect(count('InvalidInputError')).toBe(1);
    expect(text).toMatch(/chatbotkit_upstream_request_duration_seconds_count\{status="200"\} [1-9]/);
    expect(text).toMatch(/gateway_http_requests_total\{path="\/graphql",status="200"\} [1-9]/);
    expect(text).toMatch(/^gateway_requests_in_flight 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('does not count CORS preflights (answered before the gateway sees them) as in flight', async () => {
    for (let i = 0; i < 3; i++) {
      await fetch(gateway.url, {
        method: 'OPTIONS',
        headers: { origin: 'https://x.example', 'access-control-request-method': 'POST' },
      });
    }
    expect(await scrape()).toMatch(/^gateway_requests_in_flight 1$/m);
  });

  it('keeps labels bounded whatever the caller names its operations', async () => {
    for (let i = 0; i < 5; i++)
      await postGraphQL(
        gateway.url,
        `query Random${i}x${Math.random().toString(36).slice(2)} { sessionGateway { version } }`,
      );
    const text = await scrape();
    expect(text).not.toMatch(/Random\d/);
    expect(text).toMatch(
      /gateway_graphql_operation_duration_seconds_count\{operation="query:sessionGateway",outcome="ok"\} 5/,
    );
  });
});

describe('the OpenTelemetry SDK in the server process', () => {
  it('starts from OTEL_* variables and exports the operation span', async () => {
    const server = await startServerProcess({ OTEL_TRACES_EXPORTER: 'console', OTEL_BSP_SCHEDULE_DELAY: '100' });
    try {
      await postGraphQL(
        `${server.url}/graphql`,
        CREATE_SESSION,
        { input: { conversationId: 'conv_otel' } },
        { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      );
      // The console exporter prints each span as an object literal, its fields in no set order.
      const span = (output: string) =>
        output.split(/\n(?=\{)/).find((printed) => printed.includes("name: 'graphql.operation CreateSession'")) ?? '';
      await expect
        .poll(() => span(server.output()), { timeout: 10_000 })
        .toContain("traceId: '0af7651916cd43dd8448eb211c80319c'");
    } finally {
      await server.stop();
    }
  });
});

describe('pretty logs in development', () => {
  it('writes human-readable lines, not JSON, with NODE_ENV=development', async () => {
    const server = await startServerProcess({ NODE_ENV: 'development' });
    try {
      expect(server.output()).toMatch(/gateway listening/);
      expect(server.output()).toMatch(/WARN.*NOT TALKING TO CHATBOTKIT/);
      expect(server.output()).not.toContain('{"level"');
    } finally {
      await server.stop();
    }
  });
});
