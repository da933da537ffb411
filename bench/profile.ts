/**
 * Profile (`--profile`): where the floor's and the gateway's CPU time goes, component by
 * component, at one fixed rate both sustain. Each target runs alone under load while Linux
 * `perf` samples all its threads on CPU time (V8's own profiler samples the main thread only,
 * and counts time the thread waited for a core), then `perf script` is summed by component
 * (bench/cpu-components.ts). The gap between the two columns is what the gateway adds.
 */
import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { COMPONENTS, type Component, sumCpuTime } from './cpu-components.ts';
import { runLoad } from './load.ts';
import { type Machine, machineShort } from './machine.ts';
import { cpuTimeMs, procStatus, resetPeakRss } from './proc.ts';
import { fmt, round } from './results.ts';
import { withRunning } from './running.ts';
import { checkClean, type Session, stampOf, writeResult } from './session.ts';
import { type Target, targetSpecs } from './targets.ts';

/** Both targets sustain it on a 2-core machine (the gateway's maximum here is some 5,000 req/s). */
export const DEFAULT_PROFILE_RATE = 2000;

const SAMPLES_PER_SECOND = 999;
// How long perf gets to refuse (permissions, a gone process) before the load starts.
const PERF_START_MS = 300;

interface TargetProfile {
  target: string;
  requests: number;
  /** CPU time from /proc over the same window, µs per request. */
  cpuUsPerRequest: number;
  /** Sampled CPU time, µs per request. */
  sampledUsPerRequest: number;
  /** Resident memory before any request (loaded code and data), and its peak under this load, MB. */
  rssBeforeLoadMb: number;
  peakRssMb: number;
  components: Record<Component, number>;
  /** The JavaScript functions with the most samples (builtins counted for their caller), µs per request. */
  topFunctions: { name: string; usPerRequest: number }[];
}

const TOP_FUNCTIONS = 15;

/** Says why `perf` cannot profile here, or undefined when it can. */
export function perfUnavailable(): string | undefined {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return '--profile needs Linux perf (Debian: apt-get install linux-perf)';
  }
}

/** Runs the profile and writes results/profile-latest.json and .md; true when it ran clean. */
export async function profile(session: Session, machine: Machine): Promise<boolean> {
  const { options, log } = session;
  const rate = options.rate ?? DEFAULT_PROFILE_RATE;
  const specs = targetSpecs(['floor', 'gateway'], undefined);
  const { value: profiles } = await withRunning(session, 'profile', 0, specs, async (running) => {
    const measured: TargetProfile[] = [];
    for (const target of running.targets) measured.push(await profileTarget(session, target, rate));
    return measured;
  });
  const table = formatProfile(profiles);
  log(`\nProfile: CPU µs per request by component at ${rate} req/s, ${options.connections} connections\n\n${table}`);
  const [floor, gateway] = profiles;
  if (floor && gateway) {
    log(
      `\n  gateway/floor CPU per request ${fmt(gateway.cpuUsPerRequest / floor.cpuUsPerRequest, 2)}; ` +
        'the difference column is what the gateway adds, largest first',
    );
    log(
      `  resident memory before any request → peak under this load: floor ${floor.rssBeforeLoadMb} → ` +
        `${floor.peakRssMb} MB, gateway ${gateway.rssBeforeLoadMb} → ${gateway.peakRssMb} MB`,
    );
    log(`\nThe gateway's ${TOP_FUNCTIONS} costliest JavaScript functions (V8's builtins counted for their caller):`);
    for (const { name, usPerRequest } of gateway.topFunctions) log(`  ${fmt(usPerRequest, 1).padStart(6)} µs  ${name}`);
  }
  const result = { mode: 'profile', machine, options, rate, profiles, problems: session.problems };
  const stamp = stampOf(new Date());
  writeResult(session, [`profile-${stamp}.json`, 'profile-latest.json'], `${JSON.stringify(result, null, 2)}\n`);
  writeResult(
    session,
    ['profile-latest.md'],
    `# Profile at ${rate} req/s\n\n${machineShort(machine)}\n\n${markdownProfile(profiles)}\n`,
  );
  log('  written: bench/results/profile-latest.json, bench/results/profile-latest.md');
  return session.problems.length === 0;
}

