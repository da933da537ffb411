/**
 * Soak (`--soak`): many requests through the gateway alone; RSS and the heap used after a full GC,
 * at the start and the end, must not grow by more than the bound.
 */
import { type LoadResult, percentiles, runLoad } from './load.ts';
import { type Machine, machineShort } from './machine.ts';
import { cpuTimeMs, procStatus } from './proc.ts';
import type { ProbeAnswer } from './processes.ts';
import { fmt, mb, round } from './results.ts';
import { withRunning } from './running.ts';
import { checkClean, type Session, stampOf, writeResult } from './session.ts';
import { roundLatency } from './summary.ts';
import { svgLine } from './svg.ts';
import { type Target, targetSpecs } from './targets.ts';

interface Sample {
  requests: number;
  rssMb: number;
}

/** Runs the soak and writes results/soak-latest.json and .svg; true when it passed. */
export async function soak(session: Session, machine: Machine): Promise<boolean> {
  const specs = targetSpecs(['gateway'], undefined);
  const { value } = await withRunning(session, 'soak', 0, specs, (running) =>
    measureSoak(session, running.targets[0]!),
  );
  const { options } = session;
  const growth = value.end.rssMb - value.start.rssMb;
  const passed = growth < options.soakBoundMb && session.problems.length === 0;
  const { load, seconds, warmupRequests, cpuMs, samples } = value;
  const heapUsed = (probe: ProbeAnswer | undefined): number => mb(probe?.memory.heapUsed ?? NaN);
  const result = {
    mode: 'soak',
    machine,
    options,
    requests: load.requests,
    warmupRequests,
    seconds,
    rps: round(load.rps, 0),
    latencyMs: roundLatency(percentiles(load.latencies)),
    cpuUsPerRequest: round((cpuMs * 1000) / Math.max(1, load.requests), 0),
    errors: load.errors + load.timeouts,
    mismatches: load.mismatches,
    non2xx: load.non2xx,
    rssStartMb: round(value.start.rssMb, 1),
    rssEndMb: round(value.end.rssMb, 1),
    rssGrowthMb: round(growth, 1),
    peakRssMb: round(value.end.peakRssMb, 1),
    heapUsedAfterGcStartMb: heapUsed(value.startProbe),
    heapUsedAfterGcEndMb: heapUsed(value.endProbe),
    heapGrowthMb: round(heapUsed(value.endProbe) - heapUsed(value.startProbe), 1),
    // Where the memory is, after a full GC: V8's spaces (reserved size), and off-heap buffers.
    heapSpacesStartMb: value.startProbe?.heapSpacesMb,
    heapSpacesEndMb: value.endProbe?.heapSpacesMb,
    externalEndMb: mb(value.endProbe?.memory.external ?? NaN),
    arrayBuffersEndMb: mb(value.endProbe?.memory.arrayBuffers ?? NaN),
    boundMb: options.soakBoundMb,
    passed,
    problems: session.problems,
    samples,
  };
  const spaces = value.endProbe?.heapSpacesMb ?? {};
  session.log(
    [
      `\nSoak: ${load.requests} requests in ${seconds} s (${result.rps} req/s, ` +
        `p50 ${fmt(result.latencyMs.p50, 2)} ms, p99 ${fmt(result.latencyMs.p99, 2)} ms, ` +
        `${result.cpuUsPerRequest} µs CPU/req)`,
      `  RSS ${result.rssStartMb} MB → ${result.rssEndMb} MB: growth ${result.rssGrowthMb} MB ` +
        `(bound ${options.soakBoundMb} MB); peak ${result.peakRssMb} MB`,
      `  heap used after a full GC ${result.heapUsedAfterGcStartMb} MB → ${result.heapUsedAfterGcEndMb} MB ` +
        `(${result.heapGrowthMb} MB); at the end V8 holds new space ${spaces['new_space'] ?? '?'} MB, ` +
        `old space ${spaces['old_space'] ?? '?'} MB, large objects ${spaces['large_object_space'] ?? '?'} MB; ` +
        `external ${result.externalEndMb} MB`,
      `  ${passed ? 'PASS' : 'FAIL'}: RSS growth ${growth < options.soakBoundMb ? 'within' : 'BEYOND'} the bound` +
        (session.problems.length ? `; ${session.problems.length} measurement problems` : ''),
    ].join('\n'),
  );
  const stamp = stampOf(new Date());
  writeResult(session, [`soak-${stamp}.json`, 'soak-latest.json'], `${JSON.stringify(result, null, 2)}\n`);
  const chart = svgLine(
    `Gateway RSS over ${load.requests.toLocaleString('en')} requests: ${result.rssGrowthMb} MB growth ` +
      `(bound ${options.soakBoundMb} MB)`,
    `${machineShort(machine)}; ${result.rps} req/s; dashed: start + bound`,
    samples.map((s) => ({ x: s.requests, y: s.rssMb })),
    { from: result.rssStartMb, to: result.rssStartMb + options.soakBoundMb },
  );
  writeResult(session, ['soak-latest.svg'], chart);
  session.log('  written: bench/results/soak-latest.json, bench/results/soak-latest.svg');
  return passed;
}

async function measureSoak(session: Session, gateway: Target) {
  const { options, log } = session;
  const pid = gateway.child.pid;
  // Long enough for V8's heap to reach its working size (its young generation grows to 128 MB here).
  const warmupRequests = Math.max(20_000, Math.round(options.soakRequests / 6));
  log(`  warm-up: ${warmupRequests} requests, ${options.connections} connections`);
  const run = (amount: number, onAnswer?: () => void): Promise<LoadResult> => {
    const { verifyBody } = gateway.request;
    const counted = (body: string): boolean => {
      onAnswer?.();
      return verifyBody(body);
    };
    return runLoad(
      { ...gateway.request, verifyBody: counted },
      { connections: options.connections, duration: 1e6, amount },
    );
  };
  checkClean(session, await run(warmupRequests), 'soak warm-up');
  const startProbe = await gateway.child.probe('gc');
  const start = procStatus(pid)!;
  log(
    `  start (after warm-up and a full GC): RSS ${fmt(start.rssMb, 1)} MB, ` +
      `heap used ${fmt(mb(startProbe?.memory.heapUsed ?? NaN), 1)} MB`,
  );
  const samples: Sample[] = [{ requests: 0, rssMb: round(start.rssMb, 1) }];
  let answered = 0;
  const started = Date.now();
  const tick = setInterval(() => {
    const status = procStatus(pid);
    if (status) samples.push({ requests: answered, rssMb: round(status.rssMb, 1) });
  }, 2000);
  const cpu0 = cpuTimeMs(pid);
  const load = await run(options.soakRequests, () => answered++).finally(() => clearInterval(tick));
  const cpuMs = cpuTimeMs(pid) - cpu0;
  const seconds = round((Date.now() - started) / 1000, 1);
  checkClean(session, load, 'soak');
  const endProbe = await gateway.child.probe('gc');
  const end = procStatus(pid)!;
  samples.push({ requests: load.requests, rssMb: round(end.rssMb, 1) });
  return { load, seconds, warmupRequests, cpuMs, samples, start, end, startProbe, endProbe };
}
