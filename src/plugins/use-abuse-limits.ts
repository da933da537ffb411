import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { GraphQLError, ValidationContext, ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { LimitsConfig } from '../limits/options.ts';
import { knownOperationTypes, oneSessionPerOperation } from './validation-rules.ts';

/** Document limits; generous for this small schema, tight for anything built to hurt. */
export const DOCUMENT_LIMITS = {
  maxDepth: 8,
  maxAliases: 10,
  maxDirectives: 10,
  maxTokens: 1000,
  maxCost: 1000,
} as const;

/** Everything that keeps a hostile request cheap: size, shape and cost limits, CSRF, introspection. */
export function abuseLimitPlugins(limits: LimitsConfig): Plugin[] {
  return [
    useBodySizeLimit(limits.maxBodyBytes),
    useCsrfPreventionForPost(),
    maxTokensPlugin({ n: DOCUMENT_LIMITS.maxTokens }),
    useValidationRules(),
    ...(limits.introspection ? [] : [useDisableIntrospection(), blockFieldSuggestionsPlugin()]),
    ...(limits.persistedOperations ? [useAllowList(limits.persistedOperations)] : []),
  ] as Plugin[];
}

const report = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

/**
 * graphql-armor's limits as validation rules that report (rather than throw) their errors, so
 * that Yoga answers them like any invalid document: 400, nothing executed. The known-operation
 * path validates with the same list.
 */
export const DOCUMENT_RULES: readonly ValidationRule[] = [
  maxDepthRule({ n: DOCUMENT_LIMITS.maxDepth, ...report }),
  maxAliasesRule({ n: DOCUMENT_LIMITS.maxAliases, ...report }),
  maxDirectivesRule({ n: DOCUMENT_LIMITS.maxDirectives, ...report }),
  costLimitRule({ maxCost: DOCUMENT_LIMITS.maxCost, ...report }),
  oneSessionPerOperation,
  knownOperationTypes,
];

function useValidationRules(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      for (const rule of DOCUMENT_RULES) addValidationRule(rule);
    },
  };
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
      notFound: {
        message: 'This operation is not on the allow-list.',
        extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' },
      },
      persistedQueryOnly: {
        message: 'Only allow-listed operations run here: send its hash, not a document.',
        extensions: { code: 'PERSISTED_QUERY_ONLY' },
      },
    },
  }) as Plugin;
}
