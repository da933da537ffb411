/**
 * Child process: the project's local ChatBotKit emulator on loopback, as the bench's upstream
 * (and as the "direct" target). Latency comes from UPSTREAM_LATENCY_MS (default 0: answer at once).
 * Prints one JSON line `{"url": "http://127.0.0.1:<port>"}` when it listens.
 */
import { startEmulator } from '../../src/chatbotkit/emulator.ts';

const latencyMs = Number(process.env['UPSTREAM_LATENCY_MS'] ?? '0');
const emulator = await startEmulator({ latencyMs });
process.stdout.write(`${JSON.stringify({ url: emulator.url })}\n`);
process.on('SIGTERM', () => {
  void emulator.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
