import { describeVariables, type VariableDoc } from './env-schema.ts';
import { VARIABLES } from './variables.ts';

/** The table of variables as printed by `--help` and written to docs/environment.md. */

const HEADINGS: Record<keyof VariableDoc, string> = {
  name: 'Variable',
  type: 'Type',
  allowed: 'Allowed',
  default: 'Default',
  description: 'Description',
};
const COLUMNS = Object.keys(HEADINGS) as (keyof VariableDoc)[];

/** The whole of docs/environment.md. */
export function environmentMarkdown(): string {
  // Escaped so that no text turns into a column break or emphasis.
  const cell = (text: string) => (text === '' ? '–' : text.replaceAll(/[|*]/g, '\\$&'));
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    '# Environment variables',
    '',
    'Every variable the gateway reads, once, at start (generated from `src/config/variables.ts` by',
    '`npm run docs:env`; `npm start -- --help` prints the same).',
    '',
    row(COLUMNS.map((column) => HEADINGS[column])),
    row(COLUMNS.map(() => '---')),
    ...describeVariables(VARIABLES).map((variable) =>
      row(COLUMNS.map((column) => (column === 'name' ? `\`${variable.name}\`` : cell(variable[column])))),
    ),
    '',
  ].join('\n');
}

/** Usage, then each variable on a line of its own with what it accepts and its default, its description below. */
export function helpText(): string {
  const variables = describeVariables(VARIABLES);
  const width = Math.max(...variables.map((variable) => variable.name.length)) + 2;
  const lines = variables.flatMap(({ name, type, allowed, default: fallback, description }) => [
    `${name.padEnd(width)}${type}${allowed && `: ${allowed}`}${fallback && `; default ${fallback}`}`,
    `${' '.repeat(width)}${description}`,
  ]);
  return [
    'Usage: npm start [-- --help]  (or node src/server.ts [--help])',
    'Serves the ChatBotKit session gateway, configured by these environment variables alone:',
    '',
    ...lines,
    '',
  ].join('\n');
}
