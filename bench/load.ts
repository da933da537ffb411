/**
 * Load generation with autocannon (programmatic), in the bench's own process. Latencies are
 * taken from autocannon's per-response event at full (sub-millisecond) precision, rather than from
 * its histograms, which keep whole milliseconds.
 */
import autocannon from 'autocannon';

export interface Request {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  /** Cheap check of every answer's body; a false counts as a mismatch and fails the bench. */
  verifyBody: (body: string) => boolean;
}

export interface LoadOptions {
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  duration: number;
  /** Send exactly this many requests instead of running for `duration`. */
  amount?: number;
  /**
   * Fixed overall rate (requests/s), with autocannon's `overallRate`. autocannon lets each
   * connection send its share of a second's requests back to back at the start of every second;
   * to spread them over the second, the load runs as `phases` autocannon instances, each with
   * `1/phases` of the connections and of the rate, started `1/phases` s apart.
   */
  rate?: number;
  phases?: number;
  /** Called about once a second while the load runs. */
  onTick?: () => void;
}

export interface LoadResult {
  /** Answers received, right or wrong. */
  requests: number;
  durationSec: number;
  /** Correct answers per second. */
  rps: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Response times in ms, one per correct answer. */
  latencies: Float64Array;
  /** The first few bodies that failed `verifyBody`, to say what was wrong. */
  wrongBodies: string[];
}

export async function runLoad(request: Request, options: LoadOptions): Promise<LoadResult> {
  const phases = options.rate ? Math.max(1, Math.min(options.phases ?? 10, options.connections)) : 1;
  const latencies: number[] = [];
  const wrongBodies: string[] = [];
  // autocannon emits 'response' (with the time) and then, in the same call, verifies the body:
  // the time is kept only for a correct answer, so fast wrong answers cannot flatter latency.
  let lastResponseMs = NaN;
  const checked: Request = {
    ...request,
    verifyBody: (body) => {
      const ok = request.verifyBody(body);
      if (ok) latencies.push(lastResponseMs);
      else if (wrongBodies.length < 3) wrongBodies.push(body.slice(0, 600));
      return ok;
    },
  };
  const onResponse = (ms: number): void => {
    lastResponseMs = ms;
  };
  const tick = options.onTick && setInterval(options.onTick, 1000);
  try {
    const runs = await Promise.all(
      Array.from({ length: phases }, (_, phase) =>
        delay(options.rate ? (phase * 1000) / phases : 0).then(() =>
          runOne(checked, {
            connections: share(options.connections, phases, phase),
            duration: options.duration,
            ...(options.amount !== undefined && { amount: options.amount }),
            ...(options.rate !== undefined && { overallRate: share(options.rate, phases, phase) }),
            onResponse,
          }),
        ),
      ),
    );
    const statusCodes: Record<string, number> = {};
    for (const run of runs) {
      for (const [code, { count }] of Object.entries(run.statusCodeStats))
        statusCodes[code] = (statusCodes[code] ?? 0) + count;
    }
    const requests = runs.reduce((total, run) => total + run.totalCompletedRequests, 0);
    // Phases run side by side: their rates add up.
    const answeredPerSecond = runs.reduce((total, run) => total + run.totalCompletedRequests / run.duration, 0);
    const durationSec = requests / answeredPerSecond;
    return {
      requests,
      durationSec,
      rps: latencies.length / durationSec,
      errors: sum(runs, 'errors'),
      timeouts: sum(runs, 'timeouts'),
      mismatches: sum(runs, 'mismatches'),
      non2xx: sum(runs, 'non2xx'),
      statusCodes,
      latencies: Float64Array.from(latencies),
      wrongBodies,
    };
  } finally {
    if (tick) clearInterval(tick);
  }
}

interface OneOptions {
  connections: number;
  duration: number;
  amount?: number;
  overallRate?: number;
  onResponse: (ms: number) => void;
}

function runOne(
  request: Request,
  { connections, duration, amount, overallRate, onResponse }: OneOptions,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: request.url,
        method: request.method,
        headers: request.headers,
        body: request.body,
        connections,
        duration,
        ...(amount !== undefined && { amount }),
        ...(overallRate !== undefined && { overallRate, ignoreCoordinatedOmission: true }),
        timeout: 10,
        verifyBody: request.verifyBody,
        skipAggregateResult: true,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
      onResponse(responseTimeMs);
    });
  });
}

function share(total: number, parts: number, index: number): number {
  return Math.max(1, Math.floor(total / parts) + (index < total % parts ? 1 : 0));
}

function sum(runs: autocannon.Result[], key: 'errors' | 'timeouts' | 'mismatches' | 'non2xx'): number {
  return runs.reduce((total, run) => total + run[key], 0);
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** Percentiles (nearest rank) of response times in ms. */
export function percentiles(values: Float64Array): {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
} {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  let total = 0;
  for (const value of sorted) total += value;
  return { p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1] ?? NaN, mean: total / sorted.length };
}
