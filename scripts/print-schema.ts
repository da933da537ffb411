import { writeFileSync } from 'node:fs';
import { execute, lexicographicSortSchema, parse, printSchema } from 'graphql';
import { buildPublicSchema, buildSubgraphSchema } from '../src/schema/index.ts';

export const SCHEMA_FILE = new URL('../schema/schema.graphql', import.meta.url);
export const SUBGRAPH_FILE = new URL('../schema/subgraph.graphql', import.meta.url);

/** The public API, sorted so that the committed file changes only when the schema does. */
export function printPublicSchema(): string {
  return `${printSchema(lexicographicSortSchema(buildPublicSchema()))}\n`;
}

/** The subgraph SDL exactly as a federation router reads it, from `_service { sdl }`. */
export function printSubgraphSdl(): string {
  // A fresh build: the served schema's resolvers may be wrapped by the app's plugins.
  const result = execute({ schema: buildSubgraphSchema(), document: parse('{ _service { sdl } }') }) as {
    data?: { _service: { sdl: string } };
  };
  const sdl = result.data?._service.sdl;
  if (!sdl)
    throw new Error(`the schema answered no _service.sdl: ${JSON.stringify((result as { errors?: unknown }).errors)}`);
  return `${sdl.trim()}\n`;
}

if (import.meta.main) {
  writeFileSync(SCHEMA_FILE, printPublicSchema());
  writeFileSync(SUBGRAPH_FILE, printSubgraphSdl());
  console.log(`wrote ${SCHEMA_FILE.pathname} and ${SUBGRAPH_FILE.pathname}`);
}
