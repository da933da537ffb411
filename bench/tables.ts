/**
 * A scenario's table, as text for the terminal and as Markdown for results/latest.md: the same
 * columns and cells in both.
 */
import { fmt, type ScenarioResult, type TargetStats } from './results.ts';

const COLUMNS: readonly { header: string; cell: (t: TargetStats) => string }[] = [
  { header: 'target', cell: (t) => t.target },
  { header: 'req/s', cell: (t) => String(Math.round(t.rps)) },
  { header: 'rounds min–max', cell: (t) => `${Math.round(t.rpsMin)}–${Math.round(t.rpsMax)}` },
  { header: 'p50 ms', cell: (t) => fmt(t.latencyMs.p50, 2) },
  { header: 'p90 ms', cell: (t) => fmt(t.latencyMs.p90, 2) },
  { header: 'p99 ms', cell: (t) => fmt(t.latencyMs.p99, 2) },
  { header: 'failed', cell: (t) => String(t.errors + t.timeouts + t.mismatches) },
  { header: 'non-2xx', cell: (t) => String(t.non2xx) },
  { header: 'peak RSS MB', cell: (t) => fmt(t.peakRssMb, 0) },
  { header: 'CPU µs/req', cell: (t) => fmt(t.cpuUsPerRequest, 0) },
  { header: 'alloc B/req', cell: (t) => fmt(t.allocBytesPerRequest, 0) },
  { header: 'ELD p99 ms', cell: (t) => (t.eventLoopDelayMs ? fmt(t.eventLoopDelayMs.p99, 1) : '–') },
];

const cells = (scenario: ScenarioResult): string[][] =>
  scenario.targets.map((t) => COLUMNS.map((column) => column.cell(t)));

/** Aligned columns: the target's name on the left, the figures on the right. */
export function formatTable(scenario: ScenarioResult): string {
  const header = COLUMNS.map((column) => column.header);
  const rows = cells(scenario);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(scenario: ScenarioResult): string {
  const line = (row: readonly string[]): string => `| ${row.join(' | ')} |`;
  return [
    line(COLUMNS.map((column) => column.header)),
    line(COLUMNS.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...cells(scenario).map(line),
  ].join('\n');
}
