import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runServer } from '../helpers/process.ts';

describe('npm start and its configuration', () => {
  it('makes the process exit 1 with one clear line when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    const server = runServer({ PORT: String(port) });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain(`cannot listen on 127.0.0.1:${port}`);
    blocker.close();
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

  it('prints usage and every variable with its default for --help, and exits 0 without starting', async () => {
    // A broken setting must not stand between an operator and the help that fixes it.
    const server = runServer({ PORT: 'eighty' }, ['--help']);
    expect(await server.exited).toBe(0);
    const output = server.output();
    expect(output).toMatch(/^Usage: npm start \[-- --help \| --version \| --port N\]$/m);
    expect(output).toMatch(/^AUTH_MODE +one of: jwt, api-key, passthrough, none; default none with the emulator/m);
    expect(output).toMatch(/^MAX_BODY_BYTES +whole number: 1024 to 10485760; default 65536$/m);
    expect(output).not.toContain('gateway listening');
    expect(output).not.toContain('invalid configuration');
  });
});
