import { writeFileSync } from 'node:fs';
import { environmentMarkdown } from '../src/config/variables-table.ts';

/** Printed from the schema of variables; test/unit/environment-docs.test.ts fails when it drifts. */
export const ENVIRONMENT_DOC = new URL('../docs/environment.md', import.meta.url);

if (import.meta.main) {
  writeFileSync(ENVIRONMENT_DOC, environmentMarkdown());
  console.log(`wrote ${ENVIRONMENT_DOC.pathname}`);
}
