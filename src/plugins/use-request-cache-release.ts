import { RequestCache } from '@pothos/plugin-scope-auth';
import type { Plugin } from 'graphql-yoga';

/**
 * Drops Pothos scope-auth's cache of a request (its scopes and checks, which hold the request's
 * context) once the request has executed. Pothos keeps it in a module-wide WeakMap keyed by the
 * context, and V8's young-generation collector keeps the values of an old WeakMap alive whatever
 * their keys: every request in flight at one collection was copied whole into the old generation
 * at the next, long after it had ended (bench/README.md, "Measured changes").
 *
 * When the answer is encoded, execution has ended. Yoga builds each request's GraphQL context by
 * extending its server context, so that object is the cache's key. `onResultProcess` rather than
 * `onExecuteDone`: an `onExecuteDone` makes envelop wrap every execution's result (measured).
 */
export function useRequestCacheRelease(): Plugin {
  return {
    onResultProcess({ serverContext }) {
      RequestCache.clearForContext(serverContext);
    },
  };
}
