/**
 * Fixed rate: gateway and floor (and the baseline gateway) at one rate, half the floor's maximum
 * (the target), so that latency and CPU per request are compared under the same load.
 * Runs on the throughput scenario's processes.
 */
import { comparisonRatios } from './comparison.ts';
import { alloc, byName, cpu, fmt, p50, p99, ratio, type ScenarioResult } from './results.ts';
import { runRounds } from './rounds.ts';
import type { Running } from './running.ts';
import type { Session } from './session.ts';

/** Without `--rate`, the rate is a share of the floor's requests/s in `throughput`. */
export async function fixedRate(
  session: Session,
  running: Running,
  throughput: ScenarioResult | undefined,
): Promise<ScenarioResult | undefined> {
  const { options, log } = session;
  const rate = options.rate ?? defaultRate(throughput, options.rateFraction);
  if (rate === undefined) {
    log('\n  fixed-rate: skipped (needs --rate, or the throughput scenario with the floor to choose one)');
    return undefined;
  }
  const names = running.targets.filter((t) => t.kind === 'gateway' || t.kind === 'floor').map((t) => t.name);
  log(
    `\n▶ fixed-rate: ${rate} req/s for ${names.join(', ')}, ${options.connections} connections in 10 phases, ` +
      'upstream answers at once',
  );
  const stats = await runRounds(session, running, names, {
    connections: options.connections,
    duration: options.duration,
    rate,
  });
  const notes = stats.map((t) =>
    t.rps >= 0.95 * rate
      ? `${t.target} sustained ${fmt(t.rps, 0)} of ${rate} req/s`
      : `${t.target} did NOT sustain the rate: ${fmt(t.rps, 0)} of ${rate} req/s (its latencies are then understated)`,
  );
  notes.push('the same processes as in the throughput scenario; peak RSS is per round (VmHWM reset before each)');
  const [gateway, floor] = [byName(stats)('gateway'), byName(stats)('floor')];
  return {
    name: 'fixed-rate',
    title: `Fixed rate: ${rate} req/s, ${options.connections} connections, upstream answers at once`,
    upstreamLatencyMs: 0,
    connections: options.connections,
    durationSec: options.duration,
    rounds: options.rounds,
    rate,
    targets: stats,
    ratios: {
      'gateway/floor p99': ratio(gateway, floor, p99),
      'gateway/floor p50': ratio(gateway, floor, p50),
      'gateway/floor CPU per request': ratio(gateway, floor, cpu),
      'gateway/floor allocation per request': ratio(gateway, floor, alloc),
      ...comparisonRatios(session, stats),
    },
    notes,
  };
}

function defaultRate(throughput: ScenarioResult | undefined, fraction: number): number | undefined {
  const floor = byName(throughput?.targets ?? [])('floor');
  if (!floor) return undefined;
  return Math.max(10, Math.floor((fraction * floor.rps) / 10) * 10);
}
