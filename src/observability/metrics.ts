import type { Plugin } from 'graphql-yoga';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CircuitState } from '../chatbotkit/resilience.ts';
import type { RequestRecord } from '../http/request-record.ts';

/** An HTTP request's path label, final status (undefined when it was cut off) and duration. */
export interface HttpMeasure {
  path: string;
  status: number | undefined;
  durationMs: number;
}

const CIRCUIT_STATES: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * The gateway's Prometheus metrics (prom-client). Fed once per request by the HTTP edge from the
 * request's record rather than by @graphql-yoga/plugin-prometheus, whose per-phase hooks would
 * add work to every request for metrics nobody asked for, and would miss what Yoga never sees.
 * Labels are bounded: operations are named by their root fields (schema names), outcomes by our
 * own codes.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #operations = new Histogram({
    name: 'gateway_graphql_operation_duration_seconds',
    help: 'GraphQL operations by root fields and outcome (a result type, an error code, or ok), with their duration.',
    labelNames: ['operation', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly #httpRequests = new Counter({
    name: 'gateway_http_requests_total',
    help: 'HTTP requests by path and status.',
    labelNames: ['path', 'status'],
    registers: [this.registry],
  });
  readonly #httpDurations = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'HTTP requests by path, with their duration from arrival to the last byte of the answer.',
    labelNames: ['path'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly #knownOperations = new Counter({
    name: 'gateway_known_operation_requests_total',
    help: "GraphQL requests answered by the known-operation path (POSTed JSON, without Yoga's HTTP adapter).",
    registers: [this.registry],
  });
  readonly #inFlight = new Gauge({
    name: 'gateway_requests_in_flight',
    help: 'HTTP requests being handled now.',
    registers: [this.registry],
  });
  readonly #upstream = new Histogram({
    name: 'chatbotkit_upstream_request_duration_seconds',
    help: 'Calls to the ChatBotKit API by final status (or "none" when no answer came), retries included.',
    labelNames: ['status'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #retries = new Counter({
    name: 'chatbotkit_upstream_retries_total',
    help: 'Extra attempts made after a retryable failure.',
    registers: [this.registry],
  });
  readonly #circuit = new Gauge({
    name: 'chatbotkit_upstream_circuit_state',
    help: 'Circuit breaker towards the ChatBotKit API: 0 closed, 1 half-open, 2 open.',
    registers: [this.registry],
  });

  /** `build` is what `gateway_build_info` reports: which version of the gateway runs. */
  constructor(build: { version: string }) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'gateway_build_info',
      help: 'Always 1; its label says which version of the gateway runs.',
      labelNames: ['version'],
      registers: [this.registry],
    }).set({ version: build.version }, 1);
  }

  requestStarted(): void {
    this.#inFlight.inc();
  }

  /** Everything one request did, reported once by the edge when it ends. */
  requestEnded(record: RequestRecord, { path, status, durationMs }: HttpMeasure): void {
    const seconds = durationMs / 1000;
    this.#inFlight.dec();
    this.#httpRequests.inc({ path, status: status ?? 'aborted' });
    this.#httpDurations.observe({ path }, seconds);
    if (record.knownOperation) this.#knownOperations.inc();
    if (record.operation) {
      const outcome = record.errorCodes?.[0] ?? record.result ?? 'ok';
      this.#operations.observe({ operation: record.operation, outcome }, seconds);
    }
    if (record.upstream) {
      const { status: upstreamStatus, durationMs: upstreamMs, attempts } = record.upstream;
      this.#upstream.observe({ status: upstreamStatus ?? 'none' }, upstreamMs / 1000);
      if (attempts > 1) this.#retries.inc(attempts - 1);
    }
  }

  circuitChanged(state: CircuitState): void {
    this.#circuit.set(CIRCUIT_STATES[state]);
  }
}

/** Serves the registry at `/metrics` in the Prometheus text format. */
export function useMetricsEndpoint(metrics: GatewayMetrics): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== '/metrics') return;
      endResponse(
        new fetchAPI.Response(await metrics.registry.metrics(), {
          headers: { 'content-type': metrics.registry.contentType },
        }),
      );
    },
  };
}
