/**
 * The targets: which ones a scenario runs, and how each is started.
 */
import { requestFor } from './answers.ts';
import { childScript, gatewayCommand } from './deployed.ts';
import type { Request } from './load.ts';
import { type Child, freePort, ROOT_DIR, startChild } from './processes.ts';

export type TargetKind = 'direct' | 'floor' | 'gateway' | 'peer' | 'hive-mesh';
export const TARGET_KINDS: readonly TargetKind[] = ['direct', 'floor', 'gateway', 'peer', 'hive-mesh'];

export interface TargetSpec {
  /** What the tables call it: the kind, or `gateway@<ref>` for the gateway of another commit. */
  name: string;
  kind: TargetKind;
  /** The checkout it runs from: the working tree, or a temporary worktree of `--baseline-ref`. */
  root: string;
}

export interface Target extends TargetSpec {
  child: Child;
  request: Request;
}

/** A gateway from another checkout, measured beside the working tree's (`--baseline-ref`). */
export type BaselineGateway = Pick<TargetSpec, 'name' | 'root'>;

/** The targets of these kinds, in this order, with the baseline gateway right after the gateway. */
export function targetSpecs(kinds: readonly TargetKind[], baseline: BaselineGateway | undefined): TargetSpec[] {
  return kinds.flatMap((kind) => {
    const spec: TargetSpec = { name: kind, kind, root: ROOT_DIR };
    return kind === 'gateway' && baseline ? [spec, { name: baseline.name, kind, root: baseline.root }] : [spec];
  });
}

/**
 * Node's flags for a profiled target (`--profile`): JIT code named in /tmp/perf-<pid>.map for perf,
 * and V8's log (which that flag turns on, into the working folder) thrown away.
 */
export const PROFILE_NODE_FLAGS = ['--perf-basic-prof', '--logfile=/dev/null'];

export interface TargetEnvironment {
  /** Base URL of the upstream emulator the proxies call. */
  upstreamUrl: string;
  /** Emulator latency, for the `direct` target's own emulator. */
  upstreamLatencyMs: number;
  /** LOG_LEVEL of the gateways. */
  logLevel: string;
  /** Extra environment for the gateways (e.g. NODE_OPTIONS, UPSTREAM_MAX_CONCURRENT); it wins over the bench's. */
  gatewayEnv: Record<string, string>;
  /** The file a gateway logs to. */
  logFile: (name: string) => string;
  /** Node's flags for the floor and the gateways (the profiler's). */
  nodeFlags?: readonly string[];
  /** A port for the gateway to listen on, known before it starts; default one it picks. */
  gatewayPort?: number | undefined;
}

export function startUpstream(name: string, latencyMs: number): Promise<Child> {
  return startChild({
    name,
    args: ['bench/child/upstream.ts'],
    env: { UPSTREAM_LATENCY_MS: String(latencyMs) },
    stdout: 'pipe',
  });
}

export async function startTarget(spec: TargetSpec, environment: TargetEnvironment): Promise<Target> {
  const child = await startProcess(spec, environment);
  return { ...spec, child, request: requestFor(spec.kind, child.url) };
}

async function startProcess({ name, kind, root }: TargetSpec, environment: TargetEnvironment): Promise<Child> {
  const { upstreamUrl, upstreamLatencyMs, logLevel, gatewayEnv, nodeFlags } = environment;
  switch (kind) {
    case 'direct':
      // Its own emulator process, so that its memory and CPU are its own.
      return startUpstream(name, upstreamLatencyMs);
    case 'floor':
    case 'peer':
      return startChild({
        name,
        args: [childScript(kind)],
        env: { UPSTREAM_URL: upstreamUrl },
        ...(nodeFlags && { nodeFlags }),
        stdout: 'pipe',
      });
    case 'hive-mesh':
      return startChild({
        name,
        // Stays TypeScript: it finds bench/mesh/ from its own path. Its RSS is no target's bound.
        args: ['bench/child/mesh-peer.ts'],
        env: { UPSTREAM_URL: upstreamUrl },
        stdout: 'pipe',
      });
    case 'gateway': {
      // PORT=0 and the URL from the "gateway listening" line (info), unless the level hides that line.
      const announces = ['info', 'debug', 'trace'].includes(logLevel);
      const port = environment.gatewayPort ?? (announces ? 0 : await freePort());
      const file = environment.logFile(name);
      return startChild({
        name,
        args: gatewayCommand(root).args,
        cwd: root,
        ...(nodeFlags && { nodeFlags }),
        env: {
          CHATBOTKIT_API_URL: upstreamUrl,
          AUTH_MODE: 'none',
          LOG_LEVEL: logLevel,
          // The gateway's largest allowed value; a run never mints this many per window (60 s).
          RATE_LIMIT_POINTS: '1000000',
          PORT: String(port),
          HOST: '127.0.0.1',
          ...gatewayCommand(root).env,
          ...gatewayEnv,
        },
        stdout: announces ? { file } : { file, url: `http://127.0.0.1:${port}/graphql` },
      });
    }
  }
}
