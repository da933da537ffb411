/**
 * Starting, probing and stopping the bench's child processes (upstream emulators, targets).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { childScript } from './deployed.ts';

/** The checkout this bench belongs to (the working tree). */
export const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));

export interface ProbeAnswer {
  /** Bytes allocated on the V8 heap since the last reset; only on the first read after one. */
  allocatedBytes?: number | undefined;
  eventLoopDelayMs: { mean: number; p50: number; p99: number; max: number };
  memory: NodeJS.MemoryUsage;
  heapSpacesMb: Record<string, number>;
}

export type ProbeKind = 'read' | 'reset' | 'gc';

export interface Child {
  name: string;
  /** The URL parsed from the child's first output (an upstream's base URL, or a target's /graphql). */
  url: string;
  pid: number;
  process: ChildProcess;
  /** Asks the preloaded probe (bench/child/probe.ts, as JavaScript) for event-loop delay and memory. */
  probe(kind: ProbeKind): Promise<ProbeAnswer | undefined>;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** Script and its arguments, relative to `cwd`, run by the same Node as the bench. */
  args: string[];
  /** The checkout the child runs in; default the working tree. */
  cwd?: string;
  env: Record<string, string>;
  /** Node's flags before the probe and the script (e.g. for a profiler). */
  nodeFlags?: readonly string[];
  /**
   * Where stdout goes. 'pipe': the URL is the `url` field of the first JSON line. A file path: the
   * child logs there (kept off the bench's own event loop) and the URL is the `url` field of the
   * first JSON line in it that has one (the gateway's "gateway listening" line), unless `url` is
   * given (a log level that hides that line): then the child is ready when `/healthz` answers 200.
   */
  stdout: 'pipe' | { file: string; url?: string };
  timeoutMs?: number;
}

export async function startChild(options: StartOptions): Promise<Child> {
  const { name, args, cwd = ROOT_DIR, env, nodeFlags = [], stdout, timeoutMs = 30_000 } = options;
  const out = stdout === 'pipe' ? 'pipe' : openSync(stdout.file, 'w');
  const child = spawn(process.execPath, [...nodeFlags, '--import', childScript('probe'), ...args], {
    cwd,
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
      () => settle(new Error(`${name} did not report its URL within ${timeoutMs} ms`)),
      timeoutMs,
    );
    let poll: NodeJS.Timeout | undefined;
    const settle = (result: string | Error): void => {
      clearTimeout(timer);
      clearInterval(poll);
      if (typeof result === 'string') resolve(result);
      else reject(new Error(`${result.message}\n${stderr}`));
    };
    void exited.then((code) => settle(new Error(`${name} exited with code ${code} before listening`)));
    if (stdout === 'pipe') {
      createInterface({ input: child.stdout! }).once('line', (line) => {
        settle(urlOf(line) ?? new Error(`${name} printed ${line.slice(0, 200)} instead of its URL`));
      });
      return;
    }
    const known = stdout.url;
    poll = known
      ? setInterval(() => {
          fetch(new URL('/healthz', known)).then(
            (response) => response.ok && settle(known),
            () => undefined,
          );
        }, 100)
      : setInterval(() => {
          const found = readFileSync(stdout.file, 'utf8').split('\n').map(urlOf).find(Boolean);
          if (found) settle(found);
        }, 50);
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

  return {
    name,
    url,
    pid: child.pid!,
    process: child,
    probe: prober(child),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Asks the child's probe over IPC; undefined when it does not answer within 10 s. */
function prober(child: ChildProcess): (kind: ProbeKind) => Promise<ProbeAnswer | undefined> {
  let nextId = 0;
  return (kind) =>
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
        const { allocatedBytes, eventLoopDelayMs, memory, heapSpacesMb } = message;
        resolve({ allocatedBytes, eventLoopDelayMs, memory, heapSpacesMb });
      };
      child.on('message', onMessage);
      child.send({ probe: kind, id });
    });
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

/** A port free on 127.0.0.1 right now (for a child that cannot report the one it picked). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
