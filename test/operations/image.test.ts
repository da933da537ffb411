import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { args, command, copiesOf, healthcheckCommand, imageEnvironment, ROOT, stages } from '../helpers/dockerfile.ts';
import { CREATE_SESSION, postGraphQL } from '../helpers/gateway.ts';
import { startServerProcess } from '../helpers/process.ts';
import { type ScriptedUpstream, sessionForRoute, startScriptedUpstream } from '../helpers/upstream.ts';

// The image without Docker: its file system rebuilt in a temporary folder by doing what the
// Dockerfile says, stage by stage, then its CMD run with its ENV and WORKDIR and the README's
// `docker run` variables, against a local upstream.

/** How each command of a RUN instruction is done here; a command not listed fails the test. */
const STEPS: [RegExp, (cwd: string, match: RegExpExecArray) => void][] = [
  // From the npm cache the project's own `npm ci` filled, so that it takes seconds.
  [/^npm ci --omit=dev$/, (cwd) => npm(['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], cwd)],
  // This checkout's own install of the same lock file stands in for the build stage's.
  [/^npm ci --ignore-scripts$/, (cwd) => symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'))],
  [/^npm run build$/, (cwd) => npm(['run', 'build', '--silent'], cwd)],
  [
    /^rm -rf ((?:\S+ ?)+)$/,
    (cwd, [, paths = '']) => {
      for (const path of paths.split(' ')) rmSync(join(cwd, path), rmAll);
    },
  ],
  // It empties the image's npm cache; here it would empty this machine's.
  [/^npm cache clean --force$/, () => undefined],
  [/^mkdir (\S+)$/, (cwd, [, path = '']) => mkdirSync(join(cwd, path))],
  // The image's user owns the compile cache; here one user builds and runs everything.
  [/^chown node (\S+)$/, () => undefined],
  // With the ENV set so far in the image (NODE_COMPILE_CACHE among it), by this checkout's Node.
  [
    /^node ((?:\S+ ?)+)$/,
    (cwd, [, nodeArgs = '']) =>
      execFileSync(process.execPath, nodeArgs.split(' '), {
        cwd,
        env: { PATH: process.env['PATH'] ?? '', ...imageEnvironment() },
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
  ],
];
const rmAll = { recursive: true, force: true };

function npm(npmArgs: string[], cwd: string): void {
  execFileSync('npm', npmArgs, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Does what `docker build` does with each stage, each in a folder of its own; returns the final WORKDIR. */
function buildImage(into: string): string {
  const stageRoots = new Map<string, string>();
  let workdir = into;
  for (const [name, stage] of stages()) {
    const root = join(into, name);
    stageRoots.set(name, root);
    workdir = root;
    for (const instruction of stage) {
      const keyword = instruction.getKeyword();
      if (keyword === 'WORKDIR') workdir = join(root, args(instruction));
      mkdirSync(workdir, { recursive: true });
      if (keyword === 'RUN') for (const step of args(instruction).split(' && ')) perform(step.trim(), workdir);
      for (const copy of copiesOf([instruction])) {
        const from = copy.from === undefined ? ROOT : (stageRoots.get(copy.from) ?? '');
        for (const source of copy.sources) {
          // `dir/` receives the file by its name; anything else is the copy's new path.
          const target = join(workdir, copy.destination, copy.destination.endsWith('/') ? basename(source) : '');
          cpSync(join(from, source), target, { recursive: true });
        }
      }
    }
  }
  return workdir;
}

function perform(step: string, cwd: string): void {
  for (const [pattern, run] of STEPS) {
    const match = pattern.exec(step);
    if (match) {
      run(cwd, match);
      return;
    }
  }
  throw new Error(`the image test does not know how to run "${step}" from the Dockerfile: teach it (STEPS)`);
}

/** The README's `docker build` and `docker run`, the way a reader runs them. */
function readmeDocker() {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const tag = /^docker build -t (\S+) \.$/.exec(lines.find((line) => line.startsWith('docker build ')) ?? '')?.[1];
  const words = (lines.find((line) => line.startsWith('docker run ')) ?? '').split(/\s+/);
  const env: Record<string, string | undefined> = {};
  const ports: string[] = [];
  for (let index = 2; index < words.length - 1; index++) {
    const [flag, value = ''] = [words[index], words[++index]];
    if (flag === '-p') ports.push(value);
    else if (flag === '-e')
      env[value.split('=')[0] ?? ''] = value.includes('=') ? value.slice(value.indexOf('=') + 1) : undefined;
    else throw new Error(`the README's docker run has ${flag}, which this test does not read`);
  }
  return { tag, image: words.at(-1), ports, env };
}

// `-e NAME` passes the reader's own value; these are the test's.
const API_KEY = 'key_image_test';
const FROM_THE_SHELL: Record<string, string> = {
  CHATBOTKIT_SECRET: 'sk_image_test_0123456789',
  GATEWAY_API_KEY_HASHES: createHash('sha256').update(API_KEY).digest('hex'),
};

/** The README's `docker run` environment, over the image's ENV; PORT=0 where `-p` maps the port. */
function dockerRun(readme: ReturnType<typeof readmeDocker>, upstream: ScriptedUpstream, extra = {}) {
  const passed = Object.entries(readme.env).map(([name, value]) => {
    const given = value ?? FROM_THE_SHELL[name];
    if (given === undefined) throw new Error(`the README's docker run passes ${name} from the shell: give it a value`);
    return [name, given];
  });
  const env = { ...imageEnvironment(), ...Object.fromEntries(passed), ...extra };
  return { ...env, CHATBOTKIT_API_URL: upstream.url, PORT: '0' };
}

describe('the image, rebuilt without Docker from the Dockerfile', () => {
  const readme = readmeDocker();
  let folder: string;
  let workdir: string;
  let upstream: ScriptedUpstream;
  const [node, ...program] = command();

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'gateway-image-'));
    workdir = buildImage(folder);
    upstream = await startScriptedUpstream();
    upstream.reply(sessionForRoute('tok_image'));
  }, 90_000);
  afterAll(async () => {
    await upstream?.close();
    rmSync(folder, rmAll);
  });

  const start = (extra: Record<string, string> = {}) =>
    startServerProcess(dockerRun(readme, upstream, extra), { program, cwd: workdir });
  const mint = (url: string) =>
    postGraphQL(
      `${url}/graphql`,
      CREATE_SESSION,
      { input: { conversationId: 'conv_image', durationInSeconds: 600 } },
      { 'x-api-key': API_KEY },
    );

  it('holds the build, production dependencies and package.json: no sources, no dev dependency', () => {
    expect(node).toBe('node');
    expect(readFileSync(join(workdir, 'package.json'), 'utf8')).toBe(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(() => readFileSync(join(workdir, 'dist/server.js'))).not.toThrow();
    expect(() => readFileSync(join(workdir, 'src/server.ts'))).toThrow();
    expect(() => readFileSync(join(workdir, 'node_modules/pino-pretty/package.json'))).toThrow();
    expect(() => readFileSync(join(workdir, 'node_modules/pino/package.json'))).not.toThrow();
  });

  it("mints a session with the README's docker run", async () => {
    expect(readme.image).toBe(readme.tag);
    // `-p` publishes the port the image listens on.
    expect(readme.ports).toEqual([`${imageEnvironment()['PORT']}:${imageEnvironment()['PORT']}`]);
    const server = await start();
    try {
      const { body } = await mint(server.url);
      expect(body.data?.['createConversationSession']).toEqual({
        __typename: 'ConversationSession',
        conversationId: 'conv_image',
        token: 'tok_image',
        expiresAt: '2030-01-01T00:00:00.000Z',
      });
      expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${FROM_THE_SHELL['CHATBOTKIT_SECRET']}`);
      expect(server.output()).toMatch(/"msg":"gateway listening"/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('starts from the compile cache filled at build time: no module of the build is compiled again', async () => {
    const server = await start({ NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
    try {
      expect((await mint(server.url)).body.data?.['createConversationSession']).toMatchObject({ token: 'tok_image' });
    } finally {
      await server.stop();
    }
    const loaded = [...server.output().matchAll(/V8 code cache for ESM (file:\S+) was (\w+)/g)];
    const fromBuild = loaded.filter(([, url]) => url!.includes('/dist/'));
    expect(fromBuild.map(([, url]) => url)).toContain(`file://${workdir}/dist/server.js`);
    expect(fromBuild.filter(([, , verdict]) => verdict !== 'accepted')).toEqual([]);
  });

  it.each([{ NODE_ENV: 'development' }, { LOG_FORMAT: 'pretty' }])(
    'logs JSON and one warning, never a stack, with %o (no pino-pretty in the image)',
    async (settings) => {
      const server = await start(settings);
      try {
        expect((await mint(server.url)).body.data?.['createConversationSession']).toMatchObject({ token: 'tok_image' });
        if (settings.NODE_ENV === 'development') {
          // GraphiQL's renderer, a worker thread, loads from the build too.
          const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
          expect(await page.text()).toContain('<title>ChatBotKit session gateway</title>');
        }
      } finally {
        expect(await server.stop()).toBe(0);
      }
      const lines = server.output().trimEnd().split('\n');
      const records = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(records.filter((record) => record.msg.includes('pino-pretty'))).toEqual([
        expect.objectContaining({ level: 40, msg: expect.stringContaining('writing JSON lines instead') }),
      ]);
    },
  );

  describe('its HEALTHCHECK', () => {
    const probe = (port: number) =>
      new Promise<number | null>((resolve) => {
        const [shell = '', ...rest] = healthcheckCommand();
        spawn(shell, rest, { env: { PATH: process.env['PATH'] ?? '', PORT: String(port) }, stdio: 'ignore' }).on(
          'exit',
          resolve,
        );
      });

    it('passes while the gateway serves, and fails once nothing listens', async () => {
      const server = await start();
      const port = Number(new URL(server.url).port);
      try {
        expect(await probe(port)).toBe(0);
      } finally {
        await server.stop();
      }
      expect(await probe(port)).not.toBe(0);
    });

    it('fails when /healthz answers anything but 200', async () => {
      const unhealthy = createServer((_request, response) => response.writeHead(503).end());
      await new Promise<void>((resolve) => unhealthy.listen(0, '127.0.0.1', resolve));
      try {
        expect(await probe((unhealthy.address() as AddressInfo).port)).not.toBe(0);
      } finally {
        unhealthy.close();
      }
    });
  });
});
