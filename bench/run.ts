/**
 * `npm run bench`: the gateway against a raw proxy (floor), a hand-written Apollo Server + SDK
 * peer, and the upstream itself (direct), on loopback, with autocannon. See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type LoadResult, percentiles, runLoad } from './load.ts';
import { BENCH_DIR, type Child, cpuTimeMs, machineCpu, procStatus, ROOT_DIR, socketCounts } from './processes.ts';
import {
  fmt,
  formatTable,
  markdownTable,
  type RoundStats,
  round,
  type ScenarioResult,
  svgChart,
  svgLine,
  type TargetStats,
} from './report.ts';
import { startTarget, startUpstream, TARGET_NAMES, type Target, type TargetName, verifyTarget } from './targets.ts';

const HELP = `npm run bench [-- options]

  --quick                 smoke run: a few seconds per target, 2 rounds
  --duration <s>          seconds measured per target per round (default 10)
  --warmup <s>            warm-up per target before the first round (default 3); 1 s before each round
  --rounds <n>            rounds; targets alternate within each round (default 3)
  --connections <n>       concurrent connections, throughput and fixed-rate scenarios (default 50)
  --scenarios <list>      comma-separated: throughput,fixed-rate,slow-upstream (default all)
  --targets <list>        comma-separated targets of the throughput scenario (default direct,floor,gateway,peer)
  --rate <n>              fixed-rate scenario's requests/s (default: half the slower of gateway and floor)
  --slow-latency-ms <ms>  upstream latency of the slow-upstream scenario (default 50)
  --slow-connections <n>  connections of the slow-upstream scenario (default 200)
  --log-level <level>     the gateway's LOG_LEVEL (default info, what a default deployment logs)
  --gateway-env <K=V>     extra environment for the gateway only (repeatable), e.g.
                          --gateway-env UPSTREAM_MAX_CONCURRENT=256 --gateway-env NODE_OPTIONS=--max-semi-space-size=16
  --soak                  soak mode instead: 100,000+ requests through the gateway, RSS start vs end
  --soak-requests <n>     requests in soak mode (default 120000; 20000 with --quick)
  --soak-bound-mb <mb>    largest RSS growth soak mode accepts (default 20); exits 1 beyond it
`;

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
    scenarios: { type: 'string' },
    targets: { type: 'string' },
    rate: { type: 'string' },
    'slow-latency-ms': { type: 'string' },
    'slow-connections': { type: 'string' },
    'log-level': { type: 'string' },
    'gateway-env': { type: 'string', multiple: true },
    'soak-requests': { type: 'string' },
    'soak-bound-mb': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (argv.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const quick = argv.quick === true;
const number = (raw: string | undefined, fallback: number, name: string): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`bench: --${name} must be a positive number (got "${raw}")\n`);
    process.exit(2);
  }
  return value;
};
const options = {
  duration: number(argv.duration, quick ? 2 : 10, 'duration'),
  warmup: number(argv.warmup, quick ? 1 : 3, 'warmup'),
  roundWarmup: quick ? 0.5 : 1,
  rounds: Math.round(number(argv.rounds, quick ? 2 : 3, 'rounds')),
  connections: Math.round(number(argv.connections, 50, 'connections')),
  scenarios: (argv.scenarios ?? 'throughput,fixed-rate,slow-upstream').split(',').map((s) => s.trim()),
  targets: (argv.targets ?? TARGET_NAMES.join(',')).split(',').map((s) => s.trim()) as TargetName[],
  rate: argv.rate === undefined ? undefined : Math.round(number(argv.rate, 1, 'rate')),
  rateFraction: 0.5,
  slowLatencyMs: number(argv['slow-latency-ms'], 50, 'slow-latency-ms'),
  slowConnections: Math.round(number(argv['slow-connections'], 200, 'slow-connections')),
  logLevel: argv['log-level'] ?? 'info',
  gatewayEnv: Object.fromEntries(
    (argv['gateway-env'] ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) {
        process.stderr.write(`bench: --gateway-env needs KEY=VALUE (got "${pair}")\n`);
        process.exit(2);
      }
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  ) as Record<string, string>,
  soak: argv.soak === true,
  soakRequests: Math.round(number(argv['soak-requests'], quick ? 20_000 : 120_000, 'soak-requests')),
  soakBoundMb: number(argv['soak-bound-mb'], 20, 'soak-bound-mb'),
  quick,
};
for (const target of options.targets) {
  if (!TARGET_NAMES.includes(target)) {
    process.stderr.write(`bench: unknown target "${target}" (known: ${TARGET_NAMES.join(', ')})\n`);
    process.exit(2);
  }
}
for (const scenario of options.scenarios) {
  if (!['throughput', 'fixed-rate', 'slow-upstream'].includes(scenario)) {
    process.stderr.write(`bench: unknown scenario "${scenario}"\n`);
    process.exit(2);
  }
}

const RESULTS_DIR = join(BENCH_DIR, 'results');
const LOG_DIR = join(RESULTS_DIR, 'logs');
mkdirSync(LOG_DIR, { recursive: true });

// Every child this run starts, so that an interrupt or a failure stops them all.
const children = new Set<Child>();
const track = (child: Child): Child => {
  children.add(child);
  return child;
};
const stopAll = async (): Promise<void> => {
  await Promise.all([...children].map((child) => child.stop()));
  children.clear();
};
process.on('SIGINT', () => {
  void stopAll().then(() => process.exit(130));
});

/** Measurement problems (wrong answers, errors): the run goes on, reports them, and exits 1. */
const problems: string[] = [];
const log = (text: string): void => void process.stdout.write(`${text}\n`);

