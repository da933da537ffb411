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
import { useFederationFields } from './use-federation-fields.ts';
import { useGraphQLJsExecutor } from './use-graphql-js-executor.ts';
import { useRequestCacheRelease } from './use-request-cache-release.ts';
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
    { name: 'federation fields', plugin: useFederationFields(limits) as Plugin },
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
    { name: 'document cache', plugin: useDocumentCache() },
    { name: 'request cache release', plugin: useRequestCacheRelease() },
  ];
}

const ADAPTER_HOOKS = ['onRequest', 'onRequestParse', 'onResponse', 'instrumentation'] as const;

/**
 * The list as Yoga takes it, and the check to run once Yoga has initialised it: each plugin
 * records the plugins it adds while envelop initialises it (federated tracing adds its hooks
 * that way), so that the check sees those too.
 */
export function preparePlugins(entries: readonly PluginEntry[]): { plugins: Plugin[]; check(): void } {
  const added = new Map<PluginEntry, Plugin[]>();
  const plugins = entries.map((entry) =>
    recordingAdditions(entry.plugin, (child) => added.set(entry, [...(added.get(entry) ?? []), child])),
  );
  return { plugins, check: () => checkPluginList(entries, added) };
}

/** Refuses a list in which a plugin has adapter-level hooks that its entry does not account for. */
function checkPluginList(entries: readonly PluginEntry[], added: ReadonlyMap<PluginEntry, Plugin[]>): void {
  const problems = entries.flatMap((entry) => {
    const hooks = [entry.plugin, ...(added.get(entry) ?? [])].flatMap(adapterHooksOf);
    if (hooks.length === 0 || entry.adapterHooks) return [];
    return [
      `plugin "${entry.name}" has ${[...new Set(hooks)].join(', ')}, which the known-operation path does not run: ` +
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

function adapterHooksOf(plugin: Plugin): string[] {
  return ADAPTER_HOOKS.filter((hook) => (plugin as Record<string, unknown>)[hook] !== undefined);
}

/** The plugin, telling `record` of each plugin it adds when envelop initialises it, at any depth. */
function recordingAdditions(plugin: Plugin, record: (child: Plugin) => void): Plugin {
  const { onPluginInit } = plugin;
  if (!onPluginInit) return plugin;
  return {
    ...plugin,
    onPluginInit: (payload) =>
      onPluginInit.call(plugin, {
        ...payload,
        addPlugin: (child) => {
          record(child);
          payload.addPlugin(recordingAdditions(child, record));
        },
      }),
  };
}
