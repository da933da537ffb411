import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { sendNodeResponse } from '@whatwg-node/server';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { NodeHandler } from './edge.ts';
import { EncodedResponse } from './encoded-response.ts';
import { recordOf } from './request-record.ts';
import { createYogaPipeline, type NodeServerContext } from './yoga-pipeline.ts';

/*
 * The known-operation path: a POST of a JSON object to the GraphQL path (in practice the
 * `createConversationSession` mutation this service exists for) is answered by Yoga's own params
 * handling, envelop pipeline and result processing (src/http/yoga-pipeline.ts), without the
 * Fetch-API adapter and the HTTP-layer hooks around them (`onRequest`, `onRequestParse`,
 * `onResponse`), where profiling (bench/README.md) put a large part of Yoga's cost per request.
 * Because the pipeline is Yoga's, every plugin of the list applies here too; src/plugins/index.ts
 * says which HTTP-layer hooks this path skips and why. Anything else goes to Yoga whole.
 */

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

export function createKnownOperationPath<TContext extends object>(
  options: KnownOperationPathOptions<TContext>,
): NodeHandler {
  const { yoga, logger } = options;
  const { respond } = createYogaPipeline(yoga);
  const toYoga: NodeHandler = (request, response) => void yoga(request, response);
  const waitUntil = (promise: Promise<void> | void) =>
    void promise?.catch((error: unknown) => logger.error({ err: error }, 'unexpected error'));

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
    // A JSON answer is an EncodedResponse (src/http/yoga-pipeline.ts).
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
