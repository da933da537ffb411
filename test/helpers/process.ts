import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import packageJson from '../../package.json' with { type: 'json' };

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** `npm start` without its leading `node`: V8 flags, then the entry point. */
const START_ARGS = packageJson.scripts.start.split(' ').slice(1);

export interface ServerProcess {
  child: ChildProcess;
  /** Base URL, e.g. `http://127.0.0.1:41234`, once it listens. */
  url: string;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Another way to run the gateway than `npm start` in this checkout (the image's command, another tree). */
export interface RunOptions {
  /** After `node`: V8 flags and the entry point. Default `npm start`'s. */
  program?: readonly string[];
  /** Default the repository's root. */
  cwd?: string;
}

/** Runs the server as `npm start -- ...args` does (same flags and entry point), with only the given environment. */
export function runServer(
  env: Record<string, string>,
  args: readonly string[] = [],
  { program = START_ARGS, cwd = ROOT }: RunOptions = {},
): {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [...program, ...args], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

// The "gateway listening" line's URL, in JSON (`"url":"…"`) or in development's pretty format (`url: "…"`).
const LISTENING_URL = /"url":"(http:\/\/[^"]+)\/graphql"|url\S*: "(http:\/\/[^"]+)\/graphql"/;

/** Starts the server and waits for its "gateway listening" line; the one way tests start a gateway process. */
export async function startServerProcess(
  env: Record<string, string> = {},
  { args = [], ...options }: RunOptions & { args?: readonly string[] } = {},
): Promise<ServerProcess> {
  const run = runServer(env, args, options);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${run.output()}`)), 15_000);
    const look = (): void => {
      const match = LISTENING_URL.exec(run.output());
      const found = match?.[1] ?? match?.[2];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    run.child.stdout?.on('data', look);
    void run.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server exited:\n${run.output()}`));
    });
  });
  return {
    ...run,
    url,
    stop: () => {
      run.child.kill('SIGTERM');
      return run.exited;
    },
  };
}
