/**
 * `--baseline-ref <ref>`: that commit in a temporary git worktree, with node_modules (linked when
 * its lock file is the working tree's, installed with `npm ci` otherwise), removed when the session
 * closes, also on Ctrl-C. Its gateway runs as the target `gateway@<ref>`.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './options.ts';
import { ROOT_DIR } from './processes.ts';
import type { Session } from './session.ts';

export interface Baseline {
  ref: string;
  commit: string;
  /** The target's name: `gateway@<ref>`. */
  name: string;
  /** The worktree's folder. */
  root: string;
}

export function checkoutBaseline(session: Session, ref: string): Baseline {
  let commit: string;
  try {
    commit = git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  } catch {
    throw new UsageError(`--baseline-ref: "${ref}" names no commit in ${ROOT_DIR}`);
  }
  const root = mkdtempSync(join(tmpdir(), 'bench-baseline-'));
  session.onClose(() => removeWorktree(root));
  git('worktree', 'add', '--detach', '--quiet', root, commit);
  const lock = (dir: string): string => readFileSync(join(dir, 'package-lock.json'), 'utf8');
  const sameLock = lock(root) === lock(ROOT_DIR);
  if (sameLock) {
    symlinkSync(join(ROOT_DIR, 'node_modules'), join(root, 'node_modules'), 'dir');
  } else {
    session.log(`baseline: ${ref} has another package-lock.json: npm ci in ${root}`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  session.log(
    `baseline: gateway@${ref} is commit ${commit.slice(0, 10)}, in the worktree ${root} ` +
      `(node_modules ${sameLock ? 'linked' : 'installed'}; removed at the end)`,
  );
  return { ref, commit, name: `gateway@${ref}`, root };
}

/** Unlinks a linked node_modules first, so that nothing can follow the link into the working tree's. */
function removeWorktree(root: string): void {
  const modules = join(root, 'node_modules');
  try {
    if (lstatSync(modules).isSymbolicLink()) unlinkSync(modules);
  } catch {
    // not there
  }
  try {
    git('worktree', 'remove', '--force', root);
  } catch {
    // not (or no longer) a worktree: remove the folder and forget it
    rmSync(root, { recursive: true, force: true });
    git('worktree', 'prune');
  }
}

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
