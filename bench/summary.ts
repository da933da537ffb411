/**
 * One target's rounds summed up: requests/s of correct answers, latency over all rounds, CPU per
 * request, peak memory, worst event-loop delay, most sockets.
 */
import { type LoadResult, percentiles } from './load.ts';
import { procStatus } from './proc.ts';
import { type Latency, mb, type RoundStats, round, type TargetStats } from './results.ts';
import type { Target } from './targets.ts';

/** One round of one target. */
export interface Measured {
  load: LoadResult;
  stats: RoundStats;
  upstreamCpuMs: number;
  socketsMax?: { upstream: number; callers: number };
}

export function roundLatency(latency: Latency): Latency {
  return {
    p50: round(latency.p50, 2),
    p90: round(latency.p90, 2),
    p99: round(latency.p99, 2),
    max: round(latency.max, 2),
    mean: round(latency.mean, 2),
  };
}

export async function summarise(target: Target, measured: Measured[]): Promise<TargetStats> {
  const total = (value: (m: Measured) => number): number => measured.reduce((n, m) => n + value(m), 0);
  const requests = total((m) => m.load.requests);
  const latencies = new Float64Array(total((m) => m.load.latencies.length));
  let offset = 0;
  for (const m of measured) {
    latencies.set(m.load.latencies, offset);
    offset += m.load.latencies.length;
  }
  const statusCodes: Record<string, number> = {};
  for (const m of measured)
    for (const [code, count] of Object.entries(m.load.statusCodes))
      statusCodes[code] = (statusCodes[code] ?? 0) + count;
  const worstDelay = measured
    .map((m) => m.stats.eventLoopDelayMs)
    .filter((d) => d !== undefined)
    .sort((a, b) => b.p99 - a.p99)[0];
  const sockets = measured.map((m) => m.socketsMax).filter((s) => s !== undefined);
  const heapMb = await heap(target);
  return {
    target: target.name,
    rounds: measured.map((m) => m.stats),
    requests,
    // Correct answers only: a fast wrong answer is not throughput.
    rps: round(latencies.length / total((m) => m.load.durationSec), 1),
    rpsMin: Math.min(...measured.map((m) => m.stats.rps)),
    rpsMax: Math.max(...measured.map((m) => m.stats.rps)),
    latencyMs: roundLatency(percentiles(latencies)),
    errors: total((m) => m.load.errors),
    timeouts: total((m) => m.load.timeouts),
    mismatches: total((m) => m.load.mismatches),
    non2xx: total((m) => m.load.non2xx),
    statusCodes,
    // The rounds' peaks; VmHWM since start where the kernel would not reset it.
    peakRssMb: round(peakRss(target, measured), 1),
    cpuUsPerRequest: round(total((m) => m.stats.cpuUsPerRequest * m.load.requests) / Math.max(1, requests), 0),
    allocBytesPerRequest: round(
      total((m) => m.stats.allocBytesPerRequest * m.load.requests) / Math.max(1, requests),
      0,
    ),
    upstreamCpuUsPerRequest:
      target.kind === 'direct' ? 0 : round((total((m) => m.upstreamCpuMs) * 1000) / Math.max(1, requests), 0),
    machineBusyPercent: round(total((m) => m.stats.machineBusyPercent) / measured.length, 1),
    eventLoopDelayMs: worstDelay,
    ...(sockets.length > 0 && {
      socketsMax: {
        upstream: Math.max(...sockets.map((s) => s.upstream)),
        callers: Math.max(...sockets.map((s) => s.callers)),
      },
    }),
    ...(heapMb && { heapMb }),
  };
}

function peakRss(target: Target, measured: Measured[]): number {
  const peaks = measured.map((m) => m.stats.peakRssMb).filter(Number.isFinite);
  return peaks.length ? Math.max(...peaks) : (procStatus(target.child.pid)?.peakRssMb ?? NaN);
}

/** The target's V8 heap now (no GC forced), from its probe. */
async function heap(target: Target): Promise<TargetStats['heapMb']> {
  const probed = await target.child.probe('read');
  if (!probed) return undefined;
  return {
    used: mb(probed.memory.heapUsed),
    total: mb(probed.memory.heapTotal),
    newSpace: probed.heapSpacesMb['new_space'] ?? NaN,
    oldSpace: probed.heapSpacesMb['old_space'] ?? NaN,
    external: mb(probed.memory.external),
  };
}
