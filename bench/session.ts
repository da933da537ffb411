/**
 * One bench run's shared state: its options, where results go, the processes and temporary
 * checkouts it must clean up (also on Ctrl-C), and the measurement problems that fail it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Baseline } from './baseline.ts';
import type { LoadResult } from './load.ts';
import type { Options } from './options.ts';
import type { Child } from './processes.ts';

export interface Session {
  options: Options;
  resultsDir: string;
  logDir: string;
  /** The gateway of `--baseline-ref`, once its worktree is ready. */
  baseline?: Baseline;
  /** Wrong answers and errors: the run goes on, reports them, and exits 1. */
  problems: string[];
  log(text: string): void;
  /** Keeps a child to stop on close; `untrack` once it is stopped. */
  track(child: Child): Child;
  untrack(child: Child): void;
  /** Runs on close, after the children are stopped, the last registered first. */
  onClose(cleanup: () => void): void;
  /** Stops every child and runs the cleanups; safe to call more than once. */
  close(): Promise<void>;
}

export function createSession(options: Options, resultsDir: string): Session {
  const logDir = join(resultsDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const children = new Set<Child>();
  const cleanups: (() => void)[] = [];
  const log = (text: string): void => void process.stdout.write(`${text}\n`);
  let closed = false;
  return {
    options,
    resultsDir,
    logDir,
    problems: [],
    log,
    track: (child) => {
      // Interrupted while this child was starting: it must not outlive the bench.
      if (closed) {
        void child.stop();
        throw new Error('interrupted');
      }
      children.add(child);
      return child;
    },
    untrack: (child) => void children.delete(child),
    onClose: (cleanup) => void cleanups.push(cleanup),
    close: async () => {
      closed = true;
      const stopping = [...children];
      children.clear();
      await Promise.all(stopping.map((child) => child.stop()));
      for (const cleanup of cleanups.splice(0).reverse()) {
        try {
          cleanup();
        } catch (error) {
          log(`bench: cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    },
  };
}

/** Records and prints what went wrong in a load run, if anything did. */
export function checkClean(session: Session, load: LoadResult, what: string): void {
  const bad = load.errors + load.timeouts + load.mismatches + load.non2xx;
  if (bad === 0) return;
  const message =
    `${what}: ${load.mismatches} wrong answers, ${load.non2xx} non-2xx, ${load.errors} errors, ` +
    `${load.timeouts} timeouts (status codes ${JSON.stringify(load.statusCodes)})` +
    (load.wrongBodies[0] ? `; a wrong answer: ${load.wrongBodies[0]}` : '');
  session.problems.push(message);
  session.log(`  ✗ ${message}`);
}

/** A date as part of a file name. */
export const stampOf = (date: Date): string => date.toISOString().replace(/[:.]/g, '-');

/** Writes results/<name> for each name given (a run's own file, and the `latest` one). */
export function writeResult(session: Session, names: readonly string[], text: string): void {
  for (const name of names) writeFileSync(join(session.resultsDir, name), text);
}
