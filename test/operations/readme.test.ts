import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_MUTATION } from '../../src/app.ts';

// Each README example marked `<!-- tested: ... -->` must be exactly what a test runs.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function exampleAfter(marker: string): string {
  const start = readme.indexOf(`<!-- tested: ${marker} -->`);
  if (start < 0) throw new Error(`README has no example marked "${marker}"`);
  const block = /```\w*\n([\s\S]*?)```/.exec(readme.slice(start));
  return block?.[1] ?? '';
}

const file = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('the README examples are the tested ones', () => {
  it('for client developers: the operation and the graphql-request call', () => {
    expect(exampleAfter('examples/create-session.graphql')).toBe(file('examples/create-session.graphql'));
    expect(exampleAfter('examples/graphql-request.ts')).toBe(file('examples/graphql-request.ts'));
  });

  it('for GraphiQL: the mutation in the default tab', () => {
    expect(exampleAfter('GraphiQL default tab')).toBe(EXAMPLE_MUTATION);
  });

  it('for a supergraph: the router header configuration', () => {
    expect(exampleAfter('examples/supergraph/forward-headers.ts')).toBe(file('examples/supergraph/forward-headers.ts'));
  });

  it('opens with the install, start and test commands', () => {
    expect(readme.slice(0, 800)).toContain('npm ci && npm start');
    expect(readme.slice(0, 800)).toContain('npm test');
  });
});
