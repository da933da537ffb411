import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { normalizedExecutor } from '@graphql-tools/executor';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  getVariableValues,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  parse,
  specifiedRules,
  type ValidationRule,
  validate,
} from 'graphql';
import { type FetchAPI, maskError, processRegularResult } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { HeaderReader } from './auth/authenticate.ts';
import type { GraphQLContext } from './context.ts';
import type { LimitsConfig } from './limits/options.ts';
import type { GatewayMetrics } from './observability/metrics.ts';
import { callerTraceContext, inOperationSpan } from './observability/tracing.ts';
import { DOCUMENT_RULES } from './plugins/use-abuse-limits.ts';
import type { RequestLog, RequestRecord } from './plugins/use-request-log.ts';

/*
 * The known-operation path: a POST of a mutation (in practice `createConversationSession`, the
 * request this service exists for) is answered without Yoga's Fetch-API adapter and envelop
 * plugin chain. Hand-written because profiling (bench/README.md) put most of the gateway's cost
 * per request in that per-request machinery rather than in GraphQL itself, and no maintained
 * part shortcuts it without changing Yoga's answers (@envelop/graphql-jit did).
 *
 * It takes only requests it answers as Yoga would (test/known-operations.test.ts compares the
 * two), and hands every other one to Yoga untouched. Both use the same schema, validation rules, context, error masking and result
 * encoding (Yoga's own `maskError` and `processRegularResult`), request log, metrics and spans;
 * the executor is graphql-js's (see `run`).
 */

export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface KnownOperationPathOptions {
  schema: GraphQLSchema;
  graphqlPath: string;
  limits: Pick<LimitsConfig, 'maxBodyBytes' | 'introspection' | 'persistedOperations'>;
  /** With CORS on, requests that carry an Origin go to Yoga, which writes the CORS headers. */
  corsEnabled: boolean;
  requestLog: RequestLog;
  metrics: Pick<GatewayMetrics, 'knownOperationAnswered'>;
  /** The context Yoga's requests get too. */
  contextFor(headers: HeaderReader, clientAddress: string, record: RequestRecord): Promise<GraphQLContext>;
  logger: Logger;
}

interface OperationRequest {
  document: DocumentNode;
  definition: OperationDefinitionNode;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
}

// Far below graphql-armor's token limit, so that no document near it is judged differently here.
const MAX_TOKENS = 200;
// A known operation is a few hundred bytes; larger bodies go to Yoga unread.
const MAX_BODY_BYTES = 16 * 1024;
// Documents remembered, by the total length of their texts (each at most MAX_BODY_BYTES).
const MAX_CACHED_TEXT_BYTES = 4 * 1024 * 1024;
const PARAMETERS = new Set(['query', 'operationName', 'variables', 'extensions']);

/** Wraps Yoga's node handler: known operations are answered here, everything else by `yoga`. */
export function createKnownOperationPath(options: KnownOperationPathOptions, yoga: NodeHandler): NodeHandler {
  const documents = createDocumentCache(options);
  const { requestLog } = options;

  const answer = async (
    request: IncomingMessage,
    response: ServerResponse,
    mediaType: string,
    body: Buffer,
  ): Promise<void> => {
    const operation = operationRequestOf(body, options.limits.persistedOperations, documents);
    if (!operation) {
      // Yoga reads a body a node framework has already read from `request.body`; as a stream,
      // because it would enumerate a Buffer's keys, one string per byte.
      yoga(Object.assign(request, { body: Readable.from([body]) }), response);
      return;
    }
    const record = requestLog.newRecord(headerOf(request.headers, 'x-request-id'));
    requestLog.started(record);
    options.metrics.knownOperationAnswered();
    const result = await inOperationSpan(
      callerTraceContext(request.headers),
      (traceId) => (record.traceId = traceId),
      () => record,
      () => executeOperation(operation, record, request),
    );
    let status = 500;
    try {
      const encoded = encode(result, mediaType);
      status = encoded.status;
      response.writeHead(status, {
        ...encoded.headers,
        'content-length': Buffer.byteLength(encoded.body),
        'x-request-id': record.requestId,
      });
      response.end(encoded.body);
    } catch (error) {
      options.logger.error({ err: error }, 'unexpected error');
      response.destroy();
    } finally {
      requestLog.ended(record, 'POST', options.graphqlPath, status);
    }
  };

  const executeOperation = async (
    operation: OperationRequest,
    record: RequestRecord,
    request: IncomingMessage,
  ): Promise<ExecutionResult> => {
    requestLog.operationStarted(record, operation.document, operation.operationName);
    let result: ExecutionResult;
    try {
      const contextValue = await options.contextFor(
        headerReaderOf(request.headers),
        request.socket.remoteAddress ?? 'unknown',
        record,
      );
      result = await run(operation, {
        schema: options.schema,
        document: operation.document,
        operationName: operation.operationName,
        variableValues: operation.variables,
        contextValue,
      });
    } catch (error) {
      options.logger.error({ err: error }, 'unexpected error');
      result = { errors: [masked(error)] };
    }
    if (result.errors) result = { ...result, errors: result.errors.map(masked) };
    requestLog.operationEnded(record, result.errors);
    return result;
  };

  return (request, response) => {
    const length = eligibleLength(request, options);
    const mediaType = length === undefined ? undefined : responseMediaType(request.headers.accept);
    if (length === undefined || mediaType === undefined) {
      yoga(request, response);
      return;
    }
    readBody(request, length)
      .then(
        (body) => answer(request, response, mediaType, body),
        () => response.destroy(),
      )
      .catch((error: unknown) => {
        options.logger.error({ err: error }, 'unexpected error');
        response.destroy();
      });
  };
}

