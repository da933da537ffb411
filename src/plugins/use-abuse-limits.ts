import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import {
  type GraphQLError,
  NoSchemaIntrospectionCustomRule,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { knownOperationTypes, oneSessionPerOperation } from './validation-rules.ts';

/** Document limits; generous for this small schema, tight for anything built to hurt. */
export const DOCUMENT_LIMITS = {
  maxDepth: 8,
  maxAliases: 10,
  maxDirectives: 10,
  maxTokens: 1000,
  maxCost: 1000,
} as const;

const report = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

/**
 * graphql-armor's limits as validation rules that report (rather than throw) their errors, so
 * that Yoga answers them like any invalid document: 400, nothing executed.
 */
const DOCUMENT_RULES: readonly ValidationRule[] = [
  maxDepthRule({ n: DOCUMENT_LIMITS.maxDepth, ...report }),
  maxAliasesRule({ n: DOCUMENT_LIMITS.maxAliases, ...report }),
  maxDirectivesRule({ n: DOCUMENT_LIMITS.maxDirectives, ...report }),
  costLimitRule({ maxCost: DOCUMENT_LIMITS.maxCost, ...report }),
  oneSessionPerOperation,
  knownOperationTypes,
];

/**
 * The document rules, and graphql-js's rule against introspection when it is off. The rule
 * rather than @graphql-yoga/plugin-disable-introspection, which decides per request in a hook
 * the known-operation path does not run (`onRequestParse`), and always decides the same here.
 */
export function useValidationRules({ introspection }: { introspection: boolean }): Plugin {
  const rules = introspection ? DOCUMENT_RULES : [...DOCUMENT_RULES, NoSchemaIntrospectionCustomRule];
  return {
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
  };
}

/**
 * Yoga's CSRF prevention, on POST only: a form a hostile page submits (urlencoded, multipart,
 * text/plain) needs a header it cannot set. GET is exempt, because GET never runs mutations
 * here and GraphQL over HTTP requires plain GET queries to work.
 */
export function useCsrfPreventionForPost(): Plugin {
  const csrf = useCSRFPrevention();
  return {
    onRequestParse(payload) {
      if (payload.request.method !== 'GET') return csrf.onRequestParse?.(payload);
    },
  };
}

/** Runs only the operations of the allow-list, by hash. */
export function useAllowList(operations: Readonly<Record<string, string>>): Plugin {
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
