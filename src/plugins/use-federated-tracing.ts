import type { IncomingMessage } from 'node:http';
import { useApolloInlineTrace } from '@graphql-yoga/plugin-apollo-inline-trace';
import {
  defaultFieldResolver,
  GraphQLError,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  isObjectType,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isKnownOperation } from '../http/request-record.ts';

/*
 * Yoga's federated tracing (ftv1), which answers only when a router sends
 * `apollo-federation-include-trace: ftv1`. To time fields it wraps every resolver
 * (@envelop/on-resolve), and each call through that wrapper builds a payload and closures, about
 * 4% of a request's allocation (bench/README.md), traced or not. A request is traced only from
 * Yoga's `onRequest` hook, which the known-operation path does not run (src/plugins/index.ts):
 * there the wrapper can only pass through, so those requests call the resolver it wraps directly.
 * No option of the plugin does this; hence the wrapping here.
 */
export function useFederatedTracing(): Plugin {
  return unwrappedOnKnownOperations(
    useApolloInlineTrace({
      // Errors in the trace keep only our own safe messages, as the response does.
      rewriteError: (error) => new GraphQLError(error.extensions['code'] ? error.message : 'Unexpected error.'),
    }),
  );
}

/**
 * The plugin, and every plugin it adds, with the resolvers their schema hooks wrap bypassed on
 * the known-operation path.
 */
function unwrappedOnKnownOperations(plugin: Plugin): Plugin {
  const { onPluginInit, onSchemaChange } = plugin;
  return {
    ...plugin,
    ...(onPluginInit && {
      onPluginInit: (payload) =>
        onPluginInit.call(plugin, {
          ...payload,
          addPlugin: (child) => payload.addPlugin(unwrappedOnKnownOperations(child)),
        }),
    }),
    ...(onSchemaChange && {
      onSchemaChange: (payload) => {
        const before = new Map(fieldsOf(payload.schema).map((field) => [field, field.resolve]));
        onSchemaChange.call(plugin, payload);
        for (const [field, resolve] of before) {
          const wrapped = field.resolve;
          if (wrapped === resolve || !wrapped) continue;
          const unwrapped: GraphQLFieldResolver<unknown, unknown> = resolve ?? defaultFieldResolver;
          field.resolve = (source, args, context, info) =>
            (isKnownOperation((context as { req?: IncomingMessage }).req) ? unwrapped : wrapped)(
              source,
              args,
              context,
              info,
            );
        }
      },
    }),
  };
}

function fieldsOf(schema: GraphQLSchema): GraphQLField<unknown, unknown>[] {
  return Object.values(schema.getTypeMap()).flatMap((type) =>
    isObjectType(type) ? Object.values(type.getFields()) : [],
  );
}
