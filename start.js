// `npm start`'s entry, in plain JavaScript so that any Node can read it: it checks the Node
// version before loading TypeScript (which Node 20 cannot even load), then runs the sources in
// development and the compiled build (`npm run build`, dist/) with NODE_ENV=production.
// The image runs dist/server.js itself. It reads NODE_ENV here, before the configuration
// exists, only to choose which of the two to load; the configuration reads it again.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'chatbotkit-session-gateway';
const wanted = readFileSync(new URL('.nvmrc', import.meta.url), 'utf8').trim();

if (process.versions.node.split('.')[0] !== wanted) {
  refuse(
    `needs Node ${wanted} (.nvmrc) but runs on Node ${process.versions.node}: run \`npm rebuild node\` ` +
      `(npm ci --ignore-scripts leaves the pinned Node uninstalled), or start it with Node ${wanted}`,
  );
}

const production = process.env.NODE_ENV?.trim().toLowerCase() === 'production';
const sources = new URL('src/', import.meta.url);
const compiled = new URL('dist/server.js', import.meta.url);
if (production && existsSync(sources) && !builtAfter(sources)) build();
if (production && !existsSync(compiled)) {
  refuse('NODE_ENV=production runs the compiled build, and dist/ has none: run `npm run build` first');
}
await import(production ? compiled.href : new URL('src/server.ts', import.meta.url).href);

/** Whether dist/ was compiled after the last change to the sources: never run a stale build. */
function builtAfter(folder) {
  if (!existsSync(compiled)) return false;
  const builtAt = statSync(compiled).mtimeMs;
  // Paths, not URLs: a file name may hold `#` or `%` (an editor's autosave file).
  const root = fileURLToPath(folder);
  const files = readdirSync(root, { recursive: true }).map((name) => join(root, name));
  return files.every((file) => statSync(file).mtimeMs <= builtAt);
}

/** `npm run build`, when a checkout has the compiler; a production-only install has not. */
function build() {
  const tsc = new URL('node_modules/typescript/bin/tsc', import.meta.url);
  if (!existsSync(tsc)) {
    refuse(
      'NODE_ENV=production runs the compiled build, and dist/ is missing or older than src/: ' +
        'run `npm run build` where the dev dependencies are installed',
    );
  }
  console.error(`${NAME}: compiling src/ to dist/ (dist/ is missing or older than src/)`);
  const tsconfig = fileURLToPath(new URL('tsconfig.build.json', import.meta.url));
  const result = spawnSync(process.execPath, [fileURLToPath(tsc), '-p', tsconfig], { stdio: 'inherit' });
  if (result.status !== 0) refuse("`npm run build` failed: see the compiler's messages above");
}

function refuse(line) {
  console.error(`${NAME}: ${line}`);
  process.exit(1);
}
