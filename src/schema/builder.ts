import SchemaBuilder from '@pothos/core';
import DirectivePlugin from '@pothos/plugin-directives';
import ErrorsPlugin from '@pothos/plugin-errors';
import FederationPlugin from '@pothos/plugin-federation';
import type { GraphQLContext } from '../context.ts';

/** The one Pothos builder: plugins, context and scalar types. Types live in the domain files. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: { DateTime: { Input: Date; Output: Date | number } };
}>({
  // Federation goes last: it must see resolvers after other plugins have wrapped them.
  plugins: [ErrorsPlugin, DirectivePlugin, FederationPlugin],
  defaultFieldNullability: false,
  errors: { defaultTypes: [] },
});
