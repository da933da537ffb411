import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import type { AuthConfig } from '../../src/config.ts';
import { CREATE_SESSION, postGraphQL, type TestGateway, withGateway } from '../helpers/gateway.ts';
import { runServer } from '../helpers/process.ts';
import { type ScriptedUpstream, sessionBody, startScriptedUpstream } from '../helpers/upstream.ts';

const JWT_SECRET = 'development-only-hs256-secret-0123456789';
const JWT_BASE = {
  issuer: 'https://issuer.example',
  audience: 'session-gateway',
  requiredScope: 'conversation-session:create',
  clockToleranceSeconds: 5,
  jwksCooldownSeconds: 0,
  jwksMaxAgeSeconds: 600,
  jwksMaxStaleSeconds: 86_400,
  jwksTimeoutMs: 5_000,
  conversationsClaim: 'conversations',
  runAsClaim: undefined,
  runAsRequired: false,
};

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

const create = (gateway: TestGateway, headers: Record<string, string>, conversationId = 'conv_auth') =>
  postGraphQL(gateway.url, CREATE_SESSION, { input: { conversationId } }, headers);

function expectRefused(response: Awaited<ReturnType<typeof create>>, status: 401 | 403) {
  expect(response.status).toBe(status);
  expect(response.body.errors?.[0]?.extensions?.['code']).toBe(status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN');
  expect(response.body.data).toBeNull();
}

function hs256(
  claims: Record<string, unknown>,
  {
    expiresIn = '5m' as string | null,
    audience = JWT_BASE.audience,
    issuer = JWT_BASE.issuer,
    secret = JWT_SECRET,
    subject = 'user-1' as string | null,
    typ = undefined as string | undefined,
  } = {},
) {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', ...(typ !== undefined && { typ }) })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt();
  if (subject !== null) jwt.setSubject(subject);
  if (expiresIn !== null) jwt.setExpirationTime(expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

describe('AUTH_MODE=jwt with a shared HS256 secret', () => {
  const auth: AuthConfig = { mode: 'jwt', jwksUrl: undefined, secret: JWT_SECRET, ...JWT_BASE };
  const bearer = async (claims: Record<string, unknown>, options?: Parameters<typeof hs256>[1]) => ({
    authorization: `Bearer ${await hs256(claims, options)}`,
  });
  const scoped = { scope: 'openid conversation-session:create' };

  it('mints a session for a valid token with the scope', async () => {
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      const { body } = await create(gateway, await bearer(scoped));
      expect(body.data?.['createConversationSession']).toMatchObject({ __typename: 'ConversationSession' });
    });
  });

  it.each([[['conversation-session:create']], ['openid conversation-session:create']])(
    'accepts the scope as an scp claim too (%j)',
    async (scp) => {
      await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
        const { body } = await create(gateway, await bearer({ scp }));
        expect(body.data?.['createConversationSession']).toMatchObject({ __typename: 'ConversationSession' });
      });
    },
  );

  it.each([
    ['no Authorization header', async () => ({})],
    ['a malformed header', async () => ({ authorization: 'Basic dXNlcjpwdw==' })],
    ['a bad signature', () => bearer(scoped, { secret: 'another-secret-of-sufficient-length-0000' })],
    ['an expired token', () => bearer(scoped, { expiresIn: '-1m' })],
    ['the wrong audience', () => bearer(scoped, { audience: 'someone-else' })],
    ['the wrong issuer', () => bearer(scoped, { issuer: 'https://evil.example' })],
    ['garbage', async () => ({ authorization: 'Bearer not.a.jwt' })],
    ['a token that never expires (no exp)', () => bearer(scoped, { expiresIn: null })],
    ['a token with no subject (no sub)', () => bearer(scoped, { subject: null })],
    ['a DPoP proof (typ dpop+jwt)', () => bearer(scoped, { typ: 'dpop+jwt' })],
    ['an ID token type (typ id+jwt)', () => bearer(scoped, { typ: 'application/id+jwt' })],
    ['a logout token (typ logout+jwt)', () => bearer(scoped, { typ: 'logout+jwt' })],
  ])('answers 401 UNAUTHENTICATED for %s', async (_name, headers) => {
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      expectRefused(await create(gateway, await headers()), 401);
    });
  });

  it('accepts typ JWT or at+jwt (any case, application/ or not) or none, and refuses other types', async () => {
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      for (const typ of ['JWT', 'jwt', 'at+jwt', 'application/at+jwt', 'AT+JWT']) {
        const { body } = await create(gateway, await bearer(scoped, { typ }));
        expect(body.data?.['createConversationSession']).toMatchObject({ __typename: 'ConversationSession' });
      }
      expectRefused(await create(gateway, await bearer(scoped, { typ: 'application/dpop+jwt' })), 401);
    });
  });

  it('logs why a token of another typ was refused', async () => {
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      await create(gateway, await bearer(scoped, { typ: 'dpop+jwt' }));
      expect(gateway.logs.join('')).toContain('"authFailure":"typ header not accepted"');
    });
  });

  it('answers 403 FORBIDDEN for a valid token without the scope', async () => {
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      expectRefused(await create(gateway, await bearer({ scope: 'openid profile' })), 403);
    });
  });

  it('limits a caller to the conversations of its claim (ids and prefix*)', async () => {
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      const headers = await bearer({ ...scoped, conversations: ['conv_exact', 'team_a_*'] });
      expect((await create(gateway, headers, 'conv_exact')).body.data?.['createConversationSession'].__typename).toBe(
        'ConversationSession',
      );
      expect((await create(gateway, headers, 'team_a_42')).body.data?.['createConversationSession'].__typename).toBe(
        'ConversationSession',
      );
      expect((await create(gateway, headers, 'conv_other')).body.data?.['createConversationSession']).toMatchObject({
        __typename: 'NotAuthorizedError',
        code: 'NOT_AUTHORIZED',
      });
    });
  });

  it('fails closed when the conversations claim is not a list', async () => {
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      const headers = await bearer({ ...scoped, conversations: 'conv_exact' });
      expect((await create(gateway, headers, 'conv_exact')).body.data?.['createConversationSession'].__typename).toBe(
        'NotAuthorizedError',
      );
    });
  });

  it('logs who called and why a call was refused, never the token', async () => {
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      const good = await bearer(scoped);
      const expired = await bearer(scoped, { expiresIn: '-1m' });
      await create(gateway, good);
      await create(gateway, expired);
      const logs = gateway.logs.join('');
      expect(logs).toContain('"caller":"jwt:user-1"');
      expect(logs).toContain('"authFailure":"token expired"');
      for (const headers of [good, expired]) expect(logs).not.toContain(headers.authorization.slice(7));
    });
  });
});

