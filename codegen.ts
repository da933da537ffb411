import type { CodegenConfig } from '@graphql-codegen/cli';

/** `npm run codegen`: TypeScript types and typed documents for the operations in examples/. */
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
  },
};

export default config;
