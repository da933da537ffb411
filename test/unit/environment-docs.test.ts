import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT_DOC } from '../../scripts/print-env-docs.ts';
import { environmentMarkdown } from '../../src/config/variables-table.ts';
import { VARIABLE_NAMES } from '../../src/config.ts';

describe('docs/environment.md (run `npm run docs:env` after changing a variable)', () => {
  it('matches the table the schema of variables prints', () => {
    expect(readFileSync(ENVIRONMENT_DOC, 'utf8')).toBe(environmentMarkdown());
  });

  it('lists every variable the gateway reads, each with a description', () => {
    const rows = environmentMarkdown()
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    expect(rows.map((row) => /^\| `([A-Z0-9_]+)`/.exec(row)?.[1])).toEqual(VARIABLE_NAMES);
    for (const row of rows) expect(row).toMatch(/\| [^|–\s][^|]* \|$/);
  });
});
