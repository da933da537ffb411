import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { Plugin } from 'graphql-yoga';
import type { LimitsConfig } from '../config.ts';
import { useOneSessionPerOperation } from './use-one-session-per-operation.ts';

/** Document limits; generous for this small schema, tight for anything built to hurt. */
export const DOCUMENT_LIMITS = { maxDepth: 8, maxAliases: 10, maxDirectives: 10, maxTokens: 1000, maxCost: 1000 } as const;

/** Everything that keeps a hostile request cheap: size, shape and cost limits, CSRF, introspection. */
export function abuseLimitPlugins(limits: LimitsConfig): Plugin[] {
  return [
    useBodySizeLimit(limits.maxBodyBytes),
    useCsrfPreventionForPost(),
    maxTokensPlugin({ n: DOCUMENT_LIMITS.maxTokens }),
    maxDepthPlugin({ n: DOCUMENT_LIMITS.maxDepth }),
    maxAliasesPlugin({ n: DOCUMENT_LIMITS.maxAliases }),
    maxDirectivesPlugin({ n: DOCUMENT_LIMITS.maxDirectives }),
    costLimitPlugin({ maxCost: DOCUMENT_LIMITS.maxCost }),
    useOneSessionPerOperation(),
    ...(limits.introspection ? [] : [useDisableIntrospection(), blockFieldSuggestionsPlugin()]),
    ...(limits.persistedOperations ? [useAllowList(limits.persistedOperations)] : []),
  ] as Plugin[];
}

/**
 * Refuses bodies over the limit before they are read: by Content-Length, and POSTs without
 * one (a chunked body of unknown size). Yoga has no body limit of its own.
 */
function useBodySizeLimit(maxBytes: number): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'POST') return;
      const length = request.headers.get('content-length');
      if (length === null) {
        endResponse(new fetchAPI.Response('A Content-Length header is required.', { status: 411 }));
      } else if (!/^\d+$/.test(length) || Number(length) > maxBytes) {
        endResponse(new fetchAPI.Response(`Request bodies are limited to ${maxBytes} bytes.`, { status: 413 }));
      }
    },
  };
}

/**
 * Yoga's CSRF prevention, on POST only: a form a hostile page submits (urlencoded, multipart,
 * text/plain) needs a header it cannot set. GET is exempt, because GET never runs mutations
 * here and GraphQL over HTTP requires plain GET queries to work.
 */
function useCsrfPreventionForPost(): Plugin {
  const csrf = useCSRFPrevention();
  return {
    onRequestParse(payload) {
      if (payload.request.method !== 'GET') return csrf.onRequestParse?.(payload);
    },
  };
}

/** Runs only the operations of the allow-list, by hash. */
function useAllowList(operations: Readonly<Record<string, string>>): Plugin {
  return usePersistedOperations({
    getPersistedOperation: (hash) => (Object.hasOwn(operations, hash) ? (operations[hash] ?? null) : null),
    allowArbitraryOperations: false,
    customErrors: {
      notFound: { message: 'This operation is not on the allow-list.', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } },
      persistedQueryOnly: { message: 'Only allow-listed operations run here: send its hash, not a document.', extensions: { code: 'PERSISTED_QUERY_ONLY' } },
    },
  }) as Plugin;
}
