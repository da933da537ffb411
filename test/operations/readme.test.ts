import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { EXAMPLE_MUTATION } from '../../src/app.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';

// Documented means tested: every fenced block in the README and docs/ is marked
// `<!-- tested: ... -->` and is exactly what a test loads or runs, every command they name is
// one a test or CI runs, and every relative link points to a file that exists.

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** The pages a reader opens: the README, docs/, and the pointer left in deploy/. */
const PAGES = [
  'README.md',
  ...readdirSync(new URL('docs/', root))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
  'deploy/README.md',
];

/** Pages that other branches add; a link to one may point nowhere until they are merged. */
const ADDED_BY_OTHER_BRANCHES = new Set(['docs/environment.md']);

/** The README's `docker run`, one line as the README shows it. */
const DOCKER_RUN = [
  'docker run -p 4000:4000',
  '-e CHATBOTKIT_SECRET -e AUTH_MODE=api-key -e GATEWAY_API_KEY_HASHES',
  'chatbotkit-session-gateway',
].join(' ');

/**
 * The commands a page may show, each with the file that runs it (a test, or CI's script) and
 * the text in that file that does so; `script` is what that text runs of the npm script.
 */
const RUN_BY: Record<string, { file: string; runs: string; script?: string }> = {
  'npm ci': { file: '.ci/run', runs: '\nnpm ci\n' },
  'npm test': { file: '.ci/run', runs: '\nnpm test ' },
  'npm run typecheck': { file: '.ci/run', runs: '\nnpm run typecheck\n' },
  'npm run lint': { file: '.ci/run', runs: '\nnpm run lint\n' },
  'npm run schema:check': { file: '.ci/run', runs: '\nnpm run schema:check\n' },
  'npm start': { file: 'test/helpers/process.ts', runs: 'packageJson.scripts.start' },
  // `npm start` (above) with the argument that this test passes on.
  'npm start -- --help': { file: 'test/process/config.test.ts', runs: "runServer({ PORT: 'eighty' }, ['--help'])" },
  'npm start -- --version': { file: 'test/process/cli.test.ts', runs: "runServer({ PORT: 'eighty' }, ['--version'])" },
  'npm run build': { file: 'test/helpers/build.ts', runs: "['run', 'build'", script: 'tsconfig.build.json' },
  // Docker is not available: the image test does what the Dockerfile says, then runs its CMD
  // with the variables it reads from the README's `docker run`.
  'docker build -t chatbotkit-session-gateway .': { file: 'test/operations/image.test.ts', runs: 'buildImage(folder)' },
  [DOCKER_RUN]: { file: 'test/operations/image.test.ts', runs: 'dockerRun(readme, upstream, extra)' },
  'npm run schema:print': {
    file: 'test/unit/schema-drift.test.ts',
    runs: "from '../../scripts/print-schema.ts'",
    script: 'scripts/print-schema.ts',
  },
  'npm run codegen': {
    file: 'test/integration/graphql-clients.test.ts',
    runs: "import('../../codegen.ts')",
    script: 'codegen.ts',
  },
  'npm run bench': { file: 'test/process/bench.test.ts', runs: "'bench/run.ts'", script: 'bench/run.ts' },
  'npm run docs:env': {
    file: 'test/unit/environment-docs.test.ts',
    runs: "from '../../scripts/print-env-docs.ts'",
    script: 'scripts/print-env-docs.ts',
  },
};

/** Where the examples a reader needs must be shown. */
const SHOWN: [page: string, marker: string][] = [
  ['README.md', 'commands'],
  ['README.md', 'GraphiQL default tab'],
  ['README.md', 'examples/production.env'],
  ['docs/configuration.md', 'examples/minimal-jwt.env'],
  ['docs/configuration.md', 'examples/minimal-api-key.env'],
  ['docs/clients.md', 'examples/create-session.graphql'],
  ['docs/clients.md', 'examples/graphql-request.ts'],
  ['docs/clients.md', 'examples/apollo-client.ts'],
  ['docs/federation.md', 'examples/supergraph/gateway.config.ts'],
  ['docs/federation.md', 'examples/supergraph/router.yaml'],
];

