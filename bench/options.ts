/**
 * The command line of `npm run bench`: every option, its default, and the checks on it.
 */
import { parseArgs } from 'node:util';
import { SCENARIO_NAMES, type ScenarioName } from './results.ts';
import { TARGET_KINDS, type TargetKind } from './targets.ts';

export const HELP = `npm run bench [-- options]

  --quick                 smoke run: 2 rounds, 2 s per target, 1 s warm-up
  --duration <s>          seconds measured per target per round (default 10)
  --warmup <s>            warm-up per target before the first round (default 3; 10 with --profile; 0: none);
                          up to 1 s before
                          each later round
  --rounds <n>            rounds; targets alternate within each round (default 3)
  --connections <n>       concurrent connections, throughput and fixed-rate scenarios (default 50)
  --scenarios <list>      comma-separated: throughput,fixed-rate,slow-upstream,startup (default all)
  --targets <list>        comma-separated targets of the throughput scenario (default direct,floor,gateway,peer,
                          hive-mesh)
  --rate <n>              fixed-rate scenario's requests/s (default: half the floor's in the throughput scenario)
  --slow-latency-ms <ms>  upstream latency of the slow-upstream scenario (default 50)
  --slow-connections <n>  connections of the slow-upstream scenario (default 200)
  --log-level <level>     the gateways' LOG_LEVEL (default info, what a default deployment logs)
  --gateway-env <K=V>     extra environment for the gateways only (repeatable), e.g.
                          --gateway-env UPSTREAM_MAX_CONCURRENT=256 --gateway-env NODE_OPTIONS=--max-semi-space-size=16
  --baseline-ref <ref>    also measure the gateway at this git ref ("gateway@<ref>", from a temporary
                          git worktree) wherever the gateway runs, and compare the two
  --profile               profile mode instead: floor and gateway at one fixed rate (--rate, default 2000),
                          their CPU time by component, sampled with Linux perf
  --soak                  soak mode instead: 200,000 requests through the gateway, RSS start vs end
  --soak-requests <n>     requests in soak mode (default 200000; 20000 with --quick)
  --soak-bound-mb <mb>    largest RSS growth soak mode accepts (default 20); exits 1 beyond it
  -h, --help              this text
`;

export interface Options {
  quick: boolean;
  duration: number;
  warmup: number;
  /** Warm-up before every round after the first, seconds. */
  roundWarmup: number;
  rounds: number;
  connections: number;
  scenarios: ScenarioName[];
  targets: TargetKind[];
  rate: number | undefined;
  /** The fixed rate, when not given: this share of the floor's requests/s. */
  rateFraction: number;
  slowLatencyMs: number;
  slowConnections: number;
  logLevel: string;
  gatewayEnv: Record<string, string>;
  baselineRef: string | undefined;
  soak: boolean;
  /** Profile mode: CPU time by component for floor and gateway (bench/profile.ts). */
  profile: boolean;
  soakRequests: number;
  soakBoundMb: number;
  /** Starts per target in the startup scenario (their median is reported). */
  startupRuns: number;
}

/** A command line the bench cannot run: printed with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses the arguments after `npm run bench --`; `undefined` means help was asked for. */
export function parseOptions(args: string[]): Options | undefined {
  const { values: argv } = parseArgs({ args, options: SPEC, strict: true, allowPositionals: false });
  if (argv.help) return undefined;
  const quick = argv.quick;
  // A profile wants optimised code in both targets: a longer warm-up, unless one is given.
  const warmup = seconds(argv.warmup, quick ? 1 : argv.profile ? 10 : 3, 'warmup');
  const options: Options = {
    quick,
    duration: positive(argv.duration, quick ? 2 : 10, 'duration'),
    warmup,
    roundWarmup: Math.min(warmup, quick ? 0.5 : 1),
    rounds: whole(argv.rounds, quick ? 2 : 3, 'rounds'),
    connections: whole(argv.connections, 50, 'connections'),
    scenarios: list(argv.scenarios, SCENARIO_NAMES, 'scenario'),
    targets: list(argv.targets, TARGET_KINDS, 'target'),
    rate: argv.rate === undefined ? undefined : whole(argv.rate, 1, 'rate'),
    rateFraction: 0.5,
    slowLatencyMs: positive(argv['slow-latency-ms'], 50, 'slow-latency-ms'),
    slowConnections: whole(argv['slow-connections'], 200, 'slow-connections'),
    logLevel: argv['log-level'] ?? 'info',
    gatewayEnv: Object.fromEntries((argv['gateway-env'] ?? []).map(keyValue)),
    baselineRef: argv['baseline-ref'],
    soak: argv.soak,
    profile: argv.profile,
    soakRequests: whole(argv['soak-requests'], quick ? 20_000 : 200_000, 'soak-requests'),
    startupRuns: quick ? 1 : 3,
    soakBoundMb: positive(argv['soak-bound-mb'], 20, 'soak-bound-mb'),
  };
  if (options.soak && options.baselineRef !== undefined)
    throw new UsageError('--baseline-ref compares in the scenarios, not in --soak');
  if (options.profile && (options.soak || options.baselineRef !== undefined))
    throw new UsageError('--profile compares floor and gateway on its own: not with --soak or --baseline-ref');
  return options;
}

const SPEC = {
  quick: { type: 'boolean', default: false },
  soak: { type: 'boolean', default: false },
  profile: { type: 'boolean', default: false },
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
  'baseline-ref': { type: 'string' },
  'soak-requests': { type: 'string' },
  'soak-bound-mb': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function positive(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a positive number (got "${raw}")`);
  return value;
}

/** Seconds, 0 allowed (no warm-up). */
function seconds(raw: string | undefined, fallback: number, name: string): number {
  return raw !== undefined && Number(raw) === 0 ? 0 : positive(raw, fallback, name);
}

function whole(raw: string | undefined, fallback: number, name: string): number {
  return Math.max(1, Math.round(positive(raw, fallback, name)));
}

function list<T extends string>(raw: string | undefined, known: readonly T[], what: string): T[] {
  if (raw === undefined) return [...known];
  const names = raw.split(',').map((name) => name.trim());
  for (const name of names)
    if (!known.includes(name as T)) throw new UsageError(`unknown ${what} "${name}" (known: ${known.join(', ')})`);
  return names as T[];
}

function keyValue(pair: string): [string, string] {
  const at = pair.indexOf('=');
  if (at < 1) throw new UsageError(`--gateway-env needs KEY=VALUE (got "${pair}")`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}
