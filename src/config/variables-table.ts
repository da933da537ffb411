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

/** The whole of docs/environment.md, its table padded as biome formats Markdown. */
export function environmentMarkdown(): string {
  // Escaped so that no text turns into a column break or emphasis.
  const cell = (text: string) => (text === '' ? '–' : text.replaceAll(/[|*]/g, '\\$&'));
  const rows = [
    COLUMNS.map((column) => HEADINGS[column]),
    ...describeVariables(VARIABLES).map((variable) =>
      COLUMNS.map((column) => (column === 'name' ? `\`${variable.name}\`` : cell(variable[column]))),
    ),
  ];
  const widths = COLUMNS.map((_, index) => Math.max(...rows.map((cells) => [...(cells[index] ?? '')].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((text, index) => text + ' '.repeat((widths[index] ?? 0) - [...text].length)).join(' | ')} |`;
  const [headings = [], ...variables] = rows;
  return [
    '# Environment variables',
    '',
    'Every variable the gateway reads, once, at start (generated from `src/config/variables.ts` by',
    '`npm run docs:env`; `npm start -- --help` prints the same).',
    '',
    line(headings),
    line(widths.map((width) => '-'.repeat(width))),
    ...variables.map(line),
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
    'Usage: npm start [-- --help | --version | --port N]',
    '  --help      print this and exit',
    '  --version   print the version and exit',
    '  --port N    listen on port N, over PORT',
    '',
    'Serves the ChatBotKit session gateway, configured by these environment variables:',
    '',
    ...lines,
    '',
  ].join('\n');
}
