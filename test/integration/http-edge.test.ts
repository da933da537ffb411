import { connect } from 'node:net';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { useErrorHandler } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { accessLine, CREATE_SESSION, type GatewayPair, startGatewayPair, withGateway } from '../helpers/gateway.ts';

/*
 * The HTTP edge (src/http/edge.ts) and what a reviewer found around it: every request, on
 * either path, gets the same treatment of malformed hosts, refused bodies, status lines and
 * callers that go away, and the plugin list applies whatever a plugin does at start.
 */

let emulator: RunningEmulator;
let pair: GatewayPair;
beforeAll(async () => {
  emulator = await startEmulator();
  pair = await startGatewayPair(emulator.url, { config: { limits: { maxBodyBytes: 4096 } } });
});
afterAll(async () => {
  await pair.close();
  await emulator.close();
});

// Collected before the gateways start, so each names its gateway by a function.
const GATEWAYS = [
  ['the known-operation path', () => pair.known],
  ['Yoga', () => pair.yogaOnly],
] as const;

/** Sends raw HTTP/1.1 and returns everything the server wrote until it closed the connection. */
function rawExchange(url: string, request: string, { closeAfterMs }: { closeAfterMs?: number } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    if (closeAfterMs !== undefined) setTimeout(() => socket.destroy(), closeAfterMs);
  });
}

const mutationBody = JSON.stringify({ query: CREATE_SESSION, variables: { input: { conversationId: 'conv_edge' } } });

function post(host: string, body: string, extra = ''): string {
  return (
    `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`
  );
}

describe('the HTTP edge', () => {
  it.each(GATEWAYS)(
    'answers a Host that makes no URL with a plain 400, no stack, through %s',
    async (_path, gatewayOf) => {
      const gateway = gatewayOf();
      for (const request of [
        post('a b', mutationBody),
        'GET /healthz HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n',
      ]) {
        const answer = await rawExchange(gateway.url, request);
        expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
        expect(answer).toContain('The Host header is not a valid host.');
        expect(answer).not.toMatch(/TypeError|node_modules|at /);
      }
    },
  );

  it.each(GATEWAYS)('writes the standard reason phrase in the status line, through %s', async (_path, gatewayOf) => {
    const gateway = gatewayOf();
    const answer = await rawExchange(gateway.url, post('127.0.0.1', mutationBody));
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toContain('"__typename":"ConversationSession"');
  });

  it.each(GATEWAYS)(
    'closes the connection after refusing a body, so it is never read, through %s',
    async (_path, gatewayOf) => {
      const gateway = gatewayOf();
      const body = JSON.stringify({ query: `${CREATE_SESSION}${' '.repeat(5000)}` });
      // A second request pipelined behind the refused body must not be served.
      const answer = await rawExchange(
        gateway.url,
        `${post('127.0.0.1', body).replace('Connection: close\r\n', '')}${post('127.0.0.1', mutationBody)}`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
      expect(answer.toLowerCase()).toContain('connection: close');
      expect(answer.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    },
  );

  it.each(GATEWAYS)(
    'logs a caller who leaves mid-body as an aborted request, not an error, through %s',
    async (_path, gatewayOf) => {
      const gateway = gatewayOf();
      const logged = gateway.logs.length;
      const partial = post('127.0.0.1', mutationBody, 'X-Request-Id: edge-gone-mid-body\r\n').slice(0, -20);
      await rawExchange(gateway.url, partial, { closeAfterMs: 50 });
      expect(await accessLine(gateway, 'edge-gone-mid-body')).toMatchObject({ aborted: true });
      expect(gateway.logs.slice(logged).join('')).not.toMatch(/"level":50|unexpected error/);
    },
  );
});

describe('the access line', () => {
  it('carries the error code of an answer refused before execution, on both paths', async () => {
    const limits = { maxBodyBytes: 4096, persistedOperations: { abc: CREATE_SESSION } };
    const allowList = await startGatewayPair(emulator.url, { config: { limits } });
    try {
      for (const gateway of [allowList.known, allowList.yogaOnly]) {
        const requestId = `edge-allow-list-${gateway === allowList.known ? 'known' : 'yoga'}`;
        const response = await fetch(gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': requestId },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        expect(response.ok).toBe(true);
        expect(await accessLine(gateway, requestId)).toMatchObject({ errorCodes: ['PERSISTED_QUERY_ONLY'] });
      }
    } finally {
      await allowList.close();
    }
  });
});

describe('the plugin list, whatever a plugin does at start', () => {
  it('runs a plugin that registers a context error handler when envelop initialises it', async () => {
    const seen: unknown[] = [];
    const plugin = useErrorHandler(({ errors }) => seen.push(...errors)) as Plugin;
    await withGateway(emulator.url, { plugins: [{ name: 'error handler', plugin }] }, async (gateway) => {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ nope }' }),
      });
      expect(response.status).toBe(200);
      expect(seen).toHaveLength(1);
    });
  });

  it('caches validation per set of rules, also of plugins after the cache that add rules per request', async () => {
    const adminOnlyIntrospection: Plugin = {
      onValidate({ addValidationRule, context }) {
        const { request } = context as { request: Request };
        if (request.headers.get('x-admin') !== '1') addValidationRule(NoSchemaIntrospectionCustomRule);
      },
    };
    const introspect = (gateway: { url: string }, admin: boolean) =>
      fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(admin && { 'x-admin': '1' }) },
        body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
      }).then(async (response) => (await response.json()) as { data?: unknown; errors?: unknown[] });
    const options = { plugins: [{ name: 'admin-only introspection', plugin: adminOnlyIntrospection }] };
    await withGateway(emulator.url, options, async (gateway) => {
      const refused = (answer: { data?: unknown; errors?: unknown[] }) =>
        answer.data === undefined && JSON.stringify(answer.errors).includes('introspection');
      expect(refused(await introspect(gateway, false))).toBe(true);
      expect((await introspect(gateway, true)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      expect(refused(await introspect(gateway, false))).toBe(true);
    });
  });
});
