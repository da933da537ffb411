/**
 * What a run prints at the end and writes to bench/results/: each scenario's table, ratios and
 * notes, the targets, the baseline comparison, as text, JSON, Markdown and an SVG chart.
 */
import { comparison } from './comparison.ts';
import { goals, mark, measured } from './goals.ts';
import { describeMachine, type Machine, machineShort } from './machine.ts';
import { fmt, type ScenarioResult } from './results.ts';
import { type Session, stampOf, writeResult } from './session.ts';
import type { StartupResult } from './startup.ts';
import { type Bar, svgChart } from './svg.ts';
import { formatTable, markdownTable } from './tables.ts';

export function printReport(
  session: Session,
  scenarios: readonly ScenarioResult[],
  startup: readonly StartupResult[],
): void {
  const { log } = session;
  for (const scenario of scenarios) {
    log(`\n\n${scenario.title} (${scenario.rounds} rounds × ${scenario.durationSec} s)\n`);
    log(formatTable(scenario));
    log('');
    const ratios = measuredRatios(scenario);
    const width = Math.max(32, ...ratios.map(([name]) => name.length + 1));
    for (const [name, value] of ratios) log(`  ${name.padEnd(width)} ${fmt(value, 2)}`);
    for (const note of scenario.notes) log(`  · ${note}`);
  }
  if (startup.length > 0) log(`\n\nStart-up: spawn → first correct answer to the mutation\n\n${startupLines(startup)}`);
  log('\nTargets:');
  for (const goal of goals(scenarios, startup)) log(`  ${mark(goal)} ${goal.goal.padEnd(50)} ${measured(goal)}`);
  const compared = comparison(session, scenarios);
  if (compared)
    log(`\n${compared.title}\n${compared.rows.map(([name, text]) => `  ${name.padEnd(14)} ${text}`).join('\n')}`);
}

/** results/latest.json, .md and .svg, and a copy of the JSON and SVG named for the start time. */
export function writeReport(
  session: Session,
  machine: Machine,
  started: Date,
  scenarios: readonly ScenarioResult[],
  startup: readonly StartupResult[],
): void {
  const { options, problems } = session;
  const baseline = session.baseline && { name: session.baseline.name, commit: session.baseline.commit };
  const result = {
    machine,
    options,
    baseline,
    started,
    finished: new Date(),
    scenarios,
    startup,
    goals: goals(scenarios, startup),
    problems,
  };
  const stamp = stampOf(started);
  writeResult(session, [`bench-${stamp}.json`, 'latest.json'], `${JSON.stringify(result, null, 2)}\n`);
  const when = started.toISOString().slice(0, 16).replace('T', ' ');
  const svg = svgChart(
    `npm run bench${options.quick ? ' --quick' : ''}: ${when} UTC`,
    `${machineShort(machine)}; load generator, targets and upstream share the machine`,
    scenarios.map(chartPanel),
  );
  writeResult(session, [`bench-${stamp}.svg`, 'latest.svg'], svg);
  writeResult(session, ['latest.md'], `${markdown(session, machine, started, scenarios, startup)}\n`);
  session.log(`\nwritten: bench/results/latest.json, latest.svg, latest.md (and bench-${stamp}.json/.svg)`);
}

function markdown(
  session: Session,
  machine: Machine,
  started: Date,
  scenarios: readonly ScenarioResult[],
  startup: readonly StartupResult[],
): string {
  const compared = comparison(session, scenarios);
  return [
    `Machine: ${describeMachine(machine)} (load generator, targets and upstream on the same machine); ` +
      `${started.toISOString()}.`,
    ...scenarios.flatMap((s) => [
      '',
      `**${s.title}** (${s.rounds} rounds × ${s.durationSec} s per target)`,
      '',
      markdownTable(s),
      '',
      measuredRatios(s)
        .map(([name, value]) => `${name} **${fmt(value, 2)}**`)
        .join(' · '),
      '',
      ...s.notes.map((note) => `- ${note}`),
    ]),
    ...(startup.length > 0 ? ['', '**Start-up: spawn → first correct answer**', '', startupLines(startup)] : []),
    '',
    'Targets:',
    '',
    ...goals(scenarios, startup).map((goal) => `- ${mark(goal)} ${goal.goal}: ${measured(goal)}`),
    ...(compared ? ['', compared.title, '', ...compared.rows.map(([name, text]) => `- ${name}: ${text}`)] : []),
  ].join('\n');
}

/** One line per target: the median and every start. */
function startupLines(startup: readonly StartupResult[]): string {
  const width = Math.max(...startup.map((s) => s.target.length));
  return startup
    .map((s) => `  ${s.target.padEnd(width)}  median ${fmt(s.medianMs, 0)} ms  (starts: ${s.runsMs.join(', ')} ms)`)
    .join('\n');
}

/** The ratios this run could compute (a ratio to a target that did not run is NaN). */
function measuredRatios(scenario: ScenarioResult): [string, number][] {
  return Object.entries(scenario.ratios).filter(([, value]) => Number.isFinite(value));
}

/** Requests/s for the closed-loop scenario, p99 latency for the others. */
function chartPanel(scenario: ScenarioResult): { title: string; bars: Bar[] } {
  const closedLoop = scenario.name === 'throughput';
  return {
    title: `${scenario.title}: ${closedLoop ? 'requests/s' : 'p99 latency'}`,
    bars: scenario.targets.map((t) => {
      const failed = t.mismatches + t.errors + t.timeouts + t.non2xx;
      return {
        label: t.target,
        value: closedLoop ? t.rps : t.latencyMs.p99,
        text: closedLoop
          ? `${fmt(t.rps, 0)} req/s · p99 ${fmt(t.latencyMs.p99, 1)} ms · ${fmt(t.peakRssMb, 0)} MB`
          : `p99 ${fmt(t.latencyMs.p99, 2)} ms · p50 ${fmt(t.latencyMs.p50, 2)} ms · ${fmt(t.rps, 0)} req/s` +
            (failed > 0 ? ` · ${failed} failed` : ''),
        highlight: t.target.startsWith('gateway'),
      };
    }),
  };
}
