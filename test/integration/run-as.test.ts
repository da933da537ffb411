import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorRunAsOf, type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { accessLine, CREATE_SESSION, postGraphQL, type TestGateway, withGateway } from '../helpers/gateway.ts';

// Platforms with one ChatBotKit sub-account per customer: each caller's sessions must be minted
// as that caller's own sub-account user, however many callers are in flight at once.
const JWT_SECRET = 'development-only-hs256-secret-0123456789';
const ISSUER = 'https://issuer.example';
const AUDIENCE = 'session-gateway';
const MAIN_ACCOUNT_USER = 'user_main';
const CALLERS = 40;

let emulator: RunningEmulator;
beforeAll(async () => {
  // A little latency keeps every caller's call in flight at once.
  emulator = await startEmulator({ latencyMs: 20 });
});
afterAll(() => emulator.close());

/** The gateway's config from these variables, as the server loads it. */
function gatewayConfig(env: Record<string, string>): Pick<Config, 'auth' | 'runAsUserId'> {
  const { auth, runAsUserId } = loadConfig({ CHATBOTKIT_RUNAS_USER_ID: MAIN_ACCOUNT_USER, ...env });
  return { auth, runAsUserId };
}

async function create(gateway: TestGateway, requestId: string, headers: Record<string, string>) {
  const response = await postGraphQL(
    gateway.url,
    CREATE_SESSION,
    { input: { conversationId: 'conv_tenant' } },
    { ...headers, 'x-request-id': requestId },
  );
  const session = response.body.data?.['createConversationSession'];
  const line = await accessLine(gateway, requestId);
  return {
    status: response.status,
    code: response.body.errors?.[0]?.extensions?.['code'],
    // The emulator mints each token as the x-runas-user-id it received.
    mintedAs: session?.token === undefined ? undefined : emulatorRunAsOf(session.token),
    logged: { caller: line['caller'], runAs: line['runAs'], authFailure: line['authFailure'] },
  };
}

describe('JWT_RUNAS_CLAIM', () => {
  const JWT_ENV = {
    AUTH_MODE: 'jwt',
    JWT_SECRET,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_RUNAS_CLAIM: 'cbk_user',
  };
  const bearer = async (subject: string, claims: Record<string, unknown>) => ({
    authorization: `Bearer ${await new SignJWT({ scope: 'conversation-session:create', ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(subject)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JWT_SECRET))}`,
  });

  it('mints each concurrent caller’s session as the user of its claim, and logs it on its own line', async () => {
    await withGateway(emulator.url, { config: gatewayConfig(JWT_ENV) }, async (gateway) => {
      const headers = await Promise.all(
        Array.from({ length: CALLERS }, (_, i) => bearer(`user-${i}`, { cbk_user: `tenant_${i}` })),
      );
      const results = await Promise.all(headers.map((header, i) => create(gateway, `runas-jwt-${i}`, header)));
      results.forEach((result, i) => {
        expect(result.mintedAs).toBe(`tenant_${i}`);
        expect(result.logged).toMatchObject({ caller: `jwt:user-${i}`, runAs: `tenant_${i}` });
      });
    });
  });

  it('mints as CHATBOTKIT_RUNAS_USER_ID for a token without the claim', async () => {
    await withGateway(emulator.url, { config: gatewayConfig(JWT_ENV) }, async (gateway) => {
      const result = await create(gateway, 'runas-fallback', await bearer('user-x', {}));
      expect(result.mintedAs).toBe(MAIN_ACCOUNT_USER);
      expect(result.logged.runAs).toBe(MAIN_ACCOUNT_USER);
    });
  });

  it('refuses a token without the claim with FORBIDDEN when JWT_RUNAS_REQUIRED=true', async () => {
    const config = gatewayConfig({ ...JWT_ENV, JWT_RUNAS_REQUIRED: 'true' });
    await withGateway(emulator.url, { config }, async (gateway) => {
      const result = await create(gateway, 'runas-required', await bearer('user-x', {}));
      expect(result).toMatchObject({ status: 403, code: 'FORBIDDEN', mintedAs: undefined });
      expect(result.logged.authFailure).toBe('no "cbk_user" claim');
      expect((await create(gateway, 'runas-present', await bearer('user-y', { cbk_user: 'tenant_y' }))).mintedAs).toBe(
        'tenant_y',
      );
    });
  });

  it.each([
    ['a number', 42],
    ['an empty string', ''],
    ['a line break', 'tenant\r\nx-evil: 1'],
    ['a list', ['tenant_a']],
  ])('refuses a claim holding %s with FORBIDDEN, and mints nothing', async (_name, value) => {
    await withGateway(emulator.url, { config: gatewayConfig(JWT_ENV) }, async (gateway) => {
      const result = await create(gateway, 'runas-invalid', await bearer('user-x', { cbk_user: value }));
      expect(result).toMatchObject({ status: 403, code: 'FORBIDDEN', mintedAs: undefined });
      expect(result.logged.authFailure).toBe('"cbk_user" claim is not a run-as user id');
    });
  });
});

describe('GATEWAY_API_KEYS_FILE', () => {
  const keyOf = (i: number) => `gw_live_tenant_key_${i}`;
  const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
  let keysFile: string;
  beforeAll(() => {
    keysFile = join(mkdtempSync(join(tmpdir(), 'api-keys-')), 'keys.json');
    const entries = Array.from({ length: CALLERS }, (_, i) => ({
      sha256: sha256(keyOf(i)),
      runAsUserId: `tenant_${i}`,
      name: `customer-${i}`,
    }));
    writeFileSync(keysFile, JSON.stringify([...entries, { sha256: sha256('gw_live_unbound'), name: 'unbound' }]));
  });

  it('mints each concurrent key holder’s session as the key’s user, and logs its name and user', async () => {
    const config = gatewayConfig({ AUTH_MODE: 'api-key', GATEWAY_API_KEYS_FILE: keysFile });
    await withGateway(emulator.url, { config }, async (gateway) => {
      const results = await Promise.all(
        Array.from({ length: CALLERS }, (_, i) => create(gateway, `runas-key-${i}`, { 'x-api-key': keyOf(i) })),
      );
      results.forEach((result, i) => {
        expect(result.mintedAs).toBe(`tenant_${i}`);
        expect(result.logged).toMatchObject({ caller: `key:customer-${i}`, runAs: `tenant_${i}` });
      });
      expect(gateway.logs.join('')).not.toContain(keyOf(0));
    });
  });

  it('mints as CHATBOTKIT_RUNAS_USER_ID for a key without a user, and for GATEWAY_API_KEY_HASHES', async () => {
    const config = gatewayConfig({
      AUTH_MODE: 'api-key',
      GATEWAY_API_KEYS_FILE: keysFile,
      GATEWAY_API_KEY_HASHES: sha256('gw_live_listed'),
    });
    await withGateway(emulator.url, { config }, async (gateway) => {
      const unbound = await create(gateway, 'runas-unbound', { 'x-api-key': 'gw_live_unbound' });
      expect(unbound).toMatchObject({ mintedAs: MAIN_ACCOUNT_USER, logged: { caller: 'key:unbound' } });
      const listed = await create(gateway, 'runas-listed', { 'x-api-key': 'gw_live_listed' });
      expect(listed).toMatchObject({
        mintedAs: MAIN_ACCOUNT_USER,
        logged: { caller: `key:${sha256('gw_live_listed').slice(0, 16)}`, runAs: MAIN_ACCOUNT_USER },
      });
    });
  });
});
