/**
 * Startup: the time from spawning a target's process to its first correct answer to the mutation,
 * a few starts per target (alternating), the median reported beside the floor's.
 */

import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { requestFor } from './answers.ts';
import type { Request } from './load.ts';
import { freePort } from './processes.ts';
import { fmt, median, round } from './results.ts';
import type { Session } from './session.ts';
import { startTarget, startUpstream, type TargetKind, type TargetSpec, targetSpecs } from './targets.ts';

export interface StartupResult {
  target: string;
  /** Milliseconds from spawn to the first correct answer, one per start. */
  runsMs: number[];
  medianMs: number;
}

/** How often a starting target is asked, ms: the resolution of the figure. */
const POLL_MS = 5;
const GIVE_UP_MS = 60_000;

export async function startup(session: Session, kinds: readonly TargetKind[]): Promise<StartupResult[]> {
  const { options, log } = session;
  const specs = targetSpecs(
    kinds.filter((kind) => kind !== 'direct'),
    session.baseline,
  );
  log(`\n▶ startup: ${options.startupRuns} starts of ${specs.map((s) => s.name).join(', ')}, spawn → first answer`);
  const upstream = session.track(await startUpstream('upstream', 0));
  const runs = new Map<string, number[]>(specs.map((spec) => [spec.name, []]));
  try {
    for (let r = 0; r < options.startupRuns; r++) {
      for (let i = 0; i < specs.length; i++) {
        const spec = specs[(i + r) % specs.length]!;
        const ms = await timeToFirstAnswer(session, spec, upstream.url);
        runs.get(spec.name)!.push(round(ms, 0));
        log(`  start ${r + 1} ${spec.name.padEnd(10)} ${fmt(ms, 0)} ms`);
      }
    }
  } finally {
    await upstream.stop();
    session.untrack(upstream);
  }
  return specs.map(({ name }) => ({ target: name, runsMs: runs.get(name)!, medianMs: median(runs.get(name)!) }));
}

async function timeToFirstAnswer(session: Session, spec: TargetSpec, upstreamUrl: string): Promise<number> {
  // The gateway's URL is known before it starts (a port chosen here), so asking starts at spawn;
  // the other targets print their URL the moment they listen.
  const port = spec.kind === 'gateway' ? await freePort() : undefined;
  const started = performance.now();
  const starting = startTarget(spec, {
    upstreamUrl,
    upstreamLatencyMs: 0,
    logLevel: session.options.logLevel,
    gatewayEnv: session.options.gatewayEnv,
    gatewayPort: port,
    logFile: (name) => join(session.logDir, `startup-${name.replace(/[^\w.@-]/g, '_')}.log`),
  });
  let failed: unknown;
  starting.then(
    (target) => session.track(target.child),
    (error: unknown) => {
      failed = error;
    },
  );
  const url = port === undefined ? (await starting).child.url : `http://127.0.0.1:${port}/graphql`;
  const request = requestFor(spec.kind, url);
  let answered = NaN;
  while (Number.isNaN(answered)) {
    if (failed) throw failed;
    if (performance.now() - started > GIVE_UP_MS)
      throw new Error(`${spec.name} did not answer within ${GIVE_UP_MS} ms`);
    if (await answersCorrectly(request)) answered = performance.now();
    else await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const child = (await starting).child;
  await child.stop();
  session.untrack(child);
  return answered - started;
}

async function answersCorrectly(request: Request): Promise<boolean> {
  try {
    const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
    return response.status === 200 && request.verifyBody(await response.text());
  } catch {
    return false;
  }
}