describe('AUTH_MODE=jwt with a JWKS URL', () => {
  let jwksServer: Server;
  let jwksUrl: string;
  let served: JWK[] = [];
  let fetches = 0;
  const keys: { kid: string; privateKey: CryptoKey; jwk: JWK }[] = [];

  beforeAll(async () => {
    for (const kid of ['key-1', 'key-2']) {
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      keys.push({ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } });
    }
    jwksServer = createServer((_request, response) => {
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => jwksServer.close(resolve)));

  const sign = (key: (typeof keys)[number]) =>
    new SignJWT({ scope: 'conversation-session:create' })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .setIssuer(JWT_BASE.issuer)
      .setAudience(JWT_BASE.audience)
      .setSubject('user-2')
      .setExpirationTime('5m')
      .sign(key.privateKey);

  it('caches the key set and follows a key rotation', async () => {
    const [first, second] = keys as [(typeof keys)[number], (typeof keys)[number]];
    served = [first.jwk];
    fetches = 0;
    await withGateway(
      emulator.url,
      { config: { auth: { mode: 'jwt', jwksUrl, secret: undefined, ...JWT_BASE } } },
      async (gateway) => {
        const firstToken = await sign(first);
        for (let i = 0; i < 3; i++) {
          const { body } = await create(gateway, { authorization: `Bearer ${firstToken}` });
          expect(body.data?.['createConversationSession'].__typename).toBe('ConversationSession');
        }
        expect(fetches).toBe(1);

        // The issuer rotates to a new key: an unknown kid makes the gateway fetch the set again.
        served = [second.jwk];
        const { body } = await create(gateway, { authorization: `Bearer ${await sign(second)}` });
        expect(body.data?.['createConversationSession'].__typename).toBe('ConversationSession');
        expect(fetches).toBe(2);
      },
    );
  });

  it('refuses a token signed by a key the set does not hold', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    served = keys.map((key) => key.jwk);
    await withGateway(
      emulator.url,
      { config: { auth: { mode: 'jwt', jwksUrl, secret: undefined, ...JWT_BASE } } },
      async (gateway) => {
        const forged = await new SignJWT({ scope: 'conversation-session:create' })
          .setProtectedHeader({ alg: 'ES256', kid: 'key-1' })
          .setIssuer(JWT_BASE.issuer)
          .setAudience(JWT_BASE.audience)
          .setExpirationTime('5m')
          .sign(privateKey);
        expectRefused(await create(gateway, { authorization: `Bearer ${forged}` }), 401);
      },
    );
  });
});

