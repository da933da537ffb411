import type { IncomingMessage } from 'node:http';
import {
  context,
  defaultTextMapGetter,
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

/**
 * Spans through the OpenTelemetry API only: with no SDK registered (OTEL_* unset) every call
 * is a no-op, so tracing costs nothing unless it is switched on (see `startTracing` in server.ts).
 */
const tracer = trace.getTracer('chatbotkit-session-gateway');

// With no SDK registered the spans, contexts and carriers would be built and thrown away on
// every request (a few KB of allocation each): skip them. A fresh proxy provider's delegate is
// the API's no-op provider, which the global proxy keeps until an SDK registers its own.
const NO_PROVIDER = new ProxyTracerProvider().getDelegate();
const NON_RECORDING = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
const UNTRACED: ServerSpan = { traceId: undefined, run: (handle) => handle(), end: () => undefined };

function tracingOff(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider && provider.getDelegate() === NO_PROVIDER;
}

/** A request's SERVER span, as the edge drives it. */
export interface ServerSpan {
  /** Set when the span records (an SDK is registered and the trace is sampled). */
  traceId: string | undefined;
  /** Runs the request's handling with this span active, so that upstream calls become its children. */
  run(handle: () => void): void;
  end(outcome: OperationOutcome, status: number | undefined): void;
}

/** What the span reports when it ends, read from the request's record. */
export interface OperationOutcome {
  operationName?: string | undefined;
  operation?: string | undefined;
  errorCodes?: string[] | undefined;
}

/** One SERVER span per request, a child of the caller's W3C `traceparent`. */
export function startServerSpan(request: IncomingMessage, method: string, path: string): ServerSpan {
  if (tracingOff()) return UNTRACED;
  const parent = propagation.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
  const span = tracer.startSpan(
    `${method} ${path}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path } },
    parent,
  );
  const active = trace.setSpan(parent, span);
  return {
    traceId: span.isRecording() ? span.spanContext().traceId : undefined,
    run: (handle) => context.with(active, handle),
    end: (outcome, status) => endServerSpan(span, outcome, status),
  };
}

function endServerSpan(span: Span, { operationName, operation, errorCodes }: OperationOutcome, status?: number): void {
  // Named for the GraphQL operation when there was one, as GraphQL tracing tools expect.
  if (operation) span.updateName(operationName ? `graphql.operation ${operationName}` : 'graphql.operation');
  if (operation) span.setAttribute('graphql.operation.name', operationName ?? '');
  if (status !== undefined) span.setAttribute('http.response.status_code', status);
  if (errorCodes?.length) {
    span.setAttribute('graphql.error.codes', errorCodes);
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorCodes.join(',') });
  } else if (status === undefined || status >= 500) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: status === undefined ? 'aborted' : `HTTP ${status}` });
  }
  span.end();
}

/**
 * One CLIENT span per upstream call. Its context goes upstream in `traceparent`, replacing
 * the caller's (passed on unchanged only when tracing is off).
 */
export async function traceUpstreamCall<T>(
  name: string,
  headers: Record<string, string>,
  call: (headers: Record<string, string>, span: Span) => Promise<T>,
): Promise<T> {
  if (tracingOff()) return call(headers, NON_RECORDING);
  return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT }, async (span) => {
    const carrier = { ...headers };
    propagation.inject(context.active(), carrier);
    try {
      return await call(carrier, span);
    } catch (error) {
      // The error's code only: messages may quote upstream bodies.
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as { code?: string }).code ?? 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The active span's ids, for log lines. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

/**
 * Starts the OpenTelemetry SDK, which reads the standard OTEL_* variables itself (exporter,
 * endpoint, service name, sampler). Called only when they ask for traces. The propagator is
 * W3C trace context only, whatever OTEL_PROPAGATORS says: `baggage` would carry whatever the
 * caller put in it on to ChatBotKit.
 */
export async function startTracing(): Promise<{ shutdown(): Promise<void> }> {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
  const sdk = new NodeSDK({
    serviceName: 'chatbotkit-session-gateway',
    instrumentations: [],
    textMapPropagator: new W3CTraceContextPropagator(),
    // Traces only: metrics are Prometheus' (/metrics), logs are stdout's. Without these the SDK
    // would build OTLP metric and log exporters from the environment as well.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return sdk;
}
