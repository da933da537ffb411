import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { sendNodeResponse } from '@whatwg-node/server';
import type { ExecutionResult, GraphQLError } from 'graphql';
import {
  type GraphQLParams,
  maskError,
  type Plugin,
  type YogaInitialContext,
  type YogaServerInstance,
} from 'graphql-yoga';
import type { Logger } from 'pino';
import type { NodeHandler } from './edge.ts';
import { EncodedResponse, encodingFetchAPI } from './encoded-response.ts';
import { recordOf } from './request-record.ts';

/*
 * The known-operation path: a POST of a JSON object to the GraphQL path (in practice the
 * `createConversationSession` mutation this service exists for) is answered by Yoga's own params
 * handling, envelop pipeline and result processing, called directly, without the Fetch-API
 * adapter and the HTTP-layer hooks around them (`onRequest`, `onRequestParse`, `onResponse`),
 * where profiling (bench/README.md) put a large part of Yoga's cost per request. Because the
 * pipeline is Yoga's, every plugin of the list applies here too; src/plugins/index.ts says which
 * HTTP-layer hooks this path skips and why. Anything else goes to Yoga whole.
 */

/** What Yoga's node adapter gives each request as its server context. */
export type NodeServerContext = { req: IncomingMessage; res: ServerResponse };

export interface KnownOperationPathOptions<TContext extends object> {
  yoga: YogaServerInstance<NodeServerContext, TContext>;
  graphqlPath: string;
  /** With CORS on, requests that carry an Origin go to Yoga, whose CORS plugin answers them. */
  corsEnabled: boolean;
  /** Requests that a plugin's adapter-level hooks must see (src/plugins/index.ts). */
  sendsToYoga: (request: IncomingMessage) => boolean;
  logger: Logger;
}

// A known operation is a few hundred bytes; larger bodies go to Yoga unread.
const MAX_BODY_BYTES = 16 * 1024;

type ServerContext = NodeServerContext & { waitUntil(promise: Promise<void> | void): void };
type ResultProcessor = Parameters<Parameters<NonNullable<Plugin['onResultProcess']>>[0]['setResultProcessor']>[0];

export function createKnownOperationPath<TContext extends object>(
  options: KnownOperationPathOptions<TContext>,
): NodeHandler {
  const { yoga, logger } = options;
  // Yoga's final plugin list (its own and ours, as envelop initialised them), typed protected.
  const { plugins } = yoga as unknown as { plugins: Plugin<object, NodeServerContext>[] };
  const paramsHooks = plugins.flatMap((plugin) => (plugin.onParams ? [plugin.onParams] : []));
  const executionResultHooks = plugins.flatMap((plugin) =>
    plugin.onExecutionResult ? [plugin.onExecutionResult] : [],
  );
  const resultProcessHooks = plugins.flatMap((plugin) => (plugin.onResultProcess ? [plugin.onResultProcess] : []));
  const encodingAPI = encodingFetchAPI(yoga.fetchAPI);
  const toYoga: NodeHandler = (request, response) => void yoga(request, response);
  const waitUntil = (promise: Promise<void> | void) =>
    void promise?.catch((error: unknown) => logger.error({ err: error }, 'unexpected error'));

  /** Yoga's answer for parsed params: its params handling and envelop pipeline, then its result processing. */
  const respond = async (request: Request, params: GraphQLParams, serverContext: ServerContext) => {
    let result: ExecutionResult;
    try {
      result = await resultForParams(request, params, serverContext);
    } catch (error) {
      result = { errors: [masked(error)] };
    }
    return processResult(request, result, serverContext);
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
    let early: unknown;
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
          early = next;
        },
        fetchAPI: yoga.fetchAPI,
        context,
      });
      if (isThenable(running)) await running;
    }
    let result = (early || (await paramsHandler({ request, params, context }))) as ExecutionResult;
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

  /** As Yoga's `handleError` with `maskedErrors: { isDev: false }`: our GraphQL errors as they are, others masked. */
  const masked = (error: unknown) => {
    const maskedError = maskError(error, 'Unexpected error.', false);
    if (maskedError !== error) yoga.logger.error(error);
    return maskedError as GraphQLError;
  };

  const answer = async (request: IncomingMessage, response: ServerResponse, body: Buffer): Promise<void> => {
    const params = paramsOf(body);
    if (!params) {
      // Yoga reads a body that a node framework has already read from `request.body`; as a
      // stream, because it would enumerate a Buffer's keys, one string per byte.
      toYoga(Object.assign(request, { body: Readable.from([body]) }), response);
      return;
    }
    recordOf(request).knownOperation = true;
    const url = `http://${request.headers.host ?? 'localhost'}${request.url}`;
    const fetchRequest = new yoga.fetchAPI.Request(url, { method: 'POST', headers: request.headers as HeadersInit });
    // Built with `encodingAPI`, a JSON answer is an EncodedResponse.
    const answered: Response | EncodedResponse = await respond(fetchRequest, params, {
      req: request,
      res: response,
      waitUntil,
    });
    // The drain deadline may have answered it meanwhile (src/http/serve.ts).
    if (response.headersSent) return;
    if (answered instanceof EncodedResponse) {
      const { body, status, statusText, headers } = answered as EncodedResponse;
      const contentLength = Buffer.byteLength(body ?? '');
      // Without a reason phrase of Yoga's, node writes the standard one, as Yoga's adapter does.
      response.writeHead(status, statusText || undefined, { ...headers, 'content-length': contentLength }).end(body);
    } else {
      await sendNodeResponse(answered, response, request, true);
    }
  };

  return (request, response) => {
    const length = eligibleLength(request, options);
    if (length === undefined || options.sendsToYoga(request)) {
      toYoga(request, response);
      return;
    }
    readBody(request, length).then(
      (body) =>
        answer(request, response, body).catch((error: unknown) => {
          logger.error({ err: error }, 'unexpected error');
          response.destroy();
        }),
      // The caller went away before sending the whole body: nothing to answer, nothing to log.
      () => response.destroy(),
    );
  };
}

/**
 * The body's length when the request is what Yoga's adapter-level hooks let through unchanged:
 * a POST of JSON to the GraphQL path (Yoga's own content-type test), with a length the edge has
 * already bounded, and no Origin for Yoga's CORS plugin to answer.
 */
function eligibleLength(
  request: IncomingMessage,
  options: Pick<KnownOperationPathOptions<object>, 'graphqlPath' | 'corsEnabled'>,
): number | undefined {
  const { headers } = request;
  if (request.method !== 'POST' || request.url !== options.graphqlPath) return undefined;
  if (!isJsonContentType(headers['content-type'])) return undefined;
  if (headers['transfer-encoding'] !== undefined) return undefined;
  if (options.corsEnabled && headers.origin !== undefined) return undefined;
  const bytes = Number(headers['content-length']);
  return bytes > 0 && bytes <= MAX_BODY_BYTES ? bytes : undefined;
}

/** Yoga's `isPOSTJsonRequest`: the first listed type, parameters aside, exactly as sent. */
function isJsonContentType(contentType: string | undefined): boolean {
  const type = contentType?.split(',')[0];
  return ['application/json', 'application/graphql+json'].some(
    (json) => type === json || type?.startsWith(`${json};`) === true,
  );
}

function readBody(request: IncomingMessage, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)));
    request.once('error', reject);
  });
}

/** The body as GraphQL params, when it is a non-empty JSON object; Yoga answers anything else itself. */
function paramsOf(body: Buffer): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return Object.keys(parsed).length > 0 ? (parsed as Record<string, unknown>) : undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
