/**
 * `--baseline-ref`: the working tree's gateway against the gateway of another commit, measured in
 * the same rounds. CPU µs per request is the figure to compare; requests/s follows it when the
 * gateway saturates its core (throughput), and is the asked-for rate at a fixed rate.
 */
import { byName, cpu, fmt, ratio, roundSpread, rps, type ScenarioResult, type TargetStats } from './results.ts';
import type { Session } from './session.ts';

/** The scenario's gateway/gateway@ref ratios, when the run has a baseline. */
export function comparisonRatios(session: Session, stats: readonly TargetStats[]): Record<string, number> {
  const baseline = session.baseline?.name;
  if (!baseline) return {};
  const [gateway, other] = [byName(stats)('gateway'), byName(stats)(baseline)];
  return {
    [`gateway/${baseline} CPU per request`]: ratio(gateway, other, cpu),
    [`gateway/${baseline}`]: ratio(gateway, other, rps),
  };
}

export interface Comparison {
  title: string;
  /** Per scenario that ran both gateways: its name, and both figures with their ratios. */
  rows: [scenario: string, text: string][];
}

/** The run's closing comparison; undefined without a baseline. */
export function comparison(session: Session, scenarios: readonly ScenarioResult[]): Comparison | undefined {
  const baseline = session.baseline?.name;
  if (!baseline) return undefined;
  const rows = scenarios.flatMap((scenario): Comparison['rows'] => {
    const [gateway, other] = [byName(scenario.targets)('gateway'), byName(scenario.targets)(baseline)];
    if (!gateway || !other) return [];
    const text =
      `CPU ${fmt(cpu(gateway), 0)} vs ${fmt(cpu(other), 0)} µs/request: ` +
      `${fmt(ratio(gateway, other, cpu), 2)} (rounds ${roundSpread(gateway, other, cpu) ?? '–'}); ` +
      `${fmt(rps(gateway), 0)} vs ${fmt(rps(other), 0)} req/s: ` +
      `${fmt(ratio(gateway, other, rps), 2)} (rounds ${roundSpread(gateway, other, rps) ?? '–'})`;
    return [[scenario.name, text]];
  });
  const title =
    `gateway (working tree) vs ${baseline}, ratios gateway/${baseline}: ` +
    'CPU below 1 and req/s above 1 favour the working tree';
  return { title, rows };
}
