import type { IncomingHttpHeaders } from 'node:http';
import {
  type Context,
  context,
  defaultTextMapGetter,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { Plugin } from 'graphql-yoga';

/**
 * Spans through the OpenTelemetry API only: with no SDK registered (OTEL_* unset) every call
 * is a no-op, so tracing costs nothing unless it is switched on (see `startTracing` in server.ts).
 */
const tracer = trace.getTracer('chatbotkit-session-gateway');

const headerGetter = {
  get: (headers: Headers, key: string) => headers.get(key) ?? undefined,
  keys: (headers: Headers) => [...headers.keys()],
};

/** What the operation span reports when it ends, read from the request's record. */
export interface OperationOutcome {
  operationName?: string | undefined;
  errorCodes?: string[] | undefined;
}

/**
 * One SERVER span per GraphQL operation, a child of the caller's W3C `traceparent`, active
 * while the operation runs so that upstream calls become its children.
 */
export function useOperationSpans(
  outcomeOf: (request: Request) => OperationOutcome,
  onStart: (request: Request, traceId: string) => void,
): Plugin {
  return {
    instrumentation: {
      operation: ({ request }, wrapped) =>
        inOperationSpan(
          propagation.extract(ROOT_CONTEXT, request.headers, headerGetter),
          (traceId) => onStart(request, traceId),
          () => outcomeOf(request),
          async () => {
            await wrapped();
          },
        ),
    },
  };
}

/** The caller's trace context from node's request headers (lower-case names, as W3C's are). */
export function callerTraceContext(headers: IncomingHttpHeaders): Context {
  return propagation.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

/** Runs one operation inside its SERVER span; `onStart` learns the trace id when the span records. */
export function inOperationSpan<T>(
  parent: Context,
  onStart: (traceId: string) => void,
  outcome: () => OperationOutcome,
  run: () => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan('graphql.operation', { kind: SpanKind.SERVER }, parent, async (span) => {
    if (span.isRecording()) onStart(span.spanContext().traceId);
    try {
      return await run();
    } finally {
      endOperationSpan(span, outcome());
    }
  });
}

function endOperationSpan(span: Span, { operationName, errorCodes }: OperationOutcome): void {
  if (operationName) span.updateName(`graphql.operation ${operationName}`);
  span.setAttribute('graphql.operation.name', operationName ?? '');
  if (errorCodes?.length) {
    span.setAttribute('graphql.error.codes', errorCodes);
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorCodes.join(',') });
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
  });
  sdk.start();
  return sdk;
}
