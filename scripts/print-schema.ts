import { writeFileSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from '../src/schema/index.ts';

/** The printed public schema: sorted, so that the committed file only changes when the schema does. */
export function printPublicSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

export const SCHEMA_FILE = new URL('../schema/schema.graphql', import.meta.url);

if (import.meta.main) {
  writeFileSync(SCHEMA_FILE, printPublicSchema());
  console.log(`wrote ${SCHEMA_FILE.pathname}`);
}
