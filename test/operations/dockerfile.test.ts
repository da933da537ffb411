import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';

// Docker is not available here, so these checks stand in for what a build would show.
const root = fileURLToPath(new URL('../..', import.meta.url));
const dockerfile = DockerfileParser.parse(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const instructions = dockerfile.getInstructions();

/** The instructions of each stage, in order, keyed by the stage's name. */
function stages(): Map<string, Instruction[]> {
  const byStage = new Map<string, Instruction[]>();
  let current: Instruction[] = [];
  for (const instruction of instructions) {
    if (instruction.getKeyword() === 'FROM') {
      const name = instruction.getArguments().at(-1)?.getValue() ?? String(byStage.size);
      current = [];
      byStage.set(name, current);
    }
    current.push(instruction);
  }
  return byStage;
}

const finalStage = [...stages().values()].at(-1) ?? [];
const inFinal = (keyword: string) => finalStage.filter((instruction) => instruction.getKeyword() === keyword);
const args = (instruction: Instruction | undefined) => instruction?.getArgumentsContent() ?? '';

describe('Dockerfile', () => {
  it('is multi-stage on the Node major that .nvmrc pins, slim', () => {
    const nvmrc = readFileSync(join(root, '.nvmrc'), 'utf8').trim();
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      expect(from.getImageName()).toBe('node');
      expect(from.getImageTag()).toBe(`${nvmrc}-slim`);
    }
  });

  it('installs only production dependencies, from the lock file', () => {
    const installStage = [...stages().values()].find((stage) =>
      stage.some((instruction) => args(instruction).includes('npm ci --omit=dev')),
    );
    expect(installStage).toBeDefined();
    const copies = (installStage ?? [])
      .filter((instruction) => instruction.getKeyword() === 'COPY')
      .map(args)
      .join(' ');
    expect(copies).toContain('package.json');
    expect(copies).toContain('package-lock.json');
  });

  it('runs as a non-root user in the final stage', () => {
    const user = inFinal('USER').at(-1);
    expect(user).toBeDefined();
    expect(args(user)).not.toMatch(/^(root|0)(:|$)/);
    const userLine = user?.getRange().start.line ?? Infinity;
    const cmdLine = inFinal('CMD').at(-1)?.getRange().start.line ?? -1;
    expect(userLine).toBeLessThan(cmdLine);
  });

  it('checks health on /healthz and exposes 4000', () => {
    expect(args(inFinal('HEALTHCHECK').at(-1))).toContain('/healthz');
    expect(args(inFinal('EXPOSE').at(-1))).toBe('4000');
  });

  it('starts the server in exec form (so that it receives SIGTERM), exactly as npm start does', () => {
    const cmd = inFinal('CMD').at(-1) as (Instruction & { getJSONStrings(): { getJSONValue(): string }[] }) | undefined;
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } })
      .scripts.start;
    expect(cmd?.getJSONStrings().map((part) => part.getJSONValue())).toEqual(start.split(' '));
    expect(inFinal('ENTRYPOINT')).toHaveLength(0);
  });

  it('bakes in no secret', () => {
    const declared = instructions
      .filter((instruction) => ['ENV', 'ARG'].includes(instruction.getKeyword()))
      .map(args)
      .join('\n');
    expect(declared).not.toMatch(/SECRET|TOKEN|PASSWORD|API_KEY/i);
  });

  it('copies every file the running server loads', () => {
    const copied = inFinal('COPY')
      .filter((copy) => !args(copy).startsWith('--from'))
      .flatMap((copy) =>
        copy
          .getArguments()
          .slice(0, -1)
          .map((argument) => normalize(argument.getValue())),
      );
    const isCopied = (file: string) => copied.some((source) => file === source || file.startsWith(`${source}/`));

    // Walk the relative imports from the entry point: each must land on a copied file.
    const needed = new Set<string>();
    const visit = (file: string): void => {
      if (needed.has(file)) return;
      needed.add(file);
      if (!file.endsWith('.ts')) return;
      const source = readFileSync(join(root, file), 'utf8');
      for (const [, specifier] of source.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)) {
        visit(normalize(join(dirname(file), specifier ?? '')));
      }
    };
    visit('src/server.ts');
    visit('src/graphiql/render-worker.ts');
    expect([...needed].filter((file) => !isCopied(file))).toEqual([]);
    expect(needed.has('package.json')).toBe(true);
    // And no source file is left out of the image by accident.
    const sources = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).map((file) =>
      relative(root, join(root, 'src', file)),
    );
    expect(sources.filter((file) => file.endsWith('.ts') && !isCopied(file))).toEqual([]);
  });
});