async function profileTarget(session: Session, target: Target, rate: number): Promise<TargetProfile> {
  const { options, log } = session;
  const load = { connections: options.connections, duration: options.duration, rate };
  const rssBeforeLoadMb = round(procStatus(target.child.pid)?.rssMb ?? NaN, 0);
  if (options.warmup > 0)
    checkClean(session, await runLoad(target.request, { ...load, duration: options.warmup }), `${target.name} warm-up`);
  const pid = target.child.pid;
  const file = join(tmpdir(), `bench-perf-${pid}.data`);
  try {
    const perf = await startPerf(pid, file);
    resetPeakRss(pid);
    const cpu0 = cpuTimeMs(pid);
    const result = await runLoad(target.request, load).finally(() => perf.stop());
    const cpuMs = cpuTimeMs(pid) - cpu0;
    const peakRssMb = round(procStatus(pid)?.peakRssMb ?? NaN, 0);
    await perf.stopped;
    checkClean(session, result, `${target.name} profile`);
    const script = execFileSync('perf', ['script', '-i', file], {
      maxBuffer: 2 ** 30,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const cpu = sumCpuTime(script.toString('utf8'));
    const perRequest = (ns: number): number => round(ns / 1000 / Math.max(1, result.requests), 1);
    const profiled: TargetProfile = {
      target: target.name,
      requests: result.requests,
      cpuUsPerRequest: round((cpuMs * 1000) / Math.max(1, result.requests), 0),
      sampledUsPerRequest: perRequest(cpu.total),
      rssBeforeLoadMb,
      peakRssMb,
      components: Object.fromEntries(COMPONENTS.map((c) => [c, perRequest(cpu.components.get(c) ?? 0)])) as Record<
        Component,
        number
      >,
      topFunctions: [...cpu.functions]
        .sort((a, b) => b[1] - a[1])
        .slice(0, TOP_FUNCTIONS)
        .map(([name, ns]) => ({ name, usPerRequest: perRequest(ns) })),
    };
    log(
      `  ${target.name}: ${result.requests} requests, CPU ${profiled.cpuUsPerRequest} µs/req, ` +
        `${profiled.sampledUsPerRequest} µs/req sampled`,
    );
    return profiled;
  } finally {
    rmSync(file, { force: true });
    rmSync(`/tmp/perf-${pid}.map`, { force: true });
  }
}

/**
 * `perf record` sampling every thread of `pid` on CPU time into `file`. It fails here, before any
 * load, when perf cannot sample (no permission, no such process); `stop()` ends it with SIGINT,
 * on which perf writes what it sampled, and `stopped` settles once it has.
 */
async function startPerf(pid: number, file: string): Promise<{ stop(): void; stopped: Promise<void> }> {
  const args = ['record', '-q', '-e', 'cpu-clock', '-F', String(SAMPLES_PER_SECOND), '-g', '-p', String(pid)];
  const perf = spawn('perf', [...args, '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  perf.stderr.on('data', (chunk: Buffer) => (errors += chunk));
  const stopped = new Promise<void>((resolve, reject) => {
    perf.once('error', (error) => reject(new Error(`perf record could not start: ${error.message}`)));
    perf.once('exit', (code, signal) =>
      code === 0 || signal === 'SIGINT' ? resolve() : reject(new Error(`perf record failed: ${errors.trim()}`)),
    );
  });
  stopped.catch(() => undefined); // awaited by the caller, unless the load failed first
  // perf refuses at once or not at all.
  const early = await Promise.race([stopped.then(() => 'exited'), delay(PERF_START_MS)]);
  if (early === 'exited') throw new Error(`perf record stopped before the load: ${errors.trim()}`);
  return { stop: () => void perf.kill('SIGINT'), stopped };
}

/** Rows: components, largest difference first, then the totals. */
function rows(profiles: readonly TargetProfile[]): string[][] {
  const [floor, gateway] = profiles;
  const difference = (c: Component): number => (gateway?.components[c] ?? 0) - (floor?.components[c] ?? 0);
  const ordered = [...COMPONENTS].sort((a, b) => difference(b) - difference(a));
  const cell = (value: number | undefined): string => fmt(value ?? NaN, 1);
  return [
    ...ordered.map((c) => [c, cell(floor?.components[c]), cell(gateway?.components[c]), cell(difference(c))]),
    [
      'sampled in all',
      cell(floor?.sampledUsPerRequest),
      cell(gateway?.sampledUsPerRequest),
      cell((gateway?.sampledUsPerRequest ?? 0) - (floor?.sampledUsPerRequest ?? 0)),
    ],
    [
      'CPU time (/proc)',
      cell(floor?.cpuUsPerRequest),
      cell(gateway?.cpuUsPerRequest),
      cell((gateway?.cpuUsPerRequest ?? 0) - (floor?.cpuUsPerRequest ?? 0)),
    ],
  ];
}

const HEADER = ['component', 'floor µs/req', 'gateway µs/req', 'difference'];

function formatProfile(profiles: readonly TargetProfile[]): string {
  const body = rows(profiles);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(HEADER), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function markdownProfile(profiles: readonly TargetProfile[]): string {
  const line = (row: readonly string[]): string => `| ${row.join(' | ')} |`;
  return [line(HEADER), line(['---', '---:', '---:', '---:']), ...rows(profiles).map(line)].join('\n');
}