/**
 * The body's length when only the body can still send the request elsewhere: a POST of JSON to
 * the GraphQL path, with a length within the limit, and none of what Yoga's plugins answer from
 * the headers (CORS, federated traces).
 */
function eligibleLength(request: IncomingMessage, options: KnownOperationPathOptions): number | undefined {
  const { headers } = request;
  if (request.method !== 'POST' || request.url !== options.graphqlPath) return undefined;
  if (!isJsonContentType(headers['content-type'])) return undefined;
  if (headers['transfer-encoding'] !== undefined || headers['apollo-federation-include-trace'] !== undefined)
    return undefined;
  if (options.corsEnabled && headers.origin !== undefined) return undefined;
  const length = headers['content-length'];
  if (length === undefined || !/^\d{1,9}$/.test(length)) return undefined;
  const bytes = Number(length);
  return bytes > 0 && bytes <= Math.min(MAX_BODY_BYTES, options.limits.maxBodyBytes) ? bytes : undefined;
}

/** Yoga's test for a JSON body (`isContentTypeMatch`): exactly `application/json`, parameters aside, case and all. */
function isJsonContentType(contentType: string | undefined): boolean {
  const type = contentType?.split(',')[0];
  return type === 'application/json' || type?.startsWith('application/json;') === true;
}

/**
 * The media type Yoga answers a single result with (its `getMediaTypesForRequestInOrder` and
 * result processors): the first acceptable entry that JSON satisfies, in UTF-8; a wildcard
 * gets `application/json`. Undefined sends the request to Yoga (which may answer 406).
 */
export function responseMediaType(accept: string | undefined): string | undefined {
  let mediaType = mediaTypes.get(accept);
  if (mediaType === undefined && !mediaTypes.has(accept)) {
    // Clients send a handful of distinct Accept headers; a flood of odd ones only resets the memo.
    if (mediaTypes.size >= 100) mediaTypes.clear();
    mediaType = mediaTypeFor(accept);
    mediaTypes.set(accept, mediaType);
  }
  return mediaType;
}

const mediaTypes = new Map<string | undefined, string | undefined>();

const JSON_MEDIA_TYPES = ['application/graphql-response+json', 'application/json'];

