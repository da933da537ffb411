import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CombinedGraphQLErrors } from '@apollo/client';
import { generate } from '@graphql-codegen/cli';
import { parse } from 'graphql';
import { ClientError } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApolloClient, createSessionWithApolloClient } from '../../examples/apollo-client.ts';
import { createSessionWithGraphQLRequest } from '../../examples/graphql-request.ts';
import { createSessionWithUrql } from '../../examples/urql.ts';
import { EXAMPLE_MUTATION } from '../../src/app.ts';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { type ScriptedUpstream, startScriptedUpstream } from '../helpers/upstream.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('GraphQL clients over HTTP', () => {
  let emulator: RunningEmulator;
  let gateway: TestGateway;
  let failing: ScriptedUpstream;
  let failingGateway: TestGateway;

  beforeAll(async () => {
    emulator = await startEmulator();
    gateway = await startGateway(emulator.url);
    failing = await startScriptedUpstream({ status: 503, body: 'down for maintenance' });
    failingGateway = await startGateway(failing.url);
  });
  afterAll(async () => {
    await gateway.close();
    await failingGateway.close();
    await emulator.close();
    await failing.close();
  });

  const clients = [
    ['graphql-request', createSessionWithGraphQLRequest],
    ['@urql/core', createSessionWithUrql],
    // Through its normalized cache (InMemoryCache), which needs the generated possibleTypes.
    ['@apollo/client', createSessionWithApolloClient],
  ] as const;

  describe.each(clients)('%s', (_name, createSession) => {
    it('sends variables and gets a session back', async () => {
      const result = await createSession(gateway.url, 'conv_client');
      expect(result).toMatchObject({
        __typename: 'ConversationSession',
        conversationId: 'conv_client',
        token: expect.any(String),
      });
      if (result.__typename !== 'ConversationSession') throw new Error('unreachable');
      const expiresIn = Date.parse(result.expiresAt) - Date.now();
      expect(expiresIn).toBeGreaterThan(590_000);
      expect(expiresIn).toBeLessThanOrEqual(600_000);
    });

    it('gets an expected failure as data', async () => {
      expect(await createSession(gateway.url, 'unknown_conv')).toEqual({
        __typename: 'ConversationNotFoundError',
        code: 'CONVERSATION_NOT_FOUND',
        message: 'No conversation "unknown_conv" exists for this account.',
      });
      expect(await createSession(gateway.url, 'bad id!')).toMatchObject({
        __typename: 'InvalidInputError',
        code: 'INVALID_INPUT',
        message: expect.stringContaining('input.conversationId'),
        field: 'input.conversationId',
      });
    });
  });

  it('graphql-request throws a ClientError carrying the GraphQL error code', async () => {
    const error = await createSessionWithGraphQLRequest(failingGateway.url, 'conv_1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).response.errors?.[0]).toMatchObject({
      message: 'ChatBotKit is unavailable.',
      extensions: { code: 'UPSTREAM_UNAVAILABLE' },
    });
  });

  it("Apollo Client's cache keeps code and message of the README's mutation for an unknown conversation", async () => {
    const mutation = parse(EXAMPLE_MUTATION.replace('"conv_example"', '"unknown_1"'));
    const { data } = await createApolloClient(gateway.url).mutate({ mutation });
    expect(data).toEqual({
      createConversationSession: {
        __typename: 'ConversationNotFoundError',
        code: 'CONVERSATION_NOT_FOUND',
        message: 'No conversation "unknown_1" exists for this account.',
      },
    });
  });

  it('Apollo Client rejects with CombinedGraphQLErrors carrying the GraphQL error code', async () => {
    const error = await createSessionWithApolloClient(failingGateway.url, 'conv_1').catch((e: unknown) => e);
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors[0]).toMatchObject({ extensions: { code: 'UPSTREAM_UNAVAILABLE' } });
  });

  it('urql reports a CombinedError carrying the GraphQL error code', async () => {
    const error = await createSessionWithUrql(failingGateway.url, 'conv_1').catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'CombinedError',
      graphQLErrors: [expect.objectContaining({ extensions: { code: 'UPSTREAM_UNAVAILABLE' } })],
    });
  });
});

describe('typed operations (npm run codegen)', () => {
  it('examples/generated/ is what codegen produces from the committed schema', async () => {
    const config = (await import('../../codegen.ts')).default;
    const outputs: { filename: string; content: string }[] = await generate(
      { cwd: root, ...config, silent: true },
      false,
    );
    expect(outputs.map((output) => output.filename).sort()).toEqual([
      'examples/generated/graphql.ts',
      'examples/generated/possible-types.ts',
    ]);
    for (const { filename, content } of outputs) expect(readFileSync(join(root, filename), 'utf8')).toBe(content);
  });

  it('type-checks correct client calls and rejects wrong ones', async () => {
    const tsc = fileURLToPath(new URL('../../node_modules/.bin/tsc', import.meta.url));
    const run = promisify(execFile)(tsc, ['-p', 'test/fixtures/tsconfig.typed-client.json'], { cwd: root });
    await expect(run).resolves.toMatchObject({ stdout: '' });
  });
});
