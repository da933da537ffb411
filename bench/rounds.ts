/**
 * Alternating rounds: every target once per round, the order rotating each round so that a noisy
 * minute hits all of them alike; each round's load, CPU time, sockets and event-loop delay.
 */
import { type LoadResult, percentiles, runLoad } from './load.ts';
import { busyPercent, cpuTimeMs, machineCpu, procStatus, resetPeakRss, socketCounts } from './proc.ts';
import { fmt, type RoundStats, round, type TargetStats } from './results.ts';
import type { Running } from './running.ts';
import { checkClean, type Session } from './session.ts';
import { type Measured, roundLatency, summarise } from './summary.ts';
import type { Target } from './targets.ts';

export interface RoundLoad {
  connections: number;
  duration: number;
  /** A fixed overall rate, requests/s; closed loop without it. */
  rate?: number | undefined;
}

/** Runs the named targets in alternating rounds and sums up per target, in the order named. */
export async function runRounds(
  session: Session,
  running: Running,
  names: readonly string[],
  load: RoundLoad,
): Promise<TargetStats[]> {
  const { options } = session;
  const targets = names.map((name) => running.targets.find((t) => t.name === name)!);
  const measured = new Map<string, Measured[]>(names.map((name) => [name, []]));
  for (let r = 0; r < options.rounds; r++) {
    // First touch: a longer warm-up per target (JIT, connection pools), then a short one each round.
    const warmup = r === 0 ? options.warmup : options.roundWarmup;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + r) % targets.length]!;
      measured.get(target.name)!.push(await measure(session, running, target, r, { ...load, warmup }));
    }
  }
  return Promise.all(targets.map((target) => summarise(target, measured.get(target.name)!)));
}

async function measure(
  session: Session,
  running: Running,
  target: Target,
  roundIndex: number,
  load: RoundLoad & { warmup: number },
): Promise<Measured> {
  const rate = load.rate === undefined ? {} : { rate: load.rate };
  const count = (result: LoadResult): void =>
    void running.requests.set(target.name, (running.requests.get(target.name) ?? 0) + result.requests);
  if (load.warmup > 0) {
    const warm = await runLoad(target.request, { connections: load.connections, duration: load.warmup, ...rate });
    count(warm);
    checkClean(session, warm, `${running.scenario} ${target.name} warm-up`);
  }
  const pid = target.child.pid;
  const upstreamPort = Number(new URL(running.upstream.url).port);
  const watchSockets = target.kind !== 'direct';
  const sockets = { upstream: 0, callers: 0 };
  await target.child.probe('reset');
  resetPeakRss(pid);
  const cpu0 = cpuTimeMs(pid);
  const upstreamCpu0 = cpuTimeMs(running.upstream.pid);
  const machine0 = machineCpu();
  const result = await runLoad(target.request, {
    connections: load.connections,
    duration: load.duration,
    ...rate,
    onTick: () => {
      const counts = watchSockets ? socketCounts(pid, upstreamPort) : undefined;
      if (!counts) return;
      sockets.upstream = Math.max(sockets.upstream, counts.upstream);
      sockets.callers = Math.max(sockets.callers, counts.other);
    },
  });
  const cpuMs = cpuTimeMs(pid) - cpu0;
  const upstreamCpuMs = cpuTimeMs(running.upstream.pid) - upstreamCpu0;
  const machine1 = machineCpu();
  const peakRssMb = procStatus(pid)?.peakRssMb ?? NaN;
  const probed = await target.child.probe('read');
  count(result);
  checkClean(session, result, `${running.scenario} ${target.name} round ${roundIndex + 1}`);
  const latencyMs = roundLatency(percentiles(result.latencies));
  const stats: RoundStats = {
    round: roundIndex + 1,
    requests: result.requests,
    rps: round(result.rps, 1),
    latencyMs,
    cpuUsPerRequest: round((cpuMs * 1000) / Math.max(1, result.requests), 0),
    allocBytesPerRequest: round((probed?.allocatedBytes ?? NaN) / Math.max(1, result.requests), 0),
    peakRssMb: round(peakRssMb, 1),
    machineBusyPercent: round(busyPercent(machine0, machine1), 1),
    eventLoopDelayMs: probed && {
      p50: probed.eventLoopDelayMs.p50,
      p99: probed.eventLoopDelayMs.p99,
      max: probed.eventLoopDelayMs.max,
    },
  };
  session.log(
    `  round ${roundIndex + 1} ${target.name.padEnd(running.nameWidth)} ${fmt(result.rps, 0).padStart(6)} req/s  ` +
      `p50 ${fmt(latencyMs.p50, 2)} ms  p99 ${fmt(latencyMs.p99, 2)} ms  CPU ${stats.cpuUsPerRequest} µs/req  ` +
      `alloc ${fmt(stats.allocBytesPerRequest, 0)} B/req  RSS ${fmt(peakRssMb, 0)} MB` +
      (watchSockets ? `  sockets: ${sockets.callers} callers, ${sockets.upstream} upstream` : ''),
  );
  return { load: result, stats, upstreamCpuMs, ...(watchSockets && { socketsMax: sockets }) };
}