function mediaTypeFor(accept: string | undefined): string | undefined {
  for (const entry of (accept ?? '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const [mediaType = '', ...parameters] = entry.split(';');
    if ((parameters.find((parameter) => parameter.includes('charset=')) ?? 'charset=utf-8') !== 'charset=utf-8')
      continue;
    // Yoga takes the last of its types that the entry matches.
    const matched = JSON_MEDIA_TYPES.filter((type) => matchesMediaType(mediaType, type)).at(-1);
    if (matched) return matched;
  }
  return undefined;
}

/** Yoga's `isMatchingMediaType`: `*` in the accepted type matches any part. */
function matchesMediaType(accepted: string, type: string): boolean {
  const [acceptedType, acceptedSubtype] = accepted.split('/');
  const [mainType, subtype] = type.split('/');
  return (
    (acceptedType === '*' || acceptedType === mainType) && (acceptedSubtype === '*' || acceptedSubtype === subtype)
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

/** The operation a body asks for, when it is a well-formed request for a known mutation. */
function operationRequestOf(
  body: Buffer,
  persistedOperations: Readonly<Record<string, string>> | undefined,
  documents: (text: string) => DocumentNode | undefined,
): OperationRequest | undefined {
  let parameters: unknown;
  try {
    parameters = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isPlainObject(parameters) || Object.keys(parameters).some((key) => !PARAMETERS.has(key))) return undefined;
  const { operationName, variables } = parameters;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  if (variables != null && !isPlainObject(variables)) return undefined;
  const text = persistedOperations
    ? persistedText(parameters, persistedOperations)
    : parameters['extensions'] === undefined
      ? parameters['query']
      : undefined;
  const document = typeof text === 'string' ? documents(text) : undefined;
  // Which operation runs is Yoga's to refuse when the name matches none (or none is named in a document of several).
  const definition = document && getOperationAST(document, operationName ?? undefined);
  if (!document || !definition) return undefined;
  return { document, definition, operationName: operationName ?? undefined, variables: variables ?? undefined };
}

/** The allow-listed text a hash names, as @graphql-yoga/plugin-persisted-operations finds it. */
function persistedText(
  parameters: Record<string, unknown>,
  operations: Readonly<Record<string, string>>,
): string | undefined {
  if (parameters['query'] !== undefined) return undefined;
  const persistedQuery = (
    parameters['extensions'] as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined
  )?.persistedQuery;
  const hash = persistedQuery?.version === 1 ? persistedQuery.sha256Hash : undefined;
  return typeof hash === 'string' && Object.hasOwn(operations, hash) ? operations[hash] : undefined;
}

/**
 * Parsed and validated documents by text, with the rules Yoga applies (graphql's, our limits,
 * no introspection when it is off). Only documents whose every operation is a valid mutation
 * qualify; the others are remembered as not qualifying, so neither is parsed twice.
 */
function createDocumentCache(options: KnownOperationPathOptions): (text: string) => DocumentNode | undefined {
  const cache = new LRUCache<string, DocumentNode | false>({
    max: 1000,
    maxSize: MAX_CACHED_TEXT_BYTES,
    sizeCalculation: (_document, text) => Math.max(1, text.length),
  });
  const rules: ValidationRule[] = [
    ...specifiedRules,
    ...DOCUMENT_RULES,
    ...(options.limits.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];

  const prepare = (text: string): DocumentNode | false => {
    let document: DocumentNode;
    try {
      document = parse(text, { maxTokens: MAX_TOKENS });
    } catch {
      return false;
    }
    const onlyMutations = document.definitions.every(
      (definition) => definition.kind !== 'OperationDefinition' || definition.operation === 'mutation',
    );
    return onlyMutations && validate(options.schema, document, rules).length === 0 ? document : false;
  };

  return (text) => {
    let document = cache.get(text);
    if (document === undefined) {
      document = prepare(text);
      cache.set(text, document);
    }
    return document || undefined;
  };
}

/**
 * graphql-js's executor, which costs less per request than Yoga's (@graphql-tools/executor) and
 * answers the same for these documents; Yoga's when the variables do not coerce, whose errors
 * carry the 400 status Yoga answers them with.
 */
async function run(operation: OperationRequest, args: ExecutionArgs): Promise<ExecutionResult> {
  const { errors } = getVariableValues(
    args.schema,
    operation.definition.variableDefinitions ?? [],
    operation.variables ?? {},
  );
  return errors ? ((await normalizedExecutor(args)) as ExecutionResult) : execute(args);
}

/**
 * Stands in for the Fetch API's Response in Yoga's `processRegularResult`, which builds its
 * answer as `new fetchAPI.Response(body, { status, headers })` with a string body and a plain
 * headers object; this keeps what it is given.
 */
class EncodedResult {
  readonly body: string;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(body: string, init: { status: number; headers: Record<string, string> }) {
    this.body = body;
    this.status = init.status;
    this.headers = init.headers;
  }
}

const ENCODING_API = { Response: EncodedResult } as unknown as FetchAPI;

/** Yoga's answer for a result: status (from the errors' `http` extensions), headers and body. */
function encode(result: ExecutionResult, mediaType: string): EncodedResult {
  return processRegularResult(result, ENCODING_API, mediaType) as unknown as EncodedResult;
}

/** As Yoga's `maskedErrors: { isDev: false }`: our own GraphQL errors as they are, anything else as `Unexpected error.` */
function masked(error: unknown): GraphQLError {
  // Yoga's maskError returns GraphQL errors, though it is typed to return Error.
  return maskError(error, 'Unexpected error.', false) as GraphQLError;
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

function headerReaderOf(headers: IncomingHttpHeaders): HeaderReader {
  return { get: (name) => headerOf(headers, name.toLowerCase()) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
