/**
 * The machine a run measured on, and how busy it already was: printed first and kept in the results.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { busyPercent, machineCpu } from './proc.ts';
import { ROOT_DIR } from './processes.ts';
import { round } from './results.ts';

export type Machine = Awaited<ReturnType<typeof machineInfo>>;

/** Takes one second: it samples how busy the machine is before the bench adds to it. */
export async function machineInfo() {
  const before = machineCpu();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = machineCpu();
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    cpuMhz: cpus[0]?.speed,
    memoryGb: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage1m: round(os.loadavg()[0] ?? NaN, 2),
    /** Share of the machine's CPU busy during one second before the bench started (others' work). */
    backgroundBusyPercent: round(busyPercent(before, after), 1),
    gitCommit: git('rev-parse', '--short', 'HEAD'),
    /** Files under src/ changed from that commit (others edit concurrently). */
    srcChanges: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length,
  };
}

/** The machine in a few words, for a chart's subtitle. */
export const machineShort = (machine: Machine): string =>
  `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`;

/** One line: the machine and the code measured. */
export function describeMachine(machine: Machine): string {
  return (
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}; ` +
    `commit ${machine.gitCommit}${machine.srcChanges ? ` + ${machine.srcChanges} changed files in src/` : ''}`
  );
}

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT_DIR, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}
