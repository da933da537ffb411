import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CREATE_SESSION, postGraphQL } from '../helpers/gateway.ts';
import { runServer, startServerProcess } from '../helpers/process.ts';
import { sessionForRoute, startScriptedUpstream } from '../helpers/upstream.ts';

describe('npm start and its configuration', () => {
  it('makes the process exit 1 with one clear line and no stack when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    const server = runServer({ PORT: String(port) });
    expect(await server.exited).toBe(1);
    const [line, ...others] = server
      .output()
      .split('\n')
      .filter((text) => text.includes('"level":60'));
    expect(others).toEqual([]);
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      address: '127.0.0.1',
      port,
      code: 'EADDRINUSE',
      msg:
        `cannot listen on 127.0.0.1:${port}: the port is already in use; stop what listens there, ` +
        'or set PORT (or --port) to a free port',
    });
    expect(server.output()).not.toContain('"stack"');
    blocker.close();
  });

  it('refuses a CHATBOTKIT_SECRET that cannot be sent as a header, in one line that never shows it', async () => {
    const secret = 'sk-4c2f9a7e1b03\nd58e6f1a';
    const server = runServer({
      CHATBOTKIT_SECRET: secret,
      AUTH_MODE: 'api-key',
      GATEWAY_API_KEY_HASHES: 'a'.repeat(64),
    });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain(
      'CHATBOTKIT_SECRET must be printable ASCII without spaces, as it is sent in the Authorization header, and ' +
        'has a line break at position 16: set the secret exactly as it was issued, on one line\n',
    );
    for (const part of secret.split('\n')) expect(server.output()).not.toContain(part);
    expect(server.output()).not.toMatch(/^\s+at /m);
  });

  it('makes the process print each problem and exit with code 1', async () => {
    const server = runServer({ PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('PORT must be a whole number');
    expect(server.output()).toContain('LOG_LEVEL must be one of');
    expect(server.output()).toContain('--help lists every variable');
  });

  it('makes the process refuse production without a secret', async () => {
    const server = runServer({ NODE_ENV: 'production' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('refusing to serve sessions from the local emulator');
  });

  it('refuses a base URL with an unusable path: one line with the value and the fix, exit 1, no stack', async () => {
    const server = runServer({ AUTH_MODE: 'none', CHATBOTKIT_API_URL: 'http://127.0.0.1:9/api' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain(
      `CHATBOTKIT_API_URL must be the API's origin or end in /v1, where the gateway appends ` +
        '/conversation/{id}/session/create (got "http://127.0.0.1:9/api"): set it to http://127.0.0.1:9/api/v1\n',
    );
    expect(server.output()).not.toMatch(/^\s+at /m);
  });

  it('mints sessions from an API mounted under the /api/v1 its base URL ends in', async () => {
    const upstream = await startScriptedUpstream();
    upstream.reply(sessionForRoute('tok_prefixed', '/cbk/api/v1'));
    const server = await startServerProcess({ AUTH_MODE: 'none', CHATBOTKIT_API_URL: `${upstream.url}/cbk/api/v1` });
    try {
      const { body } = await postGraphQL(`${server.url}/graphql`, CREATE_SESSION, { input: { conversationId: 'c1' } });
      expect(body.data?.['createConversationSession']).toMatchObject({
        __typename: 'ConversationSession',
        token: 'tok_prefixed',
      });
      expect(upstream.requests.map((request) => request.url)).toEqual(['/cbk/api/v1/conversation/c1/session/create']);
    } finally {
      await server.stop();
      await upstream.close();
    }
  });

  it('starts with only UPSTREAM_TIMEOUT_MS=2000 set: the connect timeout is derived from it', async () => {
    const server = await startServerProcess({ UPSTREAM_TIMEOUT_MS: '2000' });
    expect(await server.stop()).toBe(0);
    expect(server.output()).not.toContain('UPSTREAM_CONNECT_TIMEOUT_MS');
  });

  it('warns once on stdout about an unknown NODE_ENV, and answers introspection as outside production', async () => {
    const server = await startServerProcess({ NODE_ENV: 'prod' });
    try {
      const introspection = await postGraphQL(`${server.url}/graphql`, '{ __schema { queryType { name } } }');
      expect(introspection.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const warnings = server
        .output()
        .match(/^\{"level":40,.*NODE_ENV=prod is not one of production, development, test.*$/gm);
      expect(warnings).toHaveLength(1);
      expect(warnings?.[0]).toContain('GraphiQL and introspection are on');
    } finally {
      await server.stop();
    }
  });

  it('prints usage and every variable with its default for --help, and exits 0 without starting', async () => {
    // A broken setting must not stand between an operator and the help that fixes it.
    const server = runServer({ PORT: 'eighty' }, ['--help']);
    expect(await server.exited).toBe(0);
    const output = server.output();
    expect(output).toMatch(/^Usage: npm start \[-- --help \| --version \| --port N\]$/m);
    expect(output).toMatch(/^AUTH_MODE +one of: jwt, api-key, passthrough, none; default none with the emulator/m);
    expect(output).toMatch(/^MAX_BODY_BYTES +whole number: 1024 to 65536; default 65536$/m);
    expect(output).not.toContain('gateway listening');
    expect(output).not.toContain('invalid configuration');
  });
});
