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
}

/** Runs the server as `npm start -- ...args` does (same flags and entry point), with only the given environment. */
export function runServer(
  env: Record<string, string>,
  args: readonly string[] = [],
): {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [...START_ARGS, ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Starts the server and waits for its "gateway listening" line. */
export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const run = runServer(env);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${run.output()}`)), 15_000);
    const look = (): void => {
      const match = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(run.output());
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    run.child.stdout?.on('data', look);
    void run.exited.then(() => reject(new Error(`server exited:\n${run.output()}`)));
  });
  return { ...run, url };
}
