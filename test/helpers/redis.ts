import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Path of the `redis-server` binary on PATH or where Debian's package puts it, if any. */
export const REDIS_SERVER = findExecutable('redis-server', [
  ...(process.env['PATH'] ?? '').split(delimiter),
  '/usr/bin',
]);

export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open but nothing answers. */
  pause(): void;
  resume(): void;
  /** Stops the server for good and removes its directory. */
  close(): Promise<void>;
}

/**
 * A real, throw-away `redis-server` on a free loopback port: no persistence, its own temp directory.
 * With `password`, it refuses clients that do not authenticate with it (`--requirepass`).
 */
export async function startRedis({ password }: { password?: string } = {}): Promise<TestRedis> {
  if (!REDIS_SERVER) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'test-redis-'));
  const args = [
    ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    ...(password === undefined ? [] : ['--requirepass', password]),
  ];
  const binary = REDIS_SERVER;
  let child = await launch(binary, args);
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => terminate(child),
    start: async () => {
      child = await launch(binary, args);
    },
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    close: async () => {
      child.kill('SIGCONT');
      await terminate(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function findExecutable(name: string, dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts redis-server and resolves once it logs that it accepts connections. */
async function launch(binary: string, args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const look = (chunk: Buffer): void => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  return child;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
