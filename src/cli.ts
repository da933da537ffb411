import { parseArgs } from 'node:util';
import * as v from 'valibot';
import type { Environment } from './config/env-schema.ts';
import { VARIABLES } from './config/variables.ts';

/** What the command line asks for. */
export type Command =
  | { action: 'help' }
  | { action: 'version' }
  /** Serve, with these variables set over the environment's. */
  | { action: 'serve'; overrides: Environment }
  | { action: 'refuse'; problem: string };

const OPTIONS = {
  help: { type: 'boolean' },
  version: { type: 'boolean' },
  port: { type: 'string' },
} as const;

const TAKES = 'the gateway takes --help, --version and --port N; the rest is set by environment variables';

/**
 * The arguments after `npm start --` (node's own parseArgs): `--help`, `--version`, `--port N`
 * (PORT, checked as PORT is). Anything else is refused, so that a mistyped option is not
 * mistaken for a setting that took effect.
 */
export function parseCommandLine(args: readonly string[]): Command {
  let values: { help?: boolean; version?: boolean; port?: string };
  try {
    ({ values } = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    // Node's first sentence names the argument ("Unknown option '--prot'"); the rest is for other programs.
    const what = error instanceof Error ? (error.message.split('. ')[0] ?? error.message) : String(error);
    return { action: 'refuse', problem: `${what}: ${TAKES}` };
  }
  if (values.help) return { action: 'help' };
  if (values.version) return { action: 'version' };
  if (values.port === undefined) return { action: 'serve', overrides: {} };
  const port = v.safeParse(VARIABLES.entries.PORT, values.port);
  if (!port.success) return { action: 'refuse', problem: `--port ${port.issues[0].message}` };
  return { action: 'serve', overrides: { PORT: values.port } };
}