// ───────────────────────────── machine ─────────────────────────────

async function machineInfo() {
  const before = machineCpu();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = machineCpu();
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: ROOT_DIR, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
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
    backgroundBusyPercent: round((100 * (after.busy - before.busy)) / Math.max(1, after.total - before.total), 1),
    gitCommit: git('rev-parse', '--short', 'HEAD'),
    /** Files under src/ changed from that commit (others edit concurrently). */
    srcChanges: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length,
  };
}

// ───────────────────────────── measuring ─────────────────────────────

interface Running {
  scenario: string;
  upstream: Child;
  targets: Target[];
  /** Requests sent to the gateway so far (for log volume per request). */
  gatewayRequests: number;
}

async function startScenario(scenario: string, latencyMs: number, names: readonly TargetName[]): Promise<Running> {
  log(`\n▶ ${scenario}: starting the upstream emulator (${latencyMs} ms) and ${names.join(', ')}`);
  const upstream = track(await startUpstream('upstream', latencyMs));
  const targets: Target[] = [];
  for (const name of names) {
    const target = await startTarget(name, {
      upstreamUrl: upstream.url,
      upstreamLatencyMs: latencyMs,
      logLevel: options.logLevel,
      gatewayEnv: options.gatewayEnv,
      logDir: LOG_DIR,
      scenario,
    });
    track(target.child);
    targets.push(target);
  }
  for (const target of targets) {
    await verifyTarget(target);
    log(`  ${target.name.padEnd(8)} ${target.child.url}  pid ${target.child.pid}  answers verified`);
  }
  return { scenario, upstream, targets, gatewayRequests: names.includes('gateway') ? 3 : 0 };
}

