/**
 * How the targets run as they would be deployed: the gateway as its image runs it (the compiled
 * build, the Dockerfile's command), and the bench's own scripts as JavaScript. Node's type
 * stripping (a WebAssembly module, loaded by the first .ts file a process imports) keeps some
 * 18 MB resident and slows start-up; no target should pay it, the preloaded probe included.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD_DIR = fileURLToPath(new URL('./child/', import.meta.url));
const STRIPPED_DIR = fileURLToPath(new URL('./results/child/', import.meta.url));

export interface GatewayCommand {
  /** Node's arguments: V8 flags, then the entry point, relative to the checkout. */
  args: string[];
  /** What the command is, for the log. */
  source: 'the image' | 'npm start';
  /** The image's environment that changes how it runs: its compile cache, filled as its build does. */
  env: Record<string, string>;
}

const commands = new Map<string, GatewayCommand>();

/**
 * The image's command (`CMD ["node", …]` in the Dockerfile) after `npm run build`, for a checkout
 * that has both; otherwise `npm start`'s command (older commits). Built once per checkout.
 */
export function gatewayCommand(root: string): GatewayCommand {
  let command = commands.get(root);
  if (!command) {
    command = imageCommand(root) ?? { args: startArgs(root), source: 'npm start', env: {} };
    commands.set(root, command);
  }
  return command;
}

function imageCommand(root: string): GatewayCommand | undefined {
  const dockerfile = join(root, 'Dockerfile');
  if (!packageScripts(root)['build'] || !existsSync(dockerfile)) return undefined;
  const text = readFileSync(dockerfile, 'utf8');
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(text)?.[1];
  const [node, ...args] = cmd ? (JSON.parse(cmd) as string[]) : [];
  if (node !== 'node') return undefined;
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return { args, source: 'the image', env: compileCache(root, text) };
}

/**
 * The image's compile cache (`NODE_COMPILE_CACHE` in its ENV), made afresh for this build as the
 * Dockerfile makes it: by running the entry point with `--version`, which loads every module.
 */
function compileCache(root: string, dockerfile: string): Record<string, string> {
  const folder = /\bNODE_COMPILE_CACHE=(\S+)/.exec(dockerfile)?.[1];
  if (!folder) return {};
  const env = { NODE_COMPILE_CACHE: folder };
  rmSync(join(root, folder), { recursive: true, force: true });
  execFileSync(process.execPath, ['dist/server.js', '--version'], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: 'ignore',
  });
  return env;
}

/** `npm start` of that checkout without its leading `node`: its V8 flags, then the entry point. */
function startArgs(root: string): string[] {
  const start = packageScripts(root)['start'] ?? '';
  const [command, ...args] = start.split(' ');
  if (command !== 'node') throw new Error(`${root}: npm start does not run node: ${start}`);
  return args;
}

function packageScripts(root: string): Record<string, string> {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
}

/**
 * A script of bench/child/ as JavaScript (types stripped here, once, into the git-ignored results
 * folder, where its bare imports still resolve to the working tree's node_modules); its path.
 * Only for scripts that find nothing by a relative path (imports, import.meta.url).
 */
const scripts = new Map<string, string>();

export function childScript(name: string): string {
  let script = scripts.get(name);
  if (!script) {
    script = join(STRIPPED_DIR, `${name}.js`);
    mkdirSync(STRIPPED_DIR, { recursive: true });
    writeFileSync(script, stripTypeScriptTypes(readFileSync(join(CHILD_DIR, `${name}.ts`), 'utf8')));
    scripts.set(name, script);
  }
  return script;
}
