import SchemaBuilder from '@pothos/core';
import DirectivePlugin from '@pothos/plugin-directives';
import ErrorsPlugin from '@pothos/plugin-errors';
import FederationPlugin from '@pothos/plugin-federation';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import type { GraphQLContext } from '../context.ts';

/** The one Pothos builder: plugins, context, auth scopes and scalar types. Types live in the domain files. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: { DateTime: { Input: Date; Output: Date | number } };
  AuthScopes: { createSessions: boolean };
}>({
  // Scope auth first, so no other plugin runs a resolver before the check; federation last,
  // so it sees resolvers after the others have wrapped them.
  plugins: [ScopeAuthPlugin, ErrorsPlugin, DirectivePlugin, FederationPlugin],
  defaultFieldNullability: false,
  errors: { defaultTypes: [] },
  scopeAuth: {
    authScopes: (context) => ({ createSessions: context.caller?.mayCreateSessions ?? false }),
    unauthorizedError: (_parent, context) => (context.caller ? forbidden() : unauthenticated()),
  },
});

function unauthenticated(): GraphQLError {
  return new GraphQLError('Authentication required: send valid credentials for this gateway.', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

function forbidden(): GraphQLError {
  return new GraphQLError('These credentials do not allow minting conversation sessions.', {
    extensions: { code: 'FORBIDDEN', http: { status: 403 } },
  });
}