async function stopScenario(
  running: Running,
): Promise<{ lines: number; bytes: number; bytesPerRequest: number } | undefined> {
  for (const target of running.targets) children.delete(target.child);
  children.delete(running.upstream);
  await Promise.all([...running.targets.map((t) => t.child.stop()), running.upstream.stop()]);
  if (!running.targets.some((t) => t.name === 'gateway')) return undefined;
  // Keep the gateway's log small: its size says what it cost, its tail shows what it said.
  const file = join(LOG_DIR, `${running.scenario}-gateway.log`);
  const bytes = statSync(file).size;
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').filter(Boolean);
  // Warnings and errors say why answers went wrong: keep the first 50 of them too.
  const warnings = lines.filter((line) => /^\{"level":(?:[4-9]\d)/.test(line)).slice(0, 50);
  writeFileSync(
    file,
    `${lines.slice(0, 5).join('\n')}\n… ${lines.length} lines, ${bytes} bytes in all; the first 50 warnings and errors:\n${warnings.join('\n')}\n… the last 20 lines:\n${lines.slice(-20).join('\n')}\n`,
  );
  return { lines: lines.length, bytes, bytesPerRequest: round(bytes / Math.max(1, running.gatewayRequests), 0) };
}

interface Measured {
  load: LoadResult;
  stats: RoundStats;
  upstreamCpuMs: number;
  socketsMax?: { upstream: number; callers: number };
}

function checkClean(load: LoadResult, what: string): void {
  const bad = load.errors + load.timeouts + load.mismatches + load.non2xx;
  if (bad > 0) {
    const message =
      `${what}: ${load.mismatches} wrong answers, ${load.non2xx} non-2xx, ${load.errors} errors, ${load.timeouts} timeouts (status codes ${JSON.stringify(load.statusCodes)})` +
      (load.wrongBodies[0] ? `; a wrong answer: ${load.wrongBodies[0]}` : '');
    problems.push(message);
    log(`  ✗ ${message}`);
  }
}

async function measure(
  running: Running,
  target: Target,
  roundIndex: number,
  load: { connections: number; duration: number; warmup: number; rate?: number | undefined },
): Promise<Measured> {
  const rate = load.rate === undefined ? {} : { rate: load.rate };
  if (load.warmup > 0) {
    const warm = await runLoad(target.request, { connections: load.connections, duration: load.warmup, ...rate });
    if (target.name === 'gateway') running.gatewayRequests += warm.requests;
    checkClean(warm, `${running.scenario} ${target.name} warm-up`);
  }
  const pid = target.child.pid;
  const upstreamPort = Number(new URL(running.upstream.url).port);
  const watchSockets = target.name !== 'direct';
  const sockets = { upstream: 0, callers: 0 };
  await target.child.probe('reset');
  const cpu0 = cpuTimeMs(pid);
  const upstreamCpu0 = cpuTimeMs(running.upstream.pid);
  const machine0 = machineCpu();
  const result = await runLoad(target.request, {
    connections: load.connections,
    duration: load.duration,
    ...rate,
    onTick: () => {
      if (!watchSockets) return;
      const counts = socketCounts(pid, upstreamPort);
      if (!counts) return;
      sockets.upstream = Math.max(sockets.upstream, counts.upstream);
      sockets.callers = Math.max(sockets.callers, counts.other);
    },
  });
  const cpuMs = cpuTimeMs(pid) - cpu0;
  const upstreamCpuMs = cpuTimeMs(running.upstream.pid) - upstreamCpu0;
  const machine1 = machineCpu();
  const probed = await target.child.probe('read');
  if (target.name === 'gateway') running.gatewayRequests += result.requests;
  checkClean(result, `${running.scenario} ${target.name} round ${roundIndex + 1}`);
  const latencyMs = percentiles(result.latencies);
  const stats: RoundStats = {
    round: roundIndex + 1,
    requests: result.requests,
    rps: round(result.rps, 1),
    latencyMs: roundLatency(latencyMs),
    cpuUsPerRequest: round((cpuMs * 1000) / Math.max(1, result.requests), 0),
    machineBusyPercent: round(
      (100 * (machine1.busy - machine0.busy)) / Math.max(1, machine1.total - machine0.total),
      1,
    ),
    eventLoopDelayMs: probed && {
      p50: probed.eventLoopDelayMs.p50,
      p99: probed.eventLoopDelayMs.p99,
      max: probed.eventLoopDelayMs.max,
    },
  };
  log(
    `  round ${roundIndex + 1} ${target.name.padEnd(8)} ${fmt(result.rps, 0).padStart(6)} req/s  p50 ${fmt(latencyMs.p50, 2)} ms  p99 ${fmt(latencyMs.p99, 2)} ms  CPU ${stats.cpuUsPerRequest} µs/req` +
      (watchSockets ? `  sockets: ${sockets.callers} callers, ${sockets.upstream} upstream` : ''),
  );
  return { load: result, stats, upstreamCpuMs, ...(watchSockets && { socketsMax: sockets }) };
}

function roundLatency(latency: ReturnType<typeof percentiles>) {
  return {
    p50: round(latency.p50, 2),
    p90: round(latency.p90, 2),
    p99: round(latency.p99, 2),
    max: round(latency.max, 2),
    mean: round(latency.mean, 2),
  };
}

/** Runs every target once per round, in an order that rotates each round, and sums up per target. */
async function rounds(
  running: Running,
  names: readonly TargetName[],
  load: { connections: number; duration: number; rate?: number | undefined },
): Promise<TargetStats[]> {
  const byTarget = new Map<TargetName, Measured[]>(names.map((name) => [name, []]));
  const targets = names.map((name) => running.targets.find((t) => t.name === name)!);
  // First touch: a longer warm-up per target (JIT, connection pools), then a short one each round.
  for (let r = 0; r < options.rounds; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
    for (const target of order) {
      const warmup = r === 0 ? options.warmup : options.roundWarmup;
      byTarget.get(target.name)!.push(await measure(running, target, r, { ...load, warmup }));
    }
  }
  const summaries: TargetStats[] = [];
  for (const target of targets) {
    const stats = summarise(target, byTarget.get(target.name)!);
    const probed = await target.child.probe('read');
    if (probed) {
      const mb = (bytes: number): number => round(bytes / 2 ** 20, 1);
      stats.heapMb = {
        used: mb(probed.memory.heapUsed),
        total: mb(probed.memory.heapTotal),
        newSpace: probed.heapSpacesMb['new_space'] ?? NaN,
        oldSpace: probed.heapSpacesMb['old_space'] ?? NaN,
        external: mb(probed.memory.external),
      };
    }
    summaries.push(stats);
  }
  return summaries;
}

function summarise(target: Target, measured: Measured[]): TargetStats {
  const requests = measured.reduce((n, m) => n + m.load.requests, 0);
  const seconds = measured.reduce((n, m) => n + m.load.durationSec, 0);
  const all = new Float64Array(measured.reduce((n, m) => n + m.load.latencies.length, 0));
  let offset = 0;
  for (const m of measured) {
    all.set(m.load.latencies, offset);
    offset += m.load.latencies.length;
  }
  const statusCodes: Record<string, number> = {};
  for (const m of measured)
    for (const [code, count] of Object.entries(m.load.statusCodes))
      statusCodes[code] = (statusCodes[code] ?? 0) + count;
  const cpuUs = measured.reduce((n, m) => n + m.stats.cpuUsPerRequest * m.load.requests, 0);
  const worstDelay = measured
    .map((m) => m.stats.eventLoopDelayMs)
    .filter((d) => d !== undefined)
    .sort((a, b) => b.p99 - a.p99)[0];
  const sockets = measured.map((m) => m.socketsMax).filter((s) => s !== undefined);
  return {
    target: target.name,
    rounds: measured.map((m) => m.stats),
    requests,
    // Correct answers only: a fast wrong answer is not throughput.
    rps: round(all.length / seconds, 1),
    rpsMin: Math.min(...measured.map((m) => m.stats.rps)),
    rpsMax: Math.max(...measured.map((m) => m.stats.rps)),
    latencyMs: roundLatency(percentiles(all)),
    errors: measured.reduce((n, m) => n + m.load.errors, 0),
    timeouts: measured.reduce((n, m) => n + m.load.timeouts, 0),
    mismatches: measured.reduce((n, m) => n + m.load.mismatches, 0),
    non2xx: measured.reduce((n, m) => n + m.load.non2xx, 0),
    statusCodes,
    peakRssMb: round(procStatus(target.child.pid)?.peakRssMb ?? NaN, 1),
    cpuUsPerRequest: round(cpuUs / Math.max(1, requests), 0),
    upstreamCpuUsPerRequest:
      target.name === 'direct'
        ? 0
        : round((measured.reduce((n, m) => n + m.upstreamCpuMs, 0) * 1000) / Math.max(1, requests), 0),
    machineBusyPercent: round(measured.reduce((n, m) => n + m.stats.machineBusyPercent, 0) / measured.length, 1),
    eventLoopDelayMs: worstDelay,
    ...(sockets.length > 0 && {
      socketsMax: {
        upstream: Math.max(...sockets.map((s) => s.upstream)),
        callers: Math.max(...sockets.map((s) => s.callers)),
      },
    }),
  };
}

const ratio = (a: TargetStats | undefined, b: TargetStats | undefined, key: (t: TargetStats) => number): number =>
  a && b ? round(key(a) / key(b), 2) : NaN;

/** Per-round ratios of two targets' requests/s, as "min–max", to show how much noise moved them. */
function roundRatioSpread(a: TargetStats | undefined, b: TargetStats | undefined): string | undefined {
  if (!a || !b) return undefined;
  const ratios = a.rounds.map((r, i) => r.rps / (b.rounds[i]?.rps ?? NaN)).filter(Number.isFinite);
  return ratios.length ? `${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}` : undefined;
}

// ───────────────────────────── scenarios ─────────────────────────────

async function throughputAndFixedRate(): Promise<ScenarioResult[]> {
  const wantThroughput = options.scenarios.includes('throughput');
  const wantFixed = options.scenarios.includes('fixed-rate');
  const names = TARGET_NAMES.filter((name) =>
    wantThroughput ? options.targets.includes(name) : name === 'gateway' || name === 'floor',
  );
  if (wantFixed) for (const name of ['floor', 'gateway'] as const) if (!names.includes(name)) names.push(name);
  const running = await startScenario('throughput', 0, names);
  const results: ScenarioResult[] = [];
  try {
    let throughput: ScenarioResult | undefined;
    if (wantThroughput) {
      log(
        `  ${options.rounds} rounds × ${options.duration} s per target, ${options.connections} connections, upstream answers at once`,
      );
      const stats = await rounds(
        running,
        names.filter((n) => options.targets.includes(n)),
        { connections: options.connections, duration: options.duration },
      );
      const get = (name: TargetName): TargetStats | undefined => stats.find((t) => t.target === name);
      const [gateway, floor, peer, direct] = [get('gateway'), get('floor'), get('peer'), get('direct')];
      const notes: string[] = [];
      for (const [other, t] of [
        ['floor', floor],
        ['peer', peer],
        ['direct', direct],
      ] as const) {
        const spread = roundRatioSpread(gateway, t);
        if (spread) notes.push(`gateway/${other} requests/s per round: ${spread}`);
      }
      for (const t of stats) {
        notes.push(
          `${t.target}: ` +
            (t.target === 'direct' ? '' : `upstream emulator CPU ${t.upstreamCpuUsPerRequest} µs/req; `) +
            `machine ${t.machineBusyPercent}% busy while measured` +
            (t.heapMb
              ? `; V8 heap ${t.heapMb.total} MB (new space ${t.heapMb.newSpace} MB, old space ${t.heapMb.oldSpace} MB, ${t.heapMb.used} MB used)`
              : ''),
        );
      }
      throughput = {
        name: 'throughput',
        title: `Throughput: ${options.connections} connections, upstream answers at once`,
        upstreamLatencyMs: 0,
        connections: options.connections,
        durationSec: options.duration,
        rounds: options.rounds,
        targets: stats,
        ratios: {
          'gateway/floor': ratio(gateway, floor, (t) => t.rps),
          'gateway/peer': ratio(gateway, peer, (t) => t.rps),
          'gateway/direct': ratio(gateway, direct, (t) => t.rps),
          'gateway/floor CPU per request': ratio(gateway, floor, (t) => t.cpuUsPerRequest),
          'gateway/peer CPU per request': ratio(gateway, peer, (t) => t.cpuUsPerRequest),
        },
        notes,
      };
      results.push(throughput);
    }

    if (wantFixed) {
      const gateway = throughput?.targets.find((t) => t.target === 'gateway');
      const floor = throughput?.targets.find((t) => t.target === 'floor');
      const rate =
        options.rate ??
        (gateway && floor
          ? Math.max(10, Math.floor((options.rateFraction * Math.min(gateway.rps, floor.rps)) / 10) * 10)
          : undefined);
      if (rate === undefined) {
        log('\n  fixed-rate: skipped (needs --rate, or the throughput scenario with gateway and floor to choose one)');
      } else {
        log(
          `\n▶ fixed-rate: ${rate} req/s for gateway and floor, ${options.connections} connections in 10 phases, upstream answers at once`,
        );
        const stats = await rounds(running, ['gateway', 'floor'], {
          connections: options.connections,
          duration: options.duration,
          rate,
        });
        const [g, f] = [stats.find((t) => t.target === 'gateway'), stats.find((t) => t.target === 'floor')];
        const notes = stats.map((t) =>
          t.rps >= 0.95 * rate
            ? `${t.target} sustained ${fmt(t.rps, 0)} of ${rate} req/s`
            : `${t.target} did NOT sustain the rate: ${fmt(t.rps, 0)} of ${rate} req/s (its latencies are then understated)`,
        );
        notes.push('peak RSS here is the same processes as in the throughput scenario (VmHWM since start)');
        results.push({
          name: 'fixed-rate',
          title: `Fixed rate: ${rate} req/s, ${options.connections} connections, upstream answers at once`,
          upstreamLatencyMs: 0,
          connections: options.connections,
          durationSec: options.duration,
          rounds: options.rounds,
          rate,
          targets: stats,
          ratios: {
            'gateway/floor p99': ratio(g, f, (t) => t.latencyMs.p99),
            'gateway/floor p50': ratio(g, f, (t) => t.latencyMs.p50),
            'gateway/floor CPU per request': ratio(g, f, (t) => t.cpuUsPerRequest),
          },
          notes,
        });
      }
    }
  } finally {
    const logStats = await stopScenario(running);
    if (logStats) {
      for (const result of results) {
        result.notes.push(
          `gateway LOG_LEVEL=${options.logLevel}: ${logStats.lines} log lines, ${logStats.bytes} bytes for ${running.gatewayRequests} requests (${logStats.bytesPerRequest} bytes/request; file bench/results/logs/throughput-gateway.log, tail kept)`,
        );
      }
    }
  }
  return results;
}

async function slowUpstream(): Promise<ScenarioResult> {
  const latency = options.slowLatencyMs;
  const connections = options.slowConnections;
  const names: TargetName[] = ['direct', 'floor', 'gateway'];
  const running = await startScenario('slow-upstream', latency, names);
  const notes: string[] = [];
  let stats: TargetStats[] = [];
  try {
    log(
      `  ${options.rounds} rounds × ${options.duration} s per target, ${connections} connections, upstream answers after ${latency} ms`,
    );
    stats = await rounds(running, names, { connections, duration: options.duration });
  } finally {
    const logStats = await stopScenario(running);
    if (logStats)
      notes.push(`gateway logged ${logStats.bytesPerRequest} bytes/request (LOG_LEVEL=${options.logLevel})`);
  }
  const ideal = (connections * 1000) / latency;
  for (const t of stats) {
    notes.push(
      `${t.target}: p50 ${fmt(t.latencyMs.p50 - latency, 2)} ms and p99 ${fmt(t.latencyMs.p99 - latency, 2)} ms over the upstream's ${latency} ms; ` +
        `${fmt((100 * t.rps) / ideal, 0)}% of the ${fmt(ideal, 0)} req/s that ${connections} callers could get if nothing queued` +
        (t.socketsMax
          ? `; at most ${t.socketsMax.upstream} upstream sockets for ${t.socketsMax.callers} caller sockets`
          : '') +
        (t.eventLoopDelayMs
          ? `; event-loop delay p99 ${t.eventLoopDelayMs.p99} ms, max ${t.eventLoopDelayMs.max} ms`
          : ''),
    );
  }
  const get = (name: TargetName): TargetStats | undefined => stats.find((t) => t.target === name);
  return {
    name: 'slow-upstream',
    title: `Slow upstream: ${connections} connections, upstream answers after ${latency} ms`,
    upstreamLatencyMs: latency,
    connections,
    durationSec: options.duration,
    rounds: options.rounds,
    targets: stats,
    ratios: {
      'gateway/floor': ratio(get('gateway'), get('floor'), (t) => t.rps),
      'gateway/direct': ratio(get('gateway'), get('direct'), (t) => t.rps),
      'gateway p50 over upstream ms': round((get('gateway')?.latencyMs.p50 ?? NaN) - latency, 2),
      'floor p50 over upstream ms': round((get('floor')?.latencyMs.p50 ?? NaN) - latency, 2),
    },
    notes,
  };
}

// ───────────────────────────── soak ─────────────────────────────

async function soak(machine: Awaited<ReturnType<typeof machineInfo>>): Promise<void> {
  const running = await startScenario('soak', 0, ['gateway']);
  const gateway = running.targets[0]!;
  const pid = gateway.child.pid;
  let passed = false;
  try {
    // Long enough for V8's heap to reach its working size (its young generation grows to 128 MB here).
    const warmupRequests = Math.max(20_000, Math.round(options.soakRequests / 6));
    log(`  warm-up: ${warmupRequests} requests, ${options.connections} connections`);
    const warm = await runLoad(gateway.request, {
      connections: options.connections,
      duration: 1e6,
      amount: warmupRequests,
    });
    checkClean(warm, 'soak warm-up');
    const startProbe = await gateway.child.probe('gc');
    const start = procStatus(pid)!;
    log(
      `  start (after warm-up and a full GC): RSS ${fmt(start.rssMb, 1)} MB, heap used ${fmt((startProbe?.memory.heapUsed ?? NaN) / 2 ** 20, 1)} MB`,
    );
    const samples: { requests: number; rssMb: number }[] = [{ requests: 0, rssMb: round(start.rssMb, 1) }];
    let sent = 0;
    const started = Date.now();
    const tick = setInterval(() => {
      const status = procStatus(pid);
      if (status) samples.push({ requests: sent, rssMb: round(status.rssMb, 1) });
    }, 2000);
    const cpu0 = cpuTimeMs(pid);
    // Count answers as they come, for the RSS-over-requests samples.
    const request = {
      ...gateway.request,
      verifyBody: (body: string) => {
        sent++;
        return gateway.request.verifyBody(body);
      },
    };
    const load = await runLoad(request, {
      connections: options.connections,
      duration: 1e6,
      amount: options.soakRequests,
    });
    clearInterval(tick);
    const cpuMs = cpuTimeMs(pid) - cpu0;
    checkClean(load, 'soak');
    const endProbe = await gateway.child.probe('gc');
    const end = procStatus(pid)!;
    samples.push({ requests: load.requests, rssMb: round(end.rssMb, 1) });
    const growth = end.rssMb - start.rssMb;
    const heapGrowth = ((endProbe?.memory.heapUsed ?? NaN) - (startProbe?.memory.heapUsed ?? NaN)) / 2 ** 20;
    passed = growth < options.soakBoundMb && problems.length === 0;
    const latency = percentiles(load.latencies);
    const result = {
      mode: 'soak',
      machine,
      options,
      requests: load.requests,
      warmupRequests,
      seconds: round((Date.now() - started) / 1000, 1),
      rps: round(load.rps, 0),
      latencyMs: roundLatency(latency),
      cpuUsPerRequest: round((cpuMs * 1000) / Math.max(1, load.requests), 0),
      errors: load.errors + load.timeouts,
      mismatches: load.mismatches,
      non2xx: load.non2xx,
      rssStartMb: round(start.rssMb, 1),
      rssEndMb: round(end.rssMb, 1),
      rssGrowthMb: round(growth, 1),
      peakRssMb: round(end.peakRssMb, 1),
      heapUsedAfterGcStartMb: round((startProbe?.memory.heapUsed ?? NaN) / 2 ** 20, 1),
      heapUsedAfterGcEndMb: round((endProbe?.memory.heapUsed ?? NaN) / 2 ** 20, 1),
      heapGrowthMb: round(heapGrowth, 1),
      // Where the memory is, after a full GC: V8's spaces (reserved size), and off-heap buffers.
      heapSpacesStartMb: startProbe?.heapSpacesMb,
      heapSpacesEndMb: endProbe?.heapSpacesMb,
      externalEndMb: round((endProbe?.memory.external ?? NaN) / 2 ** 20, 1),
      arrayBuffersEndMb: round((endProbe?.memory.arrayBuffers ?? NaN) / 2 ** 20, 1),
      boundMb: options.soakBoundMb,
      passed,
      problems,
      samples,
    };
    log(
      `\nSoak: ${load.requests} requests in ${result.seconds} s (${result.rps} req/s, p50 ${fmt(latency.p50, 2)} ms, p99 ${fmt(latency.p99, 2)} ms, ${result.cpuUsPerRequest} µs CPU/req)\n` +
        `  RSS ${result.rssStartMb} MB → ${result.rssEndMb} MB: growth ${result.rssGrowthMb} MB (bound ${options.soakBoundMb} MB); peak ${result.peakRssMb} MB\n` +
        `  heap used after a full GC ${result.heapUsedAfterGcStartMb} MB → ${result.heapUsedAfterGcEndMb} MB (${result.heapGrowthMb} MB); ` +
        `at the end V8 holds new space ${endProbe?.heapSpacesMb['new_space'] ?? '?'} MB, old space ${endProbe?.heapSpacesMb['old_space'] ?? '?'} MB, ` +
        `large objects ${endProbe?.heapSpacesMb['large_object_space'] ?? '?'} MB; external ${result.externalEndMb} MB\n` +
        `  ${passed ? 'PASS' : 'FAIL'}: RSS growth ${growth < options.soakBoundMb ? 'within' : 'BEYOND'} the bound${problems.length ? `; ${problems.length} measurement problems` : ''}`,
    );
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const json = `${JSON.stringify(result, null, 2)}\n`;
    writeFileSync(join(RESULTS_DIR, `soak-${stamp}.json`), json);
    writeFileSync(join(RESULTS_DIR, 'soak-latest.json'), json);
    writeFileSync(
      join(RESULTS_DIR, 'soak-latest.svg'),
      svgLine(
        `Gateway RSS over ${load.requests.toLocaleString('en')} requests: ${result.rssGrowthMb} MB growth (bound ${options.soakBoundMb} MB)`,
        `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ${result.rps} req/s; dashed: start + bound`,
        samples.map((s) => ({ x: s.requests, y: s.rssMb })),
        { from: result.rssStartMb, to: result.rssStartMb + options.soakBoundMb },
      ),
    );
    log(`  written: bench/results/soak-latest.json, bench/results/soak-latest.svg`);
  } finally {
    await stopScenario(running);
  }
  process.exitCode = passed ? 0 : 1;
}

// ───────────────────────────── main ─────────────────────────────

async function main(): Promise<void> {
  const machine = await machineInfo();
  log(
    `bench: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}; ` +
      `load ${machine.loadAverage1m}, ${machine.backgroundBusyPercent}% busy before start; commit ${machine.gitCommit}` +
      (machine.srcChanges ? ` + ${machine.srcChanges} changed files in src/` : ''),
  );
  if (Number(process.versions.node.split('.')[0]) < 24)
    log('bench: warning: Node < 24; run it with `npm run bench` so the pinned Node is used');
  if (machine.backgroundBusyPercent > 20)
    log('bench: warning: the machine was already busy; numbers will be noisier than usual');

  if (options.soak) return soak(machine);

  const started = new Date();
  const scenarios: ScenarioResult[] = [];
  if (options.scenarios.includes('throughput') || options.scenarios.includes('fixed-rate'))
    scenarios.push(...(await throughputAndFixedRate()));
  if (options.scenarios.includes('slow-upstream')) scenarios.push(await slowUpstream());

  const gatewayPeak = Math.max(
    ...scenarios.flatMap((s) => s.targets.filter((t) => t.target === 'gateway').map((t) => t.peakRssMb)),
  );
  const throughput = scenarios.find((s) => s.name === 'throughput');
  const fixed = scenarios.find((s) => s.name === 'fixed-rate');
  // The targets of issue 5, section 2 (informational: they do not change the exit code).
  const goals = [
    {
      goal: 'gateway ≥ 2× peer requests/s',
      value: throughput?.ratios['gateway/peer'],
      met: (throughput?.ratios['gateway/peer'] ?? NaN) >= 2,
    },
    {
      goal: 'gateway ≥ 0.5× floor requests/s',
      value: throughput?.ratios['gateway/floor'],
      met: (throughput?.ratios['gateway/floor'] ?? NaN) >= 0.5,
    },
    {
      goal: 'fixed rate: gateway p99 ≤ 2× floor p99',
      value: fixed?.ratios['gateway/floor p99'],
      met: (fixed?.ratios['gateway/floor p99'] ?? NaN) <= 2,
    },
    { goal: 'gateway peak RSS < 150 MB', value: gatewayPeak, met: gatewayPeak < 150 },
  ];

  log('');
  for (const scenario of scenarios) {
    log(`\n${scenario.title} (${scenario.rounds} rounds × ${scenario.durationSec} s)\n`);
    log(formatTable(scenario));
    log('');
    for (const [name, value] of Object.entries(scenario.ratios)) log(`  ${name.padEnd(32)} ${fmt(value, 2)}`);
    for (const note of scenario.notes) log(`  · ${note}`);
  }
  log('\nIssue 5 targets:');
  for (const goal of goals) {
    const measured = Number.isFinite(goal.value ?? NaN);
    log(
      `  ${measured ? (goal.met ? '✓' : '✗') : '·'} ${goal.goal.padEnd(42)} ${measured ? fmt(goal.value ?? NaN, 2) : 'not measured in this run'}`,
    );
  }

  const result = { machine, options, started, finished: new Date(), scenarios, goals, problems };
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const json = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(join(RESULTS_DIR, `bench-${stamp}.json`), json);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
  const svg = svgChart(
    `npm run bench${options.quick ? ' --quick' : ''}: ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; load generator, targets and upstream share the machine`,
    scenarios.flatMap((scenario) => {
      if (scenario.name === 'throughput') {
        return [
          {
            title: `${scenario.title}: requests/s`,
            bars: scenario.targets.map((t) => ({
              label: t.target,
              value: t.rps,
              text: `${fmt(t.rps, 0)} req/s · p99 ${fmt(t.latencyMs.p99, 1)} ms · ${fmt(t.peakRssMb, 0)} MB`,
              highlight: t.target === 'gateway',
            })),
          },
        ];
      }
      return [
        {
          title: `${scenario.title}: p99 latency`,
          bars: scenario.targets.map((t) => ({
            label: t.target,
            value: t.latencyMs.p99,
            text: `p99 ${fmt(t.latencyMs.p99, 2)} ms · p50 ${fmt(t.latencyMs.p50, 2)} ms · ${fmt(t.rps, 0)} req/s${t.mismatches + t.errors + t.timeouts + t.non2xx > 0 ? ` · ${t.mismatches + t.errors + t.timeouts + t.non2xx} failed` : ''}`,
            highlight: t.target === 'gateway',
          })),
        },
      ];
    }),
  );
  writeFileSync(join(RESULTS_DIR, `bench-${stamp}.svg`), svg);
  writeFileSync(join(RESULTS_DIR, 'latest.svg'), svg);
  const markdown = [
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node} (load generator, targets and upstream on the same machine); commit ${machine.gitCommit}${machine.srcChanges ? ` + ${machine.srcChanges} changed files in src/` : ''}; ${started.toISOString()}.`,
    ...scenarios.flatMap((s) => [
      '',
      `**${s.title}** (${s.rounds} rounds × ${s.durationSec} s per target)`,
      '',
      markdownTable(s),
      '',
      Object.entries(s.ratios)
        .map(([name, value]) => `${name} **${fmt(value, 2)}**`)
        .join(' · '),
    ]),
  ].join('\n');
  writeFileSync(join(RESULTS_DIR, 'latest.md'), `${markdown}\n`);
  log(`\nwritten: bench/results/latest.json, latest.svg, latest.md (and bench-${stamp}.json/.svg)`);
  if (problems.length > 0) {
    log(`\nFAIL: ${problems.length} measurement problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`\nbench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
