import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `npm run bench` (the same script, with the same Node) with a short load. */
function runBench(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bench/run.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('npm run bench', () => {
  it('measures floor, gateway and peer, checks their answers, and prints the table, the ratios and the targets', async () => {
    // One short round at low concurrency: this checks that the bench works, not how fast anything is.
    const { code, output } = await runBench([
      '--scenarios',
      'throughput',
      '--targets',
      'floor,gateway,peer',
      '--rounds',
      '1',
      '--duration',
      '1',
      '--warmup',
      '1',
      '--connections',
      '4',
    ]);
    expect(code, output).toBe(0);
    for (const target of ['floor', 'gateway', 'peer'])
      expect(output).toMatch(
        new RegExp(`${target}\\s+http://127\\.0\\.0\\.1:\\d+/graphql\\s+pid \\d+\\s+answers verified`),
      );
    expect(output).toMatch(
      /target\s+req\/s\s+rounds min–max\s+p50 ms\s+p90 ms\s+p99 ms\s+failed\s+non-2xx\s+peak RSS MB\s+CPU µs\/req/,
    );
    expect(output).toMatch(/gateway\/floor\s+\d+\.\d+/);
    expect(output).toMatch(/gateway\/peer\s+\d+\.\d+/);
    expect(output).toContain('Issue 5 targets:');

    const results = JSON.parse(readFileSync(new URL('../../bench/results/latest.json', import.meta.url), 'utf8')) as {
      scenarios: { name: string; targets: { target: string; requests: number; mismatches: number }[] }[];
    };
    const throughput = results.scenarios.find((scenario) => scenario.name === 'throughput');
    expect(throughput?.targets.map((target) => target.target)).toEqual(['floor', 'gateway', 'peer']);
    for (const target of throughput?.targets ?? []) {
      expect(target.requests).toBeGreaterThan(0);
      expect(target.mismatches).toBe(0);
    }
  }, 90_000);
});
