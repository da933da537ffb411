/**
 * Slow upstream: the upstream answers after `--slow-latency-ms`, many callers. If nothing queues
 * inside a target, its latency follows the upstream's and it serves callers / latency requests/s.
 */
import { comparisonRatios } from './comparison.ts';
import { byName, fmt, ratio, round, rps, type ScenarioResult } from './results.ts';
import { runRounds } from './rounds.ts';
import type { Running } from './running.ts';
import type { Session } from './session.ts';

export async function slowUpstream(session: Session, running: Running): Promise<ScenarioResult> {
  const { options } = session;
  const latency = options.slowLatencyMs;
  const connections = options.slowConnections;
  session.log(
    `  ${options.rounds} rounds × ${options.duration} s per target, ${connections} connections, ` +
      `upstream answers after ${latency} ms`,
  );
  const names = running.targets.map((t) => t.name);
  const stats = await runRounds(session, running, names, { connections, duration: options.duration });
  const ideal = (connections * 1000) / latency;
  const notes = stats.map(
    (t) =>
      `${t.target}: p50 ${fmt(t.latencyMs.p50 - latency, 2)} ms and p99 ${fmt(t.latencyMs.p99 - latency, 2)} ms ` +
      `over the upstream's ${latency} ms; ` +
      `${fmt((100 * t.rps) / ideal, 0)}% of the ${fmt(ideal, 0)} req/s that ${connections} callers could get ` +
      'if nothing queued' +
      (t.socketsMax
        ? `; at most ${t.socketsMax.upstream} upstream sockets for ${t.socketsMax.callers} caller sockets`
        : '') +
      (t.eventLoopDelayMs
        ? `; event-loop delay p99 ${t.eventLoopDelayMs.p99} ms, max ${t.eventLoopDelayMs.max} ms`
        : ''),
  );
  const get = byName(stats);
  const overUpstream = (name: string): number => round((get(name)?.latencyMs.p50 ?? NaN) - latency, 2);
  return {
    name: 'slow-upstream',
    title: `Slow upstream: ${connections} connections, upstream answers after ${latency} ms`,
    upstreamLatencyMs: latency,
    connections,
    durationSec: options.duration,
    rounds: options.rounds,
    targets: stats,
    ratios: {
      'gateway/floor': ratio(get('gateway'), get('floor'), rps),
      'gateway/direct': ratio(get('gateway'), get('direct'), rps),
      'gateway p50 over upstream ms': overUpstream('gateway'),
      'floor p50 over upstream ms': overUpstream('floor'),
      ...comparisonRatios(session, stats),
    },
    notes,
  };
}
