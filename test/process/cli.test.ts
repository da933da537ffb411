import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { runServer, startServerProcess } from '../helpers/process.ts';

/** A port free a moment ago, for a --port the test chooses. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('npm start -- <arguments>', () => {
  it('prints the version for --version, and exits 0 without starting', async () => {
    const server = runServer({ PORT: 'eighty' }, ['--version']);
    expect(await server.exited).toBe(0);
    expect(server.output()).toBe(`${packageJson.version}\n`);
  });

  it('listens on --port N, over PORT', async () => {
    const port = await freePort();
    const server = await startServerProcess({ PORT: 'eighty' }, { args: ['--port', String(port)] });
    try {
      expect(server.url).toBe(`http://127.0.0.1:${port}`);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('refuses a --port that PORT would refuse, with one line and exit code 1', async () => {
    const server = runServer({}, ['--port', '70000']);
    expect(await server.exited).toBe(1);
    expect(server.output()).toBe(
      'chatbotkit-session-gateway: --port must be a whole number from 0 to 65535 (got "70000")\n',
    );
  });

  it.each([['--prot', '4000'], ['4000'], ['--port']])(
    'refuses %s with one line naming it, and exit code 1',
    async (...args) => {
      const server = runServer({}, args);
      expect(await server.exited).toBe(1);
      const lines = server.output().trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`'${args[0]}`);
      expect(lines[0]).toContain('the gateway takes --help, --version and --port N');
    },
  );
});

describe('the version, where operators look for it', () => {
  it('is in the start-up line with the upstream kind, and in gateway_build_info on /metrics', async () => {
    const server = await startServerProcess();
    try {
      const listening = server
        .output()
        .split('\n')
        .find((line) => line.includes('gateway listening'));
      expect(JSON.parse(listening ?? '{}')).toMatchObject({ version: packageJson.version, upstream: 'EMULATOR' });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain(`gateway_build_info{version="${packageJson.version}"} 1\n`);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
