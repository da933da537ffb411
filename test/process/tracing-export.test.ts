import { describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/chatbotkit/emulator.ts';
import { CREATE_SESSION } from '../helpers/gateway.ts';
import { startServerProcess } from '../helpers/process.ts';
import { startScriptedUpstream } from '../helpers/upstream.ts';

describe('OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('exports traces to the collector, and nothing else: no metrics, no logs', async () => {
    const emulator = await startEmulator();
    const collector = await startScriptedUpstream();
    const server = await startServerProcess({
      CHATBOTKIT_API_URL: emulator.url,
      AUTH_MODE: 'none',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      // Short export intervals, so that whatever the SDK would send arrives within the test.
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRIC_EXPORT_INTERVAL: '200',
      OTEL_BLRP_SCHEDULE_DELAY: '100',
    });
    try {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: CREATE_SESSION, variables: { input: { conversationId: 'conv_1' } } }),
      });
      expect(response.status).toBe(200);
      await response.text();
      await expect.poll(() => collector.requests.map((request) => request.url)).toContain('/v1/traces');
      // Several metric intervals later, still only traces.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(new Set(collector.requests.map((request) => request.url))).toEqual(new Set(['/v1/traces']));
    } finally {
      await server.stop();
      await emulator.close();
      await collector.close();
    }
  });
});
