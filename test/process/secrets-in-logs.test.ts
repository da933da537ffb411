import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/chatbotkit/emulator.ts';
import { startServerProcess } from '../helpers/process.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startScriptedUpstream } from '../helpers/upstream.ts';

/*
 * Configured credentials never reach a log line, whatever carries them: an error object from a
 * library, a value a caller sends back. Each test runs the real gateway process and reads all it writes.
 */

describe('a Redis that refuses the configured password', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis({ password: 'the-right-password-of-this-redis' });
  });
  afterAll(() => redis.close());

  it('is logged at every reconnect, never with the password, as written or percent-encoded', async () => {
    // Characters a URL must encode, so that the URL carries another form than the one sent in AUTH.
    const wrong = 'rotated/p@ss-wörd+2026-4f9c';
    const encoded = encodeURIComponent(wrong);
    const url = new URL(redis.url);
    const server = await startServerProcess({ REDIS_URL: `redis://default:${encoded}@${url.host}` });
    try {
      await expect
        .poll(() => server.output().match(/rate-limit Redis unavailable/g)?.length ?? 0, { timeout: 10_000 })
        .toBeGreaterThanOrEqual(3);
      const output = server.output();
      expect(output).toContain('WRONGPASS');
      // The failed command is named, without its arguments (HELLO 3 AUTH default <password>).
      expect(output).toMatch(/"command":\{"name":"\w+"\}/);
      for (const form of [wrong, encoded, 'p@ss-w']) expect(output).not.toContain(form);
    } finally {
      await server.stop();
    }
  });
});

describe('OpenTelemetry credentials in the configuration', () => {
  it('never appear in a log line, even when a caller sends them back as its request id', async () => {
    const emulator = await startEmulator();
    // Any HTTP server will do as the collector: what matters is what the gateway logs.
    const collector = await startScriptedUpstream();
    const headerKey = 'otlp-api-key-5e0d7a2b91c4';
    const password = 'collector-password-8d21f07e';
    const server = await startServerProcess({
      CHATBOTKIT_API_URL: emulator.url,
      AUTH_MODE: 'none',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://gateway:${password}@${new URL(collector.url).host}`,
      OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${headerKey},x-dataset=sessions`,
    });
    try {
      for (const requestId of [headerKey, password]) {
        const response = await fetch(`${server.url}/graphql?query=%7B__typename%7D`, {
          headers: { 'x-request-id': requestId },
        });
        expect(response.headers.get('x-request-id')).toBe(requestId);
        await response.text();
      }
      await expect.poll(() => server.output().match(/"msg":"request"/g)?.length ?? 0).toBe(2);
      expect(server.output()).toContain('[redacted]');
      expect(server.output()).not.toContain(headerKey);
      expect(server.output()).not.toContain(password);
    } finally {
      await server.stop();
      await emulator.close();
      await collector.close();
    }
  });
});
