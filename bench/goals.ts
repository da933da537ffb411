/**
 * The project's targets (issue 12, then the earlier two), each as a ratio of the gateway to the
 * floor or the peer measured in the same run, with the spread of the per-round ratios.
 * Informational: they do not set the exit code.
 */
import {
  byName,
  cpu,
  fmt,
  median,
  p99,
  type RoundStats,
  ratio,
  roundRatios,
  rps,
  rss,
  type ScenarioResult,
  type TargetStats,
} from './results.ts';
import type { StartupResult } from './startup.ts';

export interface Goal {
  goal: string;
  /** The ratio measured; NaN when this run did not measure it. */
  value: number;
  /** Undefined for a figure reported without a bound (start-up time). */
  met?: boolean | undefined;
  /** The per-round ratios' range, and what else the reader needs. */
  detail?: string | undefined;
}

export function goals(scenarios: readonly ScenarioResult[], startup: readonly StartupResult[] = []): Goal[] {
  const scenario = (name: string) => byName(scenarios.find((s) => s.name === name)?.targets ?? []);
  const [closed, fixed] = [scenario('throughput'), scenario('fixed-rate')];
  const p99Ratios = roundRatios(fixed('gateway'), fixed('floor'), p99);
  const short = belowRate(scenarios.find((s) => s.name === 'fixed-rate'));
  return [
    atMost(
      'gateway CPU per request ≤ 1.3× floor (fixed rate)',
      ratio(fixed('gateway'), fixed('floor'), cpu),
      1.3,
      join(spread(fixed('gateway'), fixed('floor'), cpu), short),
    ),
    atMost(
      'gateway peak RSS ≤ 1.1× floor (throughput)',
      ratio(closed('gateway'), closed('floor'), rss),
      1.1,
      spread(closed('gateway'), closed('floor'), rss),
    ),
    atMost(
      'gateway p99 at fixed rate ≤ 1.5× floor',
      Math.round(median(p99Ratios) * 100) / 100,
      1.5,
      p99Ratios.length > 0
        ? join(`median of ${p99Ratios.length} rounds, ${spread(fixed('gateway'), fixed('floor'), p99)}`, short)
        : undefined,
    ),
    startupGoal(startup),
    atMost('gateway CPU per request ≤ 0.5× peer', ratio(closed('gateway'), closed('peer'), cpu), 0.5, undefined),
    {
      goal: 'gateway requests/s ≥ 0.5× floor',
      value: ratio(closed('gateway'), closed('floor'), rps),
      met: ratio(closed('gateway'), closed('floor'), rps) >= 0.5,
    },
  ];
}

/** Said beside the fixed-rate targets when the gateway could not keep up with the rate. */
function belowRate(scenario: ScenarioResult | undefined): string | undefined {
  const gateway = byName(scenario?.targets ?? [])('gateway');
  if (!scenario?.rate || !gateway || gateway.rps >= 0.95 * scenario.rate) return undefined;
  return `the gateway served ${fmt(gateway.rps, 0)} of ${scenario.rate} req/s`;
}

const join = (...parts: (string | undefined)[]): string | undefined =>
  parts.filter((part) => part !== undefined).join('; ') || undefined;

function atMost(goal: string, value: number, bound: number, detail: string | undefined): Goal {
  return { goal, value, met: value <= bound, detail };
}

function spread(
  a: TargetStats | undefined,
  b: TargetStats | undefined,
  key: (r: RoundStats) => number,
): string | undefined {
  const ratios = roundRatios(a, b, key);
  return ratios.length ? `rounds ${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}` : undefined;
}

function startupGoal(startup: readonly StartupResult[]): Goal {
  const [gateway, floor] = [startup.find((s) => s.target === 'gateway'), startup.find((s) => s.target === 'floor')];
  return {
    goal: 'start → first answered mutation, gateway/floor',
    value: gateway && floor ? Math.round((gateway.medianMs / floor.medianMs) * 100) / 100 : NaN,
    detail:
      gateway && floor
        ? `median ${fmt(gateway.medianMs, 0)} ms vs ${fmt(floor.medianMs, 0)} ms over ${gateway.runsMs.length} starts`
        : undefined,
  };
}

/** ✓ met, ✗ not met, · reported without a bound or not measured. */
export const mark = (goal: Goal): string =>
  Number.isFinite(goal.value) && goal.met !== undefined ? (goal.met ? '✓' : '✗') : '·';

export const measured = (goal: Goal): string =>
  Number.isFinite(goal.value)
    ? `${fmt(goal.value, 2)}${goal.detail ? ` (${goal.detail})` : ''}`
    : 'not measured in this run';
