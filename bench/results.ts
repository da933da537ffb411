/**
 * The shape of what the bench measures (printed, and written to bench/results/), and the
 * number helpers every module formats it with.
 */

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface RoundStats {
  round: number;
  requests: number;
  rps: number;
  latencyMs: Latency;
  cpuUsPerRequest: number;
  /** V8 heap bytes allocated per answer (from the probe's GC accounting); NaN when not read. */
  allocBytesPerRequest: number;
  /** The process's peak RSS during this round (VmHWM, reset before the round), MB. */
  peakRssMb: number;
  machineBusyPercent: number;
  eventLoopDelayMs?: { p50: number; p99: number; max: number } | undefined;
}

export interface TargetStats {
  /** The target's name: `direct`, `floor`, `gateway`, `peer`, `hive-mesh` or `gateway@<ref>`. */
  target: string;
  rounds: RoundStats[];
  /** Answers received (right or wrong); `rps` counts only correct ones. */
  requests: number;
  /** All rounds' correct answers over all rounds' seconds. */
  rps: number;
  rpsMin: number;
  rpsMax: number;
  latencyMs: Latency;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** The highest of the rounds' peak RSS (VmHWM reset before each round): the peak under this load. */
  peakRssMb: number;
  /** Target process CPU time per answered request (user + system). */
  cpuUsPerRequest: number;
  /** V8 heap bytes the target allocated per answered request, all rounds together. */
  allocBytesPerRequest: number;
  /** CPU the upstream emulator spent per request for this target (the same work for every proxy). */
  upstreamCpuUsPerRequest: number;
  machineBusyPercent: number;
  /** Worst round's event-loop delay (from bench/child/probe.ts). */
  eventLoopDelayMs?: { p50: number; p99: number; max: number } | undefined;
  /** V8 heap of the target's process after the scenario's last round (no GC forced), MB. */
  heapMb?: { used: number; total: number; newSpace: number; oldSpace: number; external: number };
  /** Most established sockets seen at once during a round: to the upstream, and the others (callers). */
  socketsMax?: { upstream: number; callers: number } | undefined;
}

export type ScenarioName = 'throughput' | 'fixed-rate' | 'slow-upstream' | 'startup';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['throughput', 'fixed-rate', 'slow-upstream', 'startup'];

export interface ScenarioResult {
  name: ScenarioName;
  title: string;
  upstreamLatencyMs: number;
  connections: number;
  durationSec: number;
  rounds: number;
  /** Fixed-rate scenario only: the overall rate asked for. */
  rate?: number;
  targets: TargetStats[];
  ratios: Record<string, number>;
  notes: string[];
}

export const round = (value: number, digits = 1): number =>
  Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : value;

export const fmt = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '–');

/** Bytes to MB, one decimal. */
export const mb = (bytes: number): number => round(bytes / 2 ** 20, 1);

/** The stats of one target by name, from a scenario's list. */
export const byName =
  (stats: readonly TargetStats[]) =>
  (name: string): TargetStats | undefined =>
    stats.find((t) => t.target === name);

/** a/b of one figure of two targets, two decimals; NaN when either is missing. */
export const ratio = (
  a: TargetStats | undefined,
  b: TargetStats | undefined,
  key: (t: TargetStats) => number,
): number => (a && b ? round(key(a) / key(b), 2) : NaN);

/** Per-round a/b of one figure (round i of a against round i of b); the finite ones. */
export function roundRatios(
  a: TargetStats | undefined,
  b: TargetStats | undefined,
  key: (r: RoundStats) => number,
): number[] {
  if (!a || !b) return [];
  return a.rounds
    .flatMap((r, i) => {
      const other = b.rounds[i];
      return other ? [key(r) / key(other)] : [];
    })
    .filter(Number.isFinite);
}

/** Per-round a/b of one figure, as "min–max", to show how much noise moved a ratio. */
export function roundSpread(
  a: TargetStats | undefined,
  b: TargetStats | undefined,
  key: (r: RoundStats) => number,
): string | undefined {
  const ratios = roundRatios(a, b, key);
  return ratios.length ? `${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}` : undefined;
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The figures ratios are taken of (of a target's summary or of one round). */
export const rps = (t: { rps: number }): number => t.rps;
export const cpu = (t: { cpuUsPerRequest: number }): number => t.cpuUsPerRequest;
export const alloc = (t: { allocBytesPerRequest: number }): number => t.allocBytesPerRequest;
export const rss = (t: { peakRssMb: number }): number => t.peakRssMb;
export const p99 = (t: { latencyMs: Latency }): number => t.latencyMs.p99;
export const p50 = (t: { latencyMs: Latency }): number => t.latencyMs.p50;
