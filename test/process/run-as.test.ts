import { expect, it } from 'vitest';
import { emulatorRunAsOf } from '../../src/chatbotkit/emulator.ts';
import { CREATE_SESSION, postGraphQL } from '../helpers/gateway.ts';
import { startServerProcess } from '../helpers/process.ts';

// The documented keys file, read by the server at start: each key's sessions are minted as its
// own sub-account user, not as CHATBOTKIT_RUNAS_USER_ID, and each access line says whose they are.
it('mints each key’s sessions as the user GATEWAY_API_KEYS_FILE binds to it, and logs name and user', async () => {
  const server = await startServerProcess({
    AUTH_MODE: 'api-key',
    GATEWAY_API_KEYS_FILE: 'examples/api-keys.json',
    CHATBOTKIT_RUNAS_USER_ID: 'user_main',
  });
  try {
    // The keys whose digests the example file holds.
    const keys = { acme: 'example-key-acme', globex: 'example-key-globex' };
    for (const [name, key] of Object.entries(keys)) {
      const { body } = await postGraphQL(
        `${server.url}/graphql`,
        CREATE_SESSION,
        { input: { conversationId: 'conv_tenant' } },
        { 'x-api-key': key, 'x-request-id': `run-as-${name}` },
      );
      expect(emulatorRunAsOf(body.data?.['createConversationSession'].token)).toBe(`user_${name}`);
    }
  } finally {
    expect(await server.stop()).toBe(0);
  }
  // Read once the server has stopped, and so written every line.
  const lines = server
    .output()
    .split('\n')
    .filter((line) => line.includes('"msg":"request"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const name of ['acme', 'globex']) {
    expect(lines.find((line) => line['requestId'] === `run-as-${name}`)).toMatchObject({
      caller: `key:${name}`,
      runAs: `user_${name}`,
    });
  }
});
