/**
 * A scenario's processes: the upstream emulator and the targets, started and verified before any
 * load, stopped afterwards, and what each gateway logged meanwhile.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { verifyTarget } from './answers.ts';
import { type Child, ROOT_DIR } from './processes.ts';
import { round } from './results.ts';
import type { Session } from './session.ts';
import { PROFILE_NODE_FLAGS, startTarget, startUpstream, type Target, type TargetSpec } from './targets.ts';

export interface Running {
  scenario: string;
  upstream: Child;
  targets: Target[];
  /** Requests each target was sent so far, by name (for log volume per request). */
  requests: Map<string, number>;
  /** The longest target name, for aligned progress lines. */
  nameWidth: number;
}

/**
 * Starts the upstream and the targets, runs `work`, and stops them all whatever happens.
 * Returns what `work` returned and a note per gateway on what it logged.
 */
export async function withRunning<T>(
  session: Session,
  scenario: string,
  latencyMs: number,
  specs: readonly TargetSpec[],
  work: (running: Running) => Promise<T>,
): Promise<{ value: T; logNotes: string[] }> {
  const running = await start(session, scenario, latencyMs, specs);
  let value: T;
  try {
    value = await work(running);
  } finally {
    await stop(session, running);
  }
  return {
    value,
    logNotes: running.targets.filter((t) => t.kind === 'gateway').map((t) => trimLog(session, running, t)),
  };
}

async function start(
  session: Session,
  scenario: string,
  latencyMs: number,
  specs: readonly TargetSpec[],
): Promise<Running> {
  const { log, options } = session;
  log(`\n▶ ${scenario}: starting the upstream emulator (${latencyMs} ms) and ${specs.map((s) => s.name).join(', ')}`);
  const upstream = session.track(await startUpstream('upstream', latencyMs));
  const nameWidth = Math.max(8, ...specs.map((spec) => spec.name.length));
  const running: Running = { scenario, upstream, targets: [], requests: new Map(), nameWidth };
  const environment = {
    upstreamUrl: upstream.url,
    upstreamLatencyMs: latencyMs,
    logLevel: options.logLevel,
    gatewayEnv: options.gatewayEnv,
    ...(options.profile && { nodeFlags: PROFILE_NODE_FLAGS }),
    logFile: (name: string) => logFile(session, scenario, name),
  };
  // Side by side: starting is not measured, and a gateway takes a few seconds to load.
  running.targets = await Promise.all(
    specs.map(async (spec) => {
      const target = await startTarget(spec, environment);
      session.track(target.child);
      return target;
    }),
  );
  for (const target of running.targets) {
    await verifyTarget(target);
    running.requests.set(target.name, 3);
    log(`  ${target.name.padEnd(nameWidth)} ${target.child.url}  pid ${target.child.pid}  answers verified`);
  }
  return running;
}

async function stop(session: Session, running: Running): Promise<void> {
  const children = [running.upstream, ...running.targets.map((t) => t.child)];
  await Promise.all(children.map((child) => child.stop()));
  for (const child of children) session.untrack(child);
}

/** A gateway's log file; the ref in a baseline's name may hold characters a file name should not. */
function logFile(session: Session, scenario: string, name: string): string {
  return join(session.logDir, `${scenario}-${name.replace(/[^\w.@-]/g, '_')}.log`);
}

/**
 * Cuts a gateway's log down to its head, its first 50 warnings and errors, and its tail: its size
 * says what logging cost, the rest what it said. Returns a note on its volume per request.
 */
function trimLog(session: Session, running: Running, target: Target): string {
  const file = logFile(session, running.scenario, target.name);
  const bytes = statSync(file).size;
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const warnings = lines.filter((line) => /^\{"level":(?:[4-9]\d)/.test(line)).slice(0, 50);
  writeFileSync(
    file,
    [
      ...lines.slice(0, 5),
      `… ${lines.length} lines, ${bytes} bytes in all; the first 50 warnings and errors:`,
      ...warnings,
      '… the last 20 lines:',
      ...lines.slice(-20),
      '',
    ].join('\n'),
  );
  const requests = running.requests.get(target.name) ?? 0;
  return (
    `${target.name} LOG_LEVEL=${session.options.logLevel}: ${lines.length} log lines, ${bytes} bytes for ` +
    `${requests} requests (${round(bytes / Math.max(1, requests), 0)} bytes/request; ` +
    `file ${relative(ROOT_DIR, file)}, tail kept)`
  );
}
