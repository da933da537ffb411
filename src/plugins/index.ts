import type { IncomingMessage } from 'node:http';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useApolloInlineTrace } from '@graphql-yoga/plugin-apollo-inline-trace';
import { GraphQLError } from 'graphql';
import { type Plugin, useReadinessCheck } from 'graphql-yoga';
import type { LimitsConfig } from '../limits/options.ts';
import { type GatewayMetrics, useMetricsEndpoint } from '../observability/metrics.ts';
import { DOCUMENT_LIMITS, useAllowList, useCsrfPreventionForPost, useValidationRules } from './use-abuse-limits.ts';
import { useDocumentCache } from './use-document-cache.ts';
import { useGraphQLJsExecutor } from './use-graphql-js-executor.ts';
import { useRequestFacts } from './use-request-facts.ts';

/*
 * The gateway's one plugin list, and where each plugin runs.
 *
 * Every request passes the HTTP edge (src/http/edge.ts), then goes to Yoga or, for POSTed JSON,
 * to the known-operation path (src/http/known-operation-path.ts). That path runs Yoga's own
 * params handling (`onParams`, `onExecutionResult`), envelop pipeline (`onParse`, `onValidate`,
 * `onContextBuilding`, `onExecute`) and result processing (`onResultProcess`), so a plugin with
 * only those hooks runs on both paths without a word here. What it skips is the HTTP layer
 * around them: `onRequest`, `onRequestParse`, `onResponse` and `instrumentation`. A plugin with
 * one of those must say, in `adapterHooks`, why the known-operation path may skip it, and which
 * requests must therefore go to Yoga; `checkPluginList` refuses to start otherwise.
 *
 * Yoga's built-in plugins of that layer (health check, CORS, GraphiQL, unhandled routes, the
 * method check, the body parsers) let a POST of a JSON object to the GraphQL path through
 * unchanged, without an Origin when CORS is on; that is all the known-operation path takes, and
 * it parses the JSON as Yoga's JSON parser does.
 */

/** One plugin, named for error messages, with what the known-operation path needs to know of it. */
export interface PluginEntry {
  name: string;
  plugin: Plugin;
  /** For a plugin with adapter-level hooks: why the known-operation path may skip them. */
  adapterHooks?: {
    why: string;
    /** The requests whose answer those hooks change, which must therefore go to Yoga. */
    sendsToYoga?: (request: IncomingMessage) => boolean;
  };
}

export interface PluginListOptions {
  limits: LimitsConfig;
  metrics: GatewayMetrics;
  readiness: () => Response;
}

export function gatewayPlugins({ limits, metrics, readiness }: PluginListOptions): PluginEntry[] {
  return [
    { name: 'graphql-js executor', plugin: useGraphQLJsExecutor() },
    { name: 'request facts', plugin: useRequestFacts() },
    {
      name: 'metrics endpoint',
      plugin: useMetricsEndpoint(metrics),
      adapterHooks: { why: 'it answers GET /metrics only' },
    },
    {
      name: 'CSRF prevention',
      plugin: useCsrfPreventionForPost(),
      adapterHooks: { why: 'it refuses only bodies a cross-site form can send, and JSON is not one of them' },
    },
    { name: 'token limit', plugin: maxTokensPlugin({ n: DOCUMENT_LIMITS.maxTokens }) as Plugin },
    { name: 'document limits', plugin: useValidationRules({ introspection: limits.introspection }) },
    ...(limits.introspection
      ? []
      : [{ name: 'no field suggestions', plugin: blockFieldSuggestionsPlugin() as Plugin }]),
    ...(limits.persistedOperations ? [{ name: 'allow-list', plugin: useAllowList(limits.persistedOperations) }] : []),
    {
      name: 'readiness',
      plugin: useReadinessCheck({ endpoint: '/readyz', check: readiness }),
      adapterHooks: { why: 'it answers GET /readyz only' },
    },
    {
      name: 'federated tracing',
      // Answers only when the router sends `apollo-federation-include-trace: ftv1`. Errors in the
      // trace keep only our own safe messages, as the response does.
      plugin: useApolloInlineTrace({
        rewriteError: (error) => new GraphQLError(error.extensions['code'] ? error.message : 'Unexpected error.'),
      }),
      adapterHooks: {
        why: 'it traces only the requests of a router that asks for a trace',
        sendsToYoga: (request) => request.headers['apollo-federation-include-trace'] !== undefined,
      },
    },
    // Last: it caches validation for the rules the plugins above have added.
    { name: 'document cache', plugin: useDocumentCache() },
  ];
}

const ADAPTER_HOOKS = ['onRequest', 'onRequestParse', 'onResponse', 'instrumentation'] as const;

/** Refuses a list in which a plugin has adapter-level hooks that its entry does not account for. */
export function checkPluginList(entries: readonly PluginEntry[]): void {
  const problems = entries.flatMap(({ name, plugin, adapterHooks }) => {
    const hooks = adapterHooksOf(plugin);
    if (hooks.length === 0 || adapterHooks) return [];
    return [
      `plugin "${name}" has ${hooks.join(', ')}, which the known-operation path does not run: ` +
        'say in its entry (src/plugins/index.ts) why it may skip them and which requests must go to Yoga',
    ];
  });
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/** The requests that some plugin's adapter-level hooks must see. */
export function requestsForYoga(entries: readonly PluginEntry[]): (request: IncomingMessage) => boolean {
  const tests = entries.flatMap((entry) => (entry.adapterHooks?.sendsToYoga ? [entry.adapterHooks.sendsToYoga] : []));
  return (request) => tests.some((sendsToYoga) => sendsToYoga(request));
}

type PluginInit = (payload: { addPlugin(plugin: Plugin): void }) => void;

/**
 * A plugin's adapter-level hooks, with those of the plugins it adds when envelop initialises it
 * (federated tracing adds its hooks that way). Calling `onPluginInit` here only collects what it
 * adds; the instances envelop uses are made when Yoga starts.
 */
function adapterHooksOf(plugin: Plugin): string[] {
  const added: Plugin[] = [];
  const init = (plugin as { onPluginInit?: PluginInit }).onPluginInit;
  init?.({ addPlugin: (child) => added.push(child) });
  const own = ADAPTER_HOOKS.filter((hook) => (plugin as Record<string, unknown>)[hook] !== undefined);
  return [...new Set([...own, ...added.flatMap(adapterHooksOf)])];
}
