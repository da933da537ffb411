import { RequestCache } from '@pothos/plugin-scope-auth';
import type { Plugin } from 'graphql-yoga';

/**
 * Drops Pothos scope-auth's cache of a request (its scopes and checks, which hold the request's
 * context) as soon as the request has executed. Pothos keeps it in a module-wide WeakMap keyed
 * by the context, and V8's young-generation collector keeps the values of an old WeakMap alive
 * whatever their keys: every request in flight at one collection was copied whole into the old
 * generation at the next, long after it had ended (bench/README.md, "Measured changes").
 */
export function useRequestCacheRelease(): Plugin {
  return {
    onExecute({ args }) {
      return { onExecuteDone: () => RequestCache.clearForContext(args.contextValue) };
    },
  };
}
