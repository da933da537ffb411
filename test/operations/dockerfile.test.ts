import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  args,
  command,
  copiesOf,
  dockerfile,
  finalStage,
  healthcheckCommand,
  inFinal,
  instructions,
  ROOT as root,
  stages,
} from '../helpers/dockerfile.ts';

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

  it('checks health without starting a second Node process per probe', () => {
    expect(healthcheckCommand()[0]).toBe('bash');
    expect(healthcheckCommand().join(' ')).not.toMatch(/\bnode\b/);
  });

  it("starts the compiled server in exec form (so that it receives SIGTERM), with npm start's V8 flags", () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: { start: string; build: string };
    };
    // npm start: node, V8 flags, start.js; the build writes src/server.ts to <outDir>/server.js.
    const [node, ...flags] = scripts.start.split(' ').slice(0, -1);
    expect(scripts.build).toContain('tsconfig.build.json');
    const outDir = /"outDir": "([^"]+)"/.exec(readFileSync(join(root, 'tsconfig.build.json'), 'utf8'))?.[1];
    expect(command()).toEqual([node, ...flags, `${outDir}/server.js`]);
    expect(inFinal('ENTRYPOINT')).toHaveLength(0);
  });

  it('bakes in no secret', () => {
    const declared = instructions
      .filter((instruction) => ['ENV', 'ARG'].includes(instruction.getKeyword()))
      .map(args)
      .join('\n');
    expect(declared).not.toMatch(/SECRET|TOKEN|PASSWORD|API_KEY/i);
  });

  it('builds in a stage of its own; the runtime gets only the build, production dependencies, package.json', () => {
    const build = [...stages().values()].find((stage) =>
      stage.some((instruction) => args(instruction) === 'npm run build'),
    );
    const built = copiesOf(build ?? []).flatMap((copy) => copy.sources);
    expect(built).toEqual(expect.arrayContaining(['src', 'tsconfig.json', 'tsconfig.build.json']));
    expect(copiesOf(finalStage)).toEqual([
      { from: 'deps', sources: ['/app/node_modules'], destination: './node_modules' },
      { from: undefined, sources: ['package.json'], destination: './' },
      { from: 'build', sources: ['/app/dist'], destination: './dist' },
    ]);
  });
});
