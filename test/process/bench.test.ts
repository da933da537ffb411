import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One short round, no warm-up, low concurrency, one start: they check that the bench works, not its speed. */
const QUICK = ['--quick', '--rounds', '1', '--duration', '1', '--warmup', '0', '--connections', '4'];

/** Runs `npm run bench`'s script with the same Node; `interrupt` sends a signal once the output matches. */
function runBench(
  args: string[],
  interrupt?: { when: RegExp; signal: NodeJS.Signals },
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, ['bench/run.ts', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk;
      if (interrupt?.when.test(output)) {
        child.kill(interrupt.signal);
        interrupt = undefined;
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

interface Results {
  baseline?: { name: string; commit: string };
  scenarios: {
    name: string;
    targets: {
      target: string;
      requests: number;
      mismatches: number;
      allocBytesPerRequest: number;
      peakRssMb: number;
    }[];
  }[];
  startup: { target: string; runsMs: number[]; medianMs: number }[];
  goals: { goal: string; value: number }[];
}
const latestResults = (): Results =>
  JSON.parse(readFileSync(new URL('../../bench/results/latest.json', import.meta.url), 'utf8')) as Results;

const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/** The baseline worktree the bench announced; it must be gone, from the disk and from git's list. */
function expectWorktreeRemoved(output: string): void {
  const root = /in the worktree (\S+) /.exec(output)?.[1];
  expect(root, output).toBeDefined();
  expect(existsSync(root!)).toBe(false);
  expect(git('worktree', 'list', '--porcelain')).not.toContain(root!);
}

const verified = (name: string): RegExp =>
  new RegExp(`${name}\\s+http://127\\.0\\.0\\.1:\\d+/graphql\\s+pid \\d+\\s+answers verified`);

describe('npm run bench', () => {
  it('measures floor, gateway, peer and hive-mesh, checks answers, prints table, ratios, targets', async () => {
    const { code, output } = await runBench([
      '--scenarios',
      'throughput,fixed-rate,startup',
      '--targets',
      'floor,gateway,peer,hive-mesh',
      ...QUICK,
    ]);
    expect(code, output).toBe(0);
    for (const target of ['floor', 'gateway', 'peer', 'hive-mesh']) expect(output).toMatch(verified(target));
    expect(output).toMatch(
      /target\s+req\/s\s+rounds min–max\s+p50 ms\s+p90 ms\s+p99 ms\s+failed\s+non-2xx\s+peak RSS MB\s+CPU µs\/req/,
    );
    expect(output).toMatch(/CPU µs\/req\s+alloc B\/req\s+ELD p99 ms\n/);
    expect(output).toMatch(/gateway\/floor\s+\d+\.\d+/);
    expect(output).toMatch(/gateway\/peer CPU per request\s+\d+\.\d+/);
    expect(output).toMatch(/gateway\/floor allocation per request\s+\d+\.\d+/);
    for (const target of ['floor', 'gateway', 'peer'])
      expect(output).toMatch(new RegExp(`\\n {2}${target} +median \\d+ ms`));
    expect(output).toMatch(/gateway\/hive-mesh CPU per request\s+\d+\.\d+/);
    const targets = output.slice(output.indexOf('\nTargets:'));
    expect(targets).toMatch(/[✓✗] gateway CPU per request ≤ 1\.3× floor \(fixed rate\) +\d+\.\d+ \(rounds /);
    expect(targets).toMatch(/[✓✗] gateway peak RSS ≤ 1\.1× floor \(throughput\) +\d+\.\d+ \(rounds /);
    expect(targets).toMatch(/[✓✗] gateway p99 at fixed rate ≤ 1\.5× floor +\d+\.\d+ \(median of 1 rounds, rounds /);
    expect(targets).toMatch(/· start → first answered mutation, gateway\/floor +\d+\.\d+ \(median \d+ ms vs \d+ ms/);
    expect(targets).toMatch(/[✓✗] gateway CPU per request ≤ 0\.5× peer +\d+\.\d+/);

    const results = latestResults();
    const throughput = results.scenarios.find((scenario) => scenario.name === 'throughput');
    expect(throughput?.targets.map((target) => target.target)).toEqual(['floor', 'gateway', 'peer', 'hive-mesh']);
    const fixedRate = results.scenarios.find((scenario) => scenario.name === 'fixed-rate');
    expect(fixedRate?.targets.map((target) => target.target)).toEqual(['floor', 'gateway']);
    for (const target of [...(throughput?.targets ?? []), ...(fixedRate?.targets ?? [])]) {
      expect(target.requests).toBeGreaterThan(0);
      expect(target.mismatches).toBe(0);
      expect(target.allocBytesPerRequest).toBeGreaterThan(0);
      expect(target.peakRssMb).toBeGreaterThan(0);
    }
    expect(results.startup.map((start) => start.target)).toEqual(['floor', 'gateway', 'peer', 'hive-mesh']);
    for (const start of results.startup) expect(start.medianMs).toBeGreaterThan(0);
    expect(results.goals.filter((goal) => Number.isFinite(goal.value))).toHaveLength(6);
  }, 120_000);

  it('with --baseline-ref, measures the gateway of that commit beside the working tree and compares', async () => {
    const { code, output } = await runBench([
      '--scenarios',
      'throughput',
      '--targets',
      'gateway',
      '--baseline-ref',
      'HEAD',
      ...QUICK,
    ]);
    expect(code, output).toBe(0);
    expect(output).toMatch(verified('gateway'));
    expect(output).toMatch(verified('gateway@HEAD'));
    // Both as the image runs them: the compiled build, not the TypeScript sources.
    for (const name of ['gateway', 'gateway@HEAD'])
      expect(output).toContain(
        `${name} runs the image's command: ` +
          'NODE_COMPILE_CACHE=.node-compile-cache node --max-semi-space-size=16 dist/server.js',
      );
    expect(output).toMatch(/gateway\/gateway@HEAD CPU per request\s+\d+\.\d+/);
    expect(output).toMatch(/gateway \(working tree\) vs gateway@HEAD, ratios gateway\/gateway@HEAD:/);
    expect(output).toMatch(/\n {2}throughput +CPU \d+ vs \d+ µs\/request: \d+\.\d+ .*req\/s: \d+\.\d+/);

    const results = latestResults();
    expect(results.baseline).toEqual({ name: 'gateway@HEAD', commit: git('rev-parse', 'HEAD') });
    const throughput = results.scenarios.find((scenario) => scenario.name === 'throughput');
    expect(throughput?.targets.map((target) => target.target)).toEqual(['gateway', 'gateway@HEAD']);
    for (const target of throughput?.targets ?? []) {
      expect(target.requests).toBeGreaterThan(0);
      expect(target.mismatches).toBe(0);
    }
    expectWorktreeRemoved(output);
  }, 60_000);

  it('on Ctrl-C, stops every process it started and removes the baseline worktree', async () => {
    const { code, output } = await runBench(
      ['--scenarios', 'throughput', '--targets', 'gateway', '--baseline-ref', 'HEAD', '--duration', '30'],
      { when: /rounds × 30 s per target/, signal: 'SIGINT' },
    );
    expect(code, output).toBe(130);
    const pids = [...output.matchAll(/pid (\d+)/g)].map((match) => Number(match[1]));
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(pid, 0), `pid ${pid} still runs`).toThrow();
    expectWorktreeRemoved(output);
  }, 60_000);

  it('with --profile, splits floor and gateway CPU time by component, sampled with perf', async () => {
    const { code, output } = await runBench(['--profile', ...QUICK, '--duration', '2', '--rate', '300']);
    expect(code, output).toBe(0);
    expect(output).toMatch(/Profile: CPU µs per request by component at 300 req\/s/);
    expect(output).toMatch(/component\s+floor µs\/req\s+gateway µs\/req\s+difference/);
    expect(output).toMatch(
      /resident memory before any request → peak under this load: floor \d+ → \d+ MB, gateway \d+ → \d+ MB/,
    );
    expect(output).toMatch(/The gateway's 15 costliest JavaScript functions .*\n +\d+\.\d µs {2}\S+ \S+:\d+\n/);
    const profile = JSON.parse(
      readFileSync(new URL('../../bench/results/profile-latest.json', import.meta.url), 'utf8'),
    );
    const [floor, gateway] = profile.profiles as {
      target: string;
      cpuUsPerRequest: number;
      sampledUsPerRequest: number;
      components: Record<string, number>;
    }[];
    expect([floor?.target, gateway?.target]).toEqual(['floor', 'gateway']);
    // Only the gateway runs GraphQL; both make the upstream call.
    expect(floor?.components['GraphQL execution (graphql-js)']).toBe(0);
    expect(gateway?.components['GraphQL execution (graphql-js)']).toBeGreaterThan(0);
    expect(floor?.components['undici (upstream client)']).toBeGreaterThan(0);
    // Every thread is sampled: the samples account for the CPU time /proc counts.
    for (const target of [floor!, gateway!]) {
      expect(target.sampledUsPerRequest).toBeGreaterThan(0.5 * target.cpuUsPerRequest);
      expect(target.sampledUsPerRequest).toBeLessThan(1.5 * target.cpuUsPerRequest);
    }
  }, 60_000);

  it('with --profile and no perf on the PATH, says what to install and starts nothing', async () => {
    const { code, output } = await runBench(['--profile'], undefined, { PATH: dirname(process.execPath) });
    expect(code, output).toBe(1);
    expect(output).toContain('--profile needs Linux perf (Debian: apt-get install linux-perf)');
    expect(output).not.toMatch(/pid \d+/);
  });

  it('--help lists every option bench/README.md documents', async () => {
    const { code, output } = await runBench(['--help']);
    expect(code, output).toBe(0);
    const readme = readFileSync(new URL('../../bench/README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('| option'), readme.indexOf('## What runs'));
    const documented = [...table.matchAll(/`(-{1,2}[a-z-]+)/g)].map((match) => match[1]!);
    expect(documented).toContain('--baseline-ref');
    for (const option of documented) expect(output).toContain(option);
  });

  it('refuses a --baseline-ref that names no commit, with exit code 2', async () => {
    const { code, output } = await runBench(['--baseline-ref', 'no-such-ref-anywhere']);
    expect(code, output).toBe(2);
    expect(output).toContain('--baseline-ref: "no-such-ref-anywhere" names no commit');
  });
});
