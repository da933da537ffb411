/**
 * Starting, probing and stopping the bench's child processes (upstream emulators, targets), and
 * what Linux's /proc says about them: resident memory, its peak, CPU time and sockets.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));
const PROBE = fileURLToPath(new URL('./probe.ts', import.meta.url));

export interface ProbeAnswer {
  eventLoopDelayMs: { mean: number; p50: number; p99: number; max: number };
  memory: NodeJS.MemoryUsage;
  heapSpacesMb: Record<string, number>;
}

export interface Child {
  name: string;
  /** The URL parsed from the child's first output (an upstream's base URL, or a target's /graphql). */
  url: string;
  pid: number;
  process: ChildProcess;
  /** Asks the preloaded probe (bench/probe.ts) for event-loop delay and memory. */
  probe(kind: 'read' | 'reset' | 'gc'): Promise<ProbeAnswer | undefined>;
  stop(): Promise<void>;
  /** The last few kilobytes the child wrote to stderr, for error messages. */
  stderr(): string;
}

export interface StartOptions {
  name: string;
  /** Script and its arguments, relative to the repository root, run by the same Node as the bench. */
  args: string[];
  env: Record<string, string>;
  /**
   * Where stdout goes. 'pipe': the URL is the `url` field of the first JSON line. A file path: the
   * child logs there (kept off the bench's own event loop) and the URL is the `url` field of the
   * first JSON line in it that has one (the gateway's "gateway listening" line), unless `url` is
   * given (a log level that hides that line): then the child is ready when `/healthz` answers 200.
   */
  stdout: 'pipe' | { file: string; url?: string };
  timeoutMs?: number;
}

export async function startChild({ name, args, env, stdout, timeoutMs = 30_000 }: StartOptions): Promise<Child> {
  const out = stdout === 'pipe' ? 'pipe' : openSync(stdout.file, 'w');
  const child = spawn(process.execPath, ['--import', PROBE, ...args], {
    cwd: ROOT_DIR,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', out, 'pipe', 'ipc'],
  });
  if (typeof out === 'number') closeSync(out);
  child.channel?.unref();
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-8192);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`${name} did not report its URL within ${timeoutMs} ms\n${stderr}`)),
      timeoutMs,
    );
    let poll: NodeJS.Timeout | undefined;
    const done = (value: string): void => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      resolve(value);
    };
    const fail = (error: Error): void => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      reject(error);
    };
    void exited.then((code) => fail(new Error(`${name} exited with code ${code} before listening\n${stderr}`)));
    if (stdout === 'pipe') {
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => {
        const found = urlOf(line);
        if (found) done(found);
        else fail(new Error(`${name} printed ${line.slice(0, 200)} instead of its URL`));
      });
    } else {
      const known = stdout.url;
      if (known) {
        poll = setInterval(() => {
          fetch(new URL('/healthz', known)).then(
            (response) => response.ok && done(known),
            () => undefined,
          );
        }, 100);
        return;
      }
      poll = setInterval(() => {
        const text = readFileSync(stdout.file, 'utf8');
        for (const line of text.split('\n')) {
          const found = urlOf(line);
          if (found) return done(found);
        }
      }, 50);
    }
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

  let nextId = 0;
  const probe = (kind: 'read' | 'reset' | 'gc'): Promise<ProbeAnswer | undefined> =>
    new Promise((resolve) => {
      if (!child.connected) return resolve(undefined);
      const id = ++nextId;
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        resolve(undefined);
      }, 10_000);
      const onMessage = (message: { probe?: string; id?: number } & ProbeAnswer): void => {
        if (message?.probe !== 'answer' || message.id !== id) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        child.channel?.unref();
        resolve({
          eventLoopDelayMs: message.eventLoopDelayMs,
          memory: message.memory,
          heapSpacesMb: message.heapSpacesMb,
        });
      };
      child.on('message', onMessage);
      child.send({ probe: kind, id });
    });

  return {
    name,
    url,
    pid: child.pid!,
    process: child,
    probe,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function urlOf(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as { url?: unknown };
    return typeof parsed.url === 'string' ? parsed.url : undefined;
  } catch {
    return undefined;
  }
}

export interface ProcStatus {
  /** Resident set size now, MB. */
  rssMb: number;
  /** Peak resident set size since the process started (VmHWM), MB. */
  peakRssMb: number;
}

/** VmRSS and VmHWM of a process, from /proc/<pid>/status. */
export function procStatus(pid: number): ProcStatus | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

const TICKS_PER_SECOND = 100;

/** User + system CPU time a process has used, in milliseconds (/proc/<pid>/stat). */
export function cpuTimeMs(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat), to tell how loaded it was. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Established TCP connections a process holds, split into those to `upstreamPort` (its pool to
 * the upstream) and the rest (mostly callers), from /proc/<pid>/fd and /proc/net/tcp{,6}.
 */
export function socketCounts(pid: number, upstreamPort: number): { upstream: number; other: number } | undefined {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
      } catch {
        // closed meanwhile
      }
    }
    let upstream = 0;
    let other = 0;
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length < 10 || fields[3] !== '01' || !inodes.has(fields[9] ?? '')) continue;
        const remotePort = parseInt((fields[2] ?? '').split(':')[1] ?? '', 16);
        if (remotePort === upstreamPort) upstream++;
        else other++;
      }
    }
    return { upstream, other };
  } catch {
    return undefined;
  }
}

/** A port free on 127.0.0.1 right now (for a child that cannot report the one it picked). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
