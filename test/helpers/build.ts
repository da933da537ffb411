import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Global setup of the process tests: `npm start` with NODE_ENV=production runs the compiled
 * build (dist/), so it is built first, once, from the sources under test.
 */
export default function build(): void {
  execFileSync('npm', ['run', 'build', '--silent'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: 'inherit',
  });
}
