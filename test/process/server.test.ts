import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { createLogger } from '../../src/logger.ts';
import { CREATE_SESSION, postGraphQL, startGateway, type TestGateway, withGateway } from '../helpers/gateway.ts';
import { startServerProcess } from '../helpers/process.ts';
import { sessionBody, startScriptedUpstream } from '../helpers/upstream.ts';

describe('npm start with nothing configured', () => {
  it('serves the mutation from the embedded emulator and says so loudly', async () => {
    const server = await startServerProcess();
    try {
      const { body } = await postGraphQL(`${server.url}/graphql`, CREATE_SESSION, {
        input: { conversationId: 'conv_demo', durationInSeconds: 60 },
      });
      expect(body.data?.['createConversationSession']).toMatchObject({
        __typename: 'ConversationSession',
        conversationId: 'conv_demo',
      });
      const service = await postGraphQL(`${server.url}/graphql`, '{ sessionGateway { upstream } }');
      expect(service.body.data).toEqual({ sessionGateway: { upstream: 'EMULATOR' } });
      expect(server.output()).toMatch(/"level":40,.*NOT TALKING TO CHATBOTKIT/);
      expect(server.output()).toContain('"url":"http://127.0.0.1:');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('HTTP endpoints', () => {
  let emulator: RunningEmulator;
  let gateway: TestGateway;

  beforeAll(async () => {
    emulator = await startEmulator();
    gateway = await startGateway(emulator.url);
  });
  afterAll(async () => {
    await gateway.close();
    await emulator.close();
  });

  it('serves GraphiQL to a browser with every asset inline and the example mutation ready', async () => {
    const response = await fetch(gateway.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('<title>ChatBotKit session gateway</title>');
    expect(html).toContain('mutation CreateSession');
    // Nothing may be loaded from another origin: no CDN scripts, styles, fonts or imports.
    const external = [
      /(?:src|href)\s*=\s*["']https?:\/\/[^"']+/g,
      /url\(\s*["']?https?:\/\/[^)]+/g,
      /(?:import|fetch|Worker|importScripts)\(\s*["'`]https?:\/\/[^"'`]+/g,
      /@import\s+["']https?:/g,
    ].flatMap((pattern) => html.match(pattern) ?? []);
    expect(external).toEqual([]);
  });

  it('answers GET queries but refuses GET mutations', async () => {
    const query = await fetch(`${gateway.url}?query=${encodeURIComponent('{ sessionGateway { version } }')}`);
    expect(await query.json()).toEqual({ data: { sessionGateway: { version: 'test' } } });
    const document = 'mutation { createConversationSession(input: {conversationId: "c"}) { __typename } }';
    const mutation = await fetch(`${gateway.url}?query=${encodeURIComponent(document)}`, {
      headers: { accept: 'application/json' },
    });
    expect(mutation.status).toBe(405);
  });

  it('answers /healthz with 200', async () => {
    const response = await fetch(new URL('/healthz', gateway.url));
    expect(response.status).toBe(200);
  });

  it('answers /readyz with 200 while the upstream pool is open, 503 once it is closed', async () => {
    expect((await fetch(new URL('/readyz', gateway.url))).status).toBe(200);
    const other = await startGateway(emulator.url);
    await other.client.close();
    expect((await fetch(new URL('/readyz', other.url))).status).toBe(503);
    await other.close();
  });
});

describe('request logs', () => {
  const SECRET = 'sk-never-in-logs-91c2';

  it('log one line per request: id, operation, upstream status, duration; never the secret or a token', async () => {
    const emulator = await startEmulator({ secret: SECRET });
    const gateway = await startGateway(emulator.url, { secret: SECRET });
    const broken = await startScriptedUpstream({
      status: 500,
      body: { message: `echo ${SECRET}`, code: 'INTERNAL_SERVER_ERROR' },
    });
    const brokenGateway = await startGateway(broken.url, { secret: SECRET });
    try {
      const { body } = await postGraphQL(
        gateway.url,
        CREATE_SESSION,
        { input: { conversationId: 'conv_log' } },
        { 'x-request-id': 'log-test-1' },
      );
      const token: string = body.data?.['createConversationSession'].token;
      await postGraphQL(brokenGateway.url, CREATE_SESSION, { input: { conversationId: 'conv_log' } });

      const lines = gateway.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
      const requestLines = lines.filter((line) => line['msg'] === 'request' && line['requestId'] === 'log-test-1');
      expect(requestLines).toHaveLength(1);
      expect(requestLines[0]).toMatchObject({
        operationName: 'CreateSession',
        upstreamStatus: 200,
        status: 200,
        path: '/graphql',
        method: 'POST',
      });
      expect(requestLines[0]?.['durationMs']).toEqual(expect.any(Number));
      expect(requestLines[0]?.['upstreamMs']).toEqual(expect.any(Number));

      const brokenLines = brokenGateway.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(brokenLines.find((line) => line['msg'] === 'request')).toMatchObject({
        upstreamStatus: 500,
        errorCodes: ['UPSTREAM_UNAVAILABLE'],
      });

      const everything = [...gateway.logs, ...brokenGateway.logs].join('');
      expect(everything).not.toContain(token);
      expect(everything).not.toContain(SECRET.slice(3));
    } finally {
      await gateway.close();
      await brokenGateway.close();
      await emulator.close();
      await broken.close();
    }
  });
});

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'finishes a request in flight on %s, closes its connection and the pool, then exits 0',
    async (signal) => {
      const upstream = await startScriptedUpstream({
        status: 200,
        body: sessionBody('conv_slow', 'tok_slow'),
        delayMs: 1_000,
      });
      const server = await startServerProcess({ CHATBOTKIT_API_URL: upstream.url, AUTH_MODE: 'none' });
      try {
        const inFlight = postGraphQL(`${server.url}/graphql`, CREATE_SESSION, {
          input: { conversationId: 'conv_slow' },
        });
        await expect.poll(() => upstream.requests.length).toBe(1);
        server.child.kill(signal);
        const { body, headers } = await inFlight;
        expect(body.data?.['createConversationSession']).toMatchObject({ token: 'tok_slow' });
        expect(headers.get('connection')).toBe('close');
        expect(await server.exited).toBe(0);
        expect(server.output()).toContain('draining');
        expect(server.output()).toMatch(/"upstreamPoolOpen":false,"msg":"stopped"/);
        await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
      } finally {
        server.child.kill('SIGKILL');
        await upstream.close();
      }
    },
  );

  it('answers requests still running at SHUTDOWN_TIMEOUT_MS 503 SHUTTING_DOWN, logs that, and exits 0', async () => {
    const upstream = await startScriptedUpstream('hang');
    const server = await startServerProcess({
      CHATBOTKIT_API_URL: upstream.url,
      AUTH_MODE: 'none',
      SHUTDOWN_TIMEOUT_MS: '300',
      UPSTREAM_TIMEOUT_MS: '60000',
    });
    try {
      const inFlight = postGraphQL(
        `${server.url}/graphql`,
        CREATE_SESSION,
        { input: { conversationId: 'conv_hang' } },
        { 'x-request-id': 'drain-cut-1' },
      );
      await expect.poll(() => upstream.requests.length).toBe(1);
      server.child.kill('SIGTERM');
      const { status, body, headers } = await inFlight;
      expect(status).toBe(503);
      expect(headers.get('connection')).toBe('close');
      expect(body.errors?.map((error) => error.extensions?.['code'])).toEqual(['SHUTTING_DOWN']);
      expect(await server.exited).toBe(0);
      // The access line says what the client got, and that the upstream call ended (cancelled) first.
      const line = server
        .output()
        .split('\n')
        .find((entry) => entry.includes('"requestId":"drain-cut-1"') && entry.includes('"msg":"request"'));
      expect(JSON.parse(line ?? '{}')).toMatchObject({
        status: 503,
        errorCodes: ['SHUTTING_DOWN'],
        upstreamAttempts: 1,
      });
      expect(line).not.toContain('"aborted"');
    } finally {
      server.child.kill('SIGKILL');
      await upstream.close();
    }
  });
});

describe('the drain deadline, for a request waiting on something else than ChatBotKit', () => {
  it('answers a request whose body has not arrived 503 SHUTTING_DOWN too, and logs that', async () => {
    const server = await startServerProcess({ SHUTDOWN_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '60000' });
    try {
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk;
      });
      const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
      // With Expect: 100-continue, node says when the request has reached the gateway's handler.
      socket.write(
        'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100\r\nExpect: 100-continue\r\nx-request-id: drain-body-1\r\n\r\n',
      );
      await expect.poll(() => received).toContain('100 Continue');
      socket.write('{"query":');
      server.child.kill('SIGTERM');
      expect(await answer).toMatch(/\r\n\r\nHTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*"code":"SHUTTING_DOWN"/);
      expect(await server.exited).toBe(0);
      expect(server.output()).toMatch(/"requestId":"drain-body-1".*"status":503.*"errorCodes":\["SHUTTING_DOWN"\]/);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

describe('CORS', () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });

  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  it('allows no other origin by default', async () => {
    await withGateway(emulator.url, {}, async (gateway) => {
      const response = await preflight(gateway.url, 'https://evil.example');
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      const post = await postGraphQL(
        gateway.url,
        '{ sessionGateway { version } }',
        {},
        { origin: 'https://evil.example' },
      );
      expect(post.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  it('allows the listed origins, without credentials', async () => {
    await withGateway(emulator.url, { config: { corsOrigins: ['https://app.example'] } }, async (gateway) => {
      const allowed = await preflight(gateway.url, 'https://app.example');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
      const other = await preflight(gateway.url, 'https://evil.example');
      expect(other.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
    });
  });
});

describe('the logger', () => {
  it('redacts tokens and secrets nested in logged objects', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { destination: { write: (line: string) => void lines.push(line) } });
    logger.info(
      { result: { session: { token: 'tok-nested-1' } }, upstream: { secret: 'sk-nested-2' }, token: 'tok-top-3' },
      'x',
    );
    expect(lines.join('')).not.toMatch(/tok-nested-1|sk-nested-2|tok-top-3/);
    expect(lines.join('')).toContain('[redacted]');
  });

  it('scrubs a secret also in the form a JSON line escapes it to', () => {
    const secret = 'jwt "shared" secret \\ with quotes';
    const lines: string[] = [];
    const logger = createLogger('info', {
      scrub: [secret],
      destination: { write: (line: string) => void lines.push(line) },
    });
    logger.warn({ detail: `the issuer answered: ${secret}` }, 'x');
    expect(lines.join('')).toContain('"detail":"the issuer answered: [redacted]"');
  });
});

describe('graceful shutdown under load', () => {
  it('answers every request it accepted, while refusing new connections', async () => {
    const upstream = await startScriptedUpstream({
      status: 200,
      body: sessionBody('conv_load', 'tok_load'),
      delayMs: 500,
    });
    const server = await startServerProcess({ CHATBOTKIT_API_URL: upstream.url, AUTH_MODE: 'none' });
    const mint = () => postGraphQL(`${server.url}/graphql`, CREATE_SESSION, { input: { conversationId: 'conv_load' } });
    try {
      const accepted = Array.from({ length: 40 }, mint);
      await expect.poll(() => upstream.requests.length, { timeout: 10_000 }).toBe(40);
      server.child.kill('SIGTERM');
      // Requests sent after SIGTERM may be refused, but none may be cut off half way.
      const late = await Promise.allSettled(Array.from({ length: 10 }, mint));

      const answers = await Promise.all(accepted);
      expect(answers.map((answer) => answer.body.data?.['createConversationSession'].token)).toEqual(
        Array(40).fill('tok_load'),
      );
      for (const outcome of late) {
        if (outcome.status === 'fulfilled')
          expect(outcome.value.body.data?.['createConversationSession'].token).toBe('tok_load');
        else expect(String((outcome.reason as Error).cause)).toMatch(/ECONNREFUSED|ECONNRESET|other side closed/);
      }
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
      await upstream.close();
    }
  });
});