interface Block {
  page: string;
  line: number;
  /** The fence's language: `text` marks a diagram or a listing, neither a command nor a configuration. */
  language: string;
  /** What the `<!-- tested: ... -->` line right above the block names, if there is one. */
  marker: string | undefined;
  content: string;
}

function blocksOf(page: string): Block[] {
  const lines = read(page).split('\n');
  const blocks: Block[] = [];
  for (let start = 0; start < lines.length; start++) {
    const language = /^```(\w*)\s*$/.exec(lines[start] ?? '')?.[1];
    if (language === undefined) continue;
    const end = lines.findIndex((line, index) => index > start && /^```\s*$/.test(line));
    if (end < 0) throw new Error(`${page}:${start + 1}: a fenced block that is never closed`);
    const marker = /^<!-- tested: (.+?) -->$/.exec(lines[start - 1] ?? '')?.[1];
    const body = lines.slice(start + 1, end);
    const content = body.length > 0 ? `${body.join('\n')}\n` : '';
    blocks.push({ page, line: start + 1, language, marker, content });
    start = end;
  }
  return blocks;
}

/** A page's text without its fenced blocks, where links and inline code live. */
const proseOf = (page: string) => read(page).replace(/^```\w*\s*\n[\s\S]*?^```\s*$/gm, '');

