import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * `npm run codegen`: TypeScript types and typed documents for the operations in examples/, and
 * `possibleTypes` for Apollo Client's cache (which types belong to each union and interface).
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: 'examples/**/*.graphql',
  generates: {
    'examples/generated/graphql.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTime: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
    'examples/generated/possible-types.ts': {
      plugins: ['fragment-matcher'],
      // `3` is the format of Apollo Client 3 and 4; sorted, so that the drift test is stable.
      config: { apolloClientVersion: 3, useExplicitTyping: true, deterministic: true },
    },
  },
};

export default config;