describe('AUTH_MODE=api-key', () => {
  const KEY = 'gw_live_9b8c7d6e5f4a3b2c1d0e';
  const auth: AuthConfig = {
    mode: 'api-key',
    keyHashes: [createHash('sha256').update('other-key').digest('hex'), createHash('sha256').update(KEY).digest('hex')],
  };

  it('mints a session for a configured key', async () => {
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      const { body } = await create(gateway, { 'x-api-key': KEY });
      expect(body.data?.['createConversationSession'].__typename).toBe('ConversationSession');
      expect(gateway.logs.join('')).not.toContain(KEY);
    });
  });

  it.each([
    ['no key', {}],
    ['an unknown key', { 'x-api-key': 'gw_live_guess' }],
    ['the hash instead of the key', { 'x-api-key': createHash('sha256').update(KEY).digest('hex') }],
  ])('answers 401 for %s', async (_name, headers) => {
    await withGateway(emulator.url, { config: { auth } }, async (gateway) => {
      expectRefused(await create(gateway, headers), 401);
    });
  });
});

describe('AUTH_MODE=passthrough', () => {
  let upstream: ScriptedUpstream;
  beforeAll(async () => {
    upstream = await startScriptedUpstream({ status: 200, body: sessionBody('conv_auth') });
  });
  afterAll(() => upstream.close());

  it('forwards the caller’s own ChatBotKit token upstream, and no secret', async () => {
    await withGateway(upstream.url, { config: { auth: { mode: 'passthrough' } } }, async (gateway) => {
      upstream.requests.length = 0;
      const { body } = await create(gateway, { authorization: 'Bearer cbk-user-token-1' });
      expect(body.data?.['createConversationSession'].__typename).toBe('ConversationSession');
      expect(upstream.requests[0]?.headers.authorization).toBe('Bearer cbk-user-token-1');
      expect(gateway.logs.join('')).not.toContain('cbk-user-token-1');

      expectRefused(await create(gateway, {}), 401);

      upstream.reply({ status: 401, body: { message: 'bad token', code: 'NOT_AUTHENTICATED' } });
      try {
        expectRefused(await create(gateway, { authorization: 'Bearer revoked' }), 401);
      } finally {
        upstream.reply({ status: 200, body: sessionBody('conv_auth') });
      }
    });
  });
});

describe('CONVERSATION_ID_PREFIXES', () => {
  it('refuses conversations outside the allowed prefixes as NotAuthorizedError, without an upstream call', async () => {
    const config = { auth: { mode: 'none' as const }, conversationIdPrefixes: ['tenant1_'] };
    await withGateway(emulator.url, { config }, async (gateway) => {
      expect((await create(gateway, {}, 'tenant1_conv')).body.data?.['createConversationSession'].__typename).toBe(
        'ConversationSession',
      );
      expect((await create(gateway, {}, 'tenant2_conv')).body.data?.['createConversationSession'].__typename).toBe(
        'NotAuthorizedError',
      );
    });
  });
});

describe('starting without a safe auth mode', () => {
  it('refuses to start with CHATBOTKIT_SECRET and no AUTH_MODE, and says why', async () => {
    const server = runServer({ CHATBOTKIT_SECRET: 'sk-test-0123456789abcdef' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('CHATBOTKIT_SECRET is set but AUTH_MODE is not');
    expect(server.output()).not.toContain('sk-test-0123456789abcdef');
  });
});