/** `npm ci && npm start  # a comment` → ['npm ci', 'npm start'] */
const commandsIn = (line: string) =>
  line
    .replace(/\s#.*$/, '')
    .split('&&')
    .map((command) => command.trim().replace(/\s+/g, ' '))
    .filter(Boolean);

const allBlocks = PAGES.flatMap(blocksOf);
const markedBlocks = allBlocks.filter((block) => block.marker !== undefined);

describe('the README and docs/ show only what is tested', () => {
  it('marks every fenced block as tested, but for diagrams and listings (`text`)', () => {
    const unmarked = allBlocks.filter((block) => block.marker === undefined && block.language !== 'text');
    expect(unmarked.map((block) => `${block.page}:${block.line}`)).toEqual([]);
  });

  it.each(SHOWN)('%s shows %s', (page, marker) => {
    expect(markedBlocks.some((block) => block.page === page && block.marker === marker)).toBe(true);
  });

  it.each(markedBlocks.map((block) => [`${block.page}:${block.line}`, block.marker, block] as const))(
    '%s (%s) is exactly what the tests use',
    (_where, marker, block) => {
      if (marker === 'GraphiQL default tab') {
        expect(block.content).toBe(EXAMPLE_MUTATION);
      } else if (marker === 'commands') {
        for (const line of block.content.split('\n').filter(Boolean)) {
          for (const command of commandsIn(line)) expect(Object.keys(RUN_BY)).toContain(command);
        }
      } else {
        expect(block.content).toBe(read(marker ?? ''));
      }
    },
  );

  it('names only commands that a test or CI runs, wherever a page names one', () => {
    const named = PAGES.flatMap((page) =>
      [...proseOf(page).matchAll(/`(npm [^`]+)`/g)].flatMap((match) => commandsIn(match[1] ?? '')),
    );
    expect(named.length).toBeGreaterThan(0);
    for (const command of named) expect(Object.keys(RUN_BY), `${command}`).toContain(command);
  });

  it.each(Object.entries(RUN_BY))('`%s` is run where the docs say', (command, { file, runs, script }) => {
    expect(read(file)).toContain(runs);
    const name = /^npm (?:run (\S+)|(start|test))$/.exec(command);
    const scripts: Record<string, string> = packageJson.scripts;
    if (name) expect(scripts[name[1] ?? name[2] ?? '']).toBeDefined();
    if (script && name?.[1]) expect(scripts[name[1]]).toContain(script);
  });
});

describe('the README and docs/ link only to what exists', () => {
  const slug = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
  const anchorsOf = (page: string) =>
    new Set([...proseOf(page).matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1] ?? '')));

  const links = PAGES.flatMap((page) =>
    [...proseOf(page).matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1] ?? '')
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
      .map((target) => [page, target] as const),
  );

  it.each(links)('%s → %s', (page, target) => {
    const url = new URL(target, new URL(page, root));
    const path = fileURLToPath(new URL(url.pathname, url));
    const relative = path.slice(fileURLToPath(root).length);
    if (!ADDED_BY_OTHER_BRANCHES.has(relative)) expect(existsSync(path), `${target} does not exist`).toBe(true);
    const anchor = decodeURIComponent(url.hash.slice(1));
    if (anchor && PAGES.includes(relative)) expect([...anchorsOf(relative)]).toContain(anchor);
  });
});

describe('the README is a door', () => {
  const readme = read('README.md');

  it('opens with the install, start and test commands', () => {
    expect(readme.slice(0, 800)).toContain('npm ci && npm start');
    expect(readme.slice(0, 800)).toContain('npm test');
  });

  it('stays within 8 KB; the rest is in docs/', () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(8 * 1024);
  });
});

/** The production environments the docs show: the first deployment, and the least each AUTH_MODE needs. */
const PRODUCTION_EXAMPLES = [
  ['examples/production.env', { mode: 'jwt', host: '0.0.0.0' }],
  ['examples/minimal-jwt.env', { mode: 'jwt', host: '127.0.0.1' }],
  ['examples/minimal-api-key.env', { mode: 'api-key', host: '127.0.0.1' }],
] as const;

describe.each(PRODUCTION_EXAMPLES)('the production example %s', (file, expected) => {
  const text = read(file);
  // As `docker run --env-file` reads it: KEY=value, the value taken literally.
  const env = Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

  it('reads the same with docker --env-file and node --env-file', () => {
    expect(Object.keys(env).length).toBeGreaterThan(0);
    expect(parseEnv(text)).toEqual(env);
  });

  it('is a configuration loadConfig accepts: production, callers authenticated, sessions from ChatBotKit', () => {
    const config = loadConfig(env);
    expect(config.production).toBe(true);
    expect(config.auth.mode).toBe(expected.mode);
    expect(config.upstream).toEqual({
      kind: 'http',
      baseUrl: 'https://api.chatbotkit.com',
      secret: 'replace-me-with-your-chatbotkit-secret',
    });
    expect(config.host).toBe(expected.host);
    expect(config.limits).toMatchObject({ graphiql: false, introspection: false });
    expect(config.warnings).toEqual([]);
  });

  it('holds only variables that matter: without any one of them the configuration differs or is refused', () => {
    const full = loadConfig(env);
    for (const name of Object.keys(env)) {
      const without = Object.fromEntries(Object.entries(env).filter(([key]) => key !== name));
      let same: boolean;
      try {
        same = isDeepStrictEqual(loadConfig(without), full);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        same = false;
      }
      expect(same, `${name} changes nothing`).toBe(false);
    }
  });
});

describe('the minimal production examples', () => {
  it('are minimal: without any one variable the gateway refuses to start in production', () => {
    for (const [file] of PRODUCTION_EXAMPLES.filter(([name]) => name.includes('minimal'))) {
      const env = parseEnv(read(file));
      for (const name of Object.keys(env)) {
        const without = Object.fromEntries(Object.entries(env).filter(([key]) => key !== name));
        // Without NODE_ENV it starts, but not in production; without anything else it refuses.
        const refused = (() => {
          try {
            return !loadConfig(without).production;
          } catch (error) {
            if (!(error instanceof ConfigError)) throw error;
            return true;
          }
        })();
        expect(refused, `${file} without ${name}`).toBe(true);
      }
    }
  });
});
