import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ExecutionResult, GraphQLError } from 'graphql';
import {
  createGraphQLError,
  type GraphQLParams,
  type Plugin,
  type YogaInitialContext,
  type YogaMaskedErrorOpts,
  type YogaServerInstance,
} from 'graphql-yoga';
import { encodingFetchAPI } from './encoded-response.ts';

/*
 * Yoga's GraphQL pipeline for parsed params, as the known-operation path runs it: Yoga's params
 * handling (`onParams`, its params handler with the envelop pipeline, `onExecutionResult`) and
 * result processing (`onResultProcess`), with the hooks of Yoga's final plugin list in Yoga's
 * order. Yoga exports neither step as a function that skips its promise helpers, which build a
 * promise-like object and closures for every hook (bench/README.md, "Measured changes"); here,
 * plain loops wait only for a hook that returns a promise.
 */

/** What Yoga's node adapter gives each request as its server context. */
export type NodeServerContext = { req: IncomingMessage; res: ServerResponse };

type ServerContext = NodeServerContext & { waitUntil(promise: Promise<void> | void): void };
type ResultProcessor = Parameters<Parameters<NonNullable<Plugin['onResultProcess']>>[0]['setResultProcessor']>[0];

export function createYogaPipeline<TContext extends object>(yoga: YogaServerInstance<NodeServerContext, TContext>) {
  // Yoga's final plugin list (its own and ours, as envelop initialised them), typed protected.
  const { plugins } = yoga as unknown as { plugins: Plugin<object, NodeServerContext>[] };
  const paramsHooks = plugins.flatMap((plugin) => (plugin.onParams ? [plugin.onParams] : []));
  const executionResultHooks = plugins.flatMap((plugin) =>
    plugin.onExecutionResult ? [plugin.onExecutionResult] : [],
  );
  const resultProcessHooks = plugins.flatMap((plugin) => (plugin.onResultProcess ? [plugin.onResultProcess] : []));
  // Yoga's masking options, typed private; the app always masks (`maskedErrors` in src/app.ts).
  const { maskedErrorsOpts: maskedErrors } = yoga as unknown as { maskedErrorsOpts: YogaMaskedErrorOpts };
  // Built with it, a JSON answer is an EncodedResponse, which the caller writes in one go.
  const encodingAPI = encodingFetchAPI(yoga.fetchAPI);

  /**
   * Yoga's answer for parsed params: its params handling and envelop pipeline, then its result
   * processing; as in Yoga's request handler, an error in either is answered through the result
   * processing with the errors Yoga's `handleError` makes of it.
   */
  const respond = async (request: Request, params: GraphQLParams, serverContext: ServerContext) => {
    try {
      return await processResult(request, await resultForParams(request, params, serverContext), serverContext);
    } catch (error) {
      return processResult(request, { errors: errorsOf(error) }, serverContext);
    }
  };

  /**
   * Yoga's `getResultForParams` (graphql-yoga/src/server.ts): the `onParams` hooks, which may
   * replace the params, the handler or the result; Yoga's params handler (its envelop pipeline);
   * then the `onExecutionResult` hooks. Like `processResult` below, it waits only for a hook that
   * returns a promise, where Yoga's chains a promise-like object and closures through every hook
   * (measured: bench/README.md, "Measured changes").
   */
  const resultForParams = async (request: Request, initial: GraphQLParams, serverContext: ServerContext) => {
    // Yoga's params handler makes it the GraphQL context, adding `request` and `params`.
    const context = serverContext as ServerContext & YogaInitialContext;
    let params = initial;
    let paramsHandler = yoga.handleParams;
    let resultFromHook: unknown;
    for (const hook of paramsHooks) {
      const running: unknown = hook({
        params,
        request,
        setParams: (next) => {
          params = next;
        },
        paramsHandler,
        setParamsHandler: (next) => {
          paramsHandler = next;
        },
        setResult: (next) => {
          resultFromHook = next;
        },
        fetchAPI: yoga.fetchAPI,
        context,
      });
      if (isThenable(running)) await running;
    }
    let result = (resultFromHook || (await paramsHandler({ request, params, context }))) as ExecutionResult;
    for (const hook of executionResultHooks) {
      const running: unknown = hook({
        result,
        setResult: (next) => {
          result = next as ExecutionResult;
        },
        request,
        context,
      });
      if (isThenable(running)) await running;
    }
    return result;
  };

  /**
   * Yoga's `processResult` (graphql-yoga/src/process-request.ts), which the package does not
   * export: the `onResultProcess` hooks choose the media type and encoder, or 406. Like Yoga's
   * (`iterateAsync`), it waits only for a hook that returns a promise: none of Yoga's does.
   */
  const processResult = (request: Request, initial: ExecutionResult, serverContext: ServerContext) => {
    let result = initial;
    let processor: ResultProcessor | undefined;
    let mediaType = '*/*';
    const acceptableMediaTypes: string[] = [];
    const setResult = (next: unknown): void => {
      result = next as ExecutionResult;
    };
    const setResultProcessor = (next: ResultProcessor, accepted: string): void => {
      processor = next;
      mediaType = accepted;
    };
    const runFrom = (first: number): Response | Promise<Response> => {
      for (let index = first; index < resultProcessHooks.length; index++) {
        const running: unknown = resultProcessHooks[index]!({
          request,
          acceptableMediaTypes,
          result,
          setResult,
          ...(processor && { resultProcessor: processor }),
          setResultProcessor,
          serverContext,
        });
        if (isThenable(running)) return Promise.resolve(running).then(() => runFrom(index + 1));
      }
      if (!processor) {
        const accept = acceptableMediaTypes.join('; charset=utf-8, ');
        return new encodingAPI.Response(null, { status: 406, statusText: 'Not Acceptable', headers: { accept } });
      }
      return processor(result, encodingAPI, mediaType);
    };
    return runFrom(0);
  };

  /**
   * Yoga's `handleError` (graphql-yoga/src/error.ts, not exported), with Yoga's own masking
   * options: an aggregate error's errors one by one, nothing for an abort, every other error
   * masked unless it is one of ours, and logged when it was.
   */
  const errorsOf = (error: unknown): GraphQLError[] => {
    if (error !== null && typeof error === 'object' && 'errors' in error && Array.isArray(error.errors))
      return [...new Set(error.errors.flatMap(errorsOf))];
    if (isAbortError(error)) {
      yoga.logger.debug('Request aborted');
      return [];
    }
    const maskedError = maskedErrors.maskError(error, maskedErrors.errorMessage, maskedErrors.isDev);
    if (maskedError !== error) yoga.logger.error(error);
    return [
      maskedError instanceof GraphQLError
        ? maskedError
        : createGraphQLError(maskedError.message, { originalError: maskedError }),
    ];
  };

  return { respond };
}

/** Yoga's `isAbortError`: how fetch and AbortSignal say a request was cancelled. */
function isAbortError(error: unknown): boolean {
  const candidate = error as { constructor?: { name?: string }; name?: unknown } | null;
  return (
    typeof error === 'object' &&
    candidate?.constructor?.name === 'DOMException' &&
    (candidate.name === 'AbortError' || candidate.name === 'TimeoutError')
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
