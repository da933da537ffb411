import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runServer, startServerProcess } from '../helpers/process.ts';

// What `npm start` runs (start.js) in checkouts that differ from this one: one installed
// without the pinned Node, a fresh clone without a build, a production tree.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const trees: string[] = [];
afterAll(() => {
  for (const tree of trees) rmSync(tree, { recursive: true, force: true });
});

/** A checkout with start.js and what it reads, plus the named parts of this one (linked, not copied). */
function checkout(parts: readonly ('src' | 'dist' | 'node_modules')[], files: readonly string[] = []): string {
  const tree = mkdtempSync(join(tmpdir(), 'gateway-checkout-'));
  trees.push(tree);
  for (const file of ['start.js', '.nvmrc', 'package.json', ...files]) copyFileSync(join(ROOT, file), join(tree, file));
  for (const part of parts) symlinkSync(join(ROOT, part), join(tree, part));
  return tree;
}

/** PATH without any node_modules/.bin: the machine's own programs, as after `npm ci --ignore-scripts`. */
const machinePath = (process.env['PATH'] ?? '')
  .split(delimiter)
  .filter((dir) => !dir.includes('node_modules'))
  .join(delimiter);
const machineNode = execFileSync('node', ['--version'], { env: { PATH: machinePath }, encoding: 'utf8' }).trim();

/** Resolves with the exit code and the output of a command. */
function run(command: string, args: string[], options: { cwd: string; env: Record<string, string> }) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, output })),
  );
}

describe('npm start on another Node than the pinned one', () => {
  // CI's machines and this one have Node 20 besides the pinned 24. Where the machine's own Node
  // is 24, the pinned one with its reported version set to 20 stands in for it.
  const real = !machineNode.startsWith('v24.');

  it(`refuses with one line saying how to fix it (machine's Node: ${machineNode})`, async () => {
    // `npm ci --ignore-scripts` leaves the `node` dev dependency without its binary, so npm
    // scripts run on the machine's Node.
    const tree = checkout([]);
    const { code, output } = real
      ? await run('npm', ['start', '--silent'], { cwd: tree, env: { PATH: machinePath } })
      : await run(
          process.execPath,
          [
            '--import',
            'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.0.0"})',
            'start.js',
          ],
          { cwd: tree, env: { PATH: machinePath } },
        );
    expect(code).toBe(1);
    expect(output).toMatch(
      /^chatbotkit-session-gateway: needs Node 24 \(\.nvmrc\) but runs on Node \d+\.\d+\.\d+: run `npm rebuild node`/,
    );
    expect(output.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('npm start in development and in production', () => {
  it('runs the sources on a fresh clone, with no build', async () => {
    const server = await startServerProcess({}, { cwd: checkout(['src', 'node_modules']) });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('runs the compiled build with NODE_ENV=production, without the sources', async () => {
    const server = await startServerProcess(
      {
        NODE_ENV: 'production',
        CHATBOTKIT_SECRET: 'sk_test_0123456789abcdef',
        AUTH_MODE: 'api-key',
        GATEWAY_API_KEY_HASHES: 'a'.repeat(64),
      },
      { cwd: checkout(['dist', 'node_modules']) },
    );
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('compiles first when NODE_ENV=production finds no build, or one older than the sources', async () => {
    const tree = checkout(['src', 'node_modules'], ['tsconfig.json', 'tsconfig.build.json']);
    const env = {
      NODE_ENV: 'production',
      CHATBOTKIT_SECRET: 'sk_test_0123456789abcdef',
      AUTH_MODE: 'api-key',
      GATEWAY_API_KEY_HASHES: 'a'.repeat(64),
    };
    for (const round of ['no build', 'a stale build']) {
      if (round === 'a stale build') utimesSync(join(tree, 'dist', 'server.js'), 0, 0);
      const server = await startServerProcess(env, { cwd: tree });
      try {
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
        expect(server.output(), round).toContain('compiling src/ to dist/');
      } finally {
        expect(await server.stop()).toBe(0);
      }
    }
  });

  it('says to build first when NODE_ENV=production finds no build and no compiler', async () => {
    const server = runServer({ NODE_ENV: 'production' }, [], { cwd: checkout(['src']) });
    expect(await server.exited).toBe(1);
    expect(server.output()).toBe(
      'chatbotkit-session-gateway: NODE_ENV=production runs the compiled build, and dist/ is missing or older ' +
        'than src/: run `npm run build` where the dev dependencies are installed\n',
    );
  });
});
