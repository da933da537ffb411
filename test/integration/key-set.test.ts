import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JwtAuthConfig } from '../../src/auth/options.ts';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { loadConfig } from '../../src/config.ts';
import { accessLine, CREATE_SESSION, postGraphQL, type TestGateway, withGateway } from '../helpers/gateway.ts';
import { type ScriptedUpstream, startScriptedUpstream, type UpstreamReply } from '../helpers/upstream.ts';

// The issuer's key-set endpoint is a scripted upstream: a real server whose answer each test
// switches between the keys, a 500 and a hang.
const ISSUER = 'https://issuer.example';
const AUDIENCE = 'session-gateway';
const FAILING: UpstreamReply = { status: 500, body: 'key server down' };

let emulator: RunningEmulator;
let privateKey: CryptoKey;
let jwk: JWK;
let keySet: ScriptedUpstream;
beforeAll(async () => {
  emulator = await startEmulator();
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
});
afterAll(() => emulator.close());
afterEach(() => keySet?.close());

const KEYS: UpstreamReply = { status: 200, body: { keys: [] } };
const serveKeys = (): UpstreamReply => ({ ...KEYS, body: { keys: [jwk] } });

/** JWT auth as loadConfig makes it for this key set, with the given ages. */
function jwtAuth(overrides: Partial<JwtAuthConfig>): JwtAuthConfig {
  const { auth } = loadConfig({
    AUTH_MODE: 'jwt',
    JWT_JWKS_URL: `${keySet.url}/.well-known/jwks.json`,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
  });
  return { ...(auth as JwtAuthConfig), ...overrides };
}

const token = () =>
  new SignJWT({ scope: 'conversation-session:create' })
    .setProtectedHeader({ alg: 'ES256', kid: 'key-1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('user-1')
    .setExpirationTime('5m')
    .sign(privateKey);

let requestCount = 0;
async function create(gateway: TestGateway, bearer: string) {
  const requestId = `key-set-${++requestCount}`;
  const response = await postGraphQL(
    gateway.url,
    CREATE_SESSION,
    { input: { conversationId: 'conv_keys' } },
    { authorization: `Bearer ${bearer}`, 'x-request-id': requestId },
  );
  return { ...response, requestId, result: response.body.data?.['createConversationSession']?.__typename };
}

const warnings = (gateway: TestGateway) => gateway.logs.filter((line) => line.includes('key set fetch failed'));

describe('while the key set cannot be fetched and nothing is cached', () => {
  it.each<[string, UpstreamReply]>([
    ['answers 500', FAILING],
    ['hangs', 'hang'],
    ['answers 200 with a page that is no key set', { status: 200, body: '<html>maintenance</html>' }],
  ])('when it %s, 200 requests make a handful of fetches, each refused UNAUTHENTICATED', async (_name, reply) => {
    keySet = await startScriptedUpstream(reply);
    await withGateway(emulator.url, { config: { auth: jwtAuth({ jwksTimeoutMs: 200 }) } }, async (gateway) => {
      const bearer = await token();
      for (let batch = 0; batch < 10; batch++) {
        const answers = await Promise.all(Array.from({ length: 20 }, () => create(gateway, bearer)));
        for (const answer of answers) {
          expect(answer.status).toBe(401);
          expect(answer.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
        }
      }
      expect(keySet.requests.length).toBeGreaterThanOrEqual(1);
      expect(keySet.requests.length).toBeLessThanOrEqual(5);
      const last = await create(gateway, bearer);
      expect((await accessLine(gateway, last.requestId))['authFailure']).toBe('key set unavailable');
      // One warning per failed fetch, not one per request.
      expect(warnings(gateway).length).toBeGreaterThanOrEqual(1);
      expect(warnings(gateway).length).toBeLessThanOrEqual(keySet.requests.length);

      // Once the endpoint answers again, the next fetch after the backoff lets tokens through.
      keySet.reply(serveKeys());
      let result: string | undefined;
      for (let tries = 0; tries < 100 && result !== 'ConversationSession'; tries++) {
        result = (await create(gateway, bearer)).result;
        if (result !== 'ConversationSession') await sleep(100);
      }
      expect(result).toBe('ConversationSession');
    });
  });
});

describe('when the key set cannot be fetched after a good fetch', () => {
  it('verifies tokens with the last good key set past its max age, within the stale bound, and says so', async () => {
    keySet = await startScriptedUpstream(serveKeys());
    const auth = jwtAuth({ jwksMaxAgeSeconds: 1, jwksMaxStaleSeconds: 3 });
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      const bearer = await token();
      expect((await create(gateway, bearer)).result).toBe('ConversationSession');
      const fetchedBy = Date.now();
      expect(keySet.requests).toHaveLength(1);

      keySet.reply(FAILING);
      await sleep(fetchedBy + 1_200 - Date.now());
      // Past the max age: a refresh is tried, fails, and the last good set still verifies.
      for (let i = 0; i < 5; i++) expect((await create(gateway, bearer)).result).toBe('ConversationSession');
      expect(keySet.requests.length).toBeGreaterThanOrEqual(2);
      expect(warnings(gateway).join('')).toContain('verifying tokens with the last good key set until');

      // Past max age + stale bound: refused, as with no key set at all.
      await sleep(fetchedBy + 4_200 - Date.now());
      const refused = await create(gateway, bearer);
      expect(refused.status).toBe(401);
      expect(refused.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
      expect((await accessLine(gateway, refused.requestId))['authFailure']).toBe('key set unavailable');
    });
  });
});
