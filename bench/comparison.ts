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

/** One line per scenario that ran both gateways; none without a baseline. */
export function comparisonLines(session: Session, scenarios: readonly ScenarioResult[]): string[] {
  const baseline = session.baseline?.name;
  if (!baseline) return [];
  const lines = scenarios.flatMap((scenario) => {
    const [gateway, other] = [byName(scenario.targets)('gateway'), byName(scenario.targets)(baseline)];
    if (!gateway || !other) return [];
    return [
      `  ${scenario.name.padEnd(14)} CPU ${fmt(cpu(gateway), 0)} vs ${fmt(cpu(other), 0)} µs/request: ` +
        `${fmt(ratio(gateway, other, cpu), 2)} (rounds ${roundSpread(gateway, other, cpu) ?? '–'}); ` +
        `${fmt(rps(gateway), 0)} vs ${fmt(rps(other), 0)} req/s: ` +
        `${fmt(ratio(gateway, other, rps), 2)} (rounds ${roundSpread(gateway, other, rps) ?? '–'})`,
    ];
  });
  return [
    `gateway (working tree) vs ${baseline}, ratios gateway/${baseline}: ` +
      'CPU below 1 and req/s above 1 favour the working tree',
    ...lines,
  ];
}
