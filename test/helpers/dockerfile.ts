import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

// The repository's Dockerfile, parsed (dockerfile-ast): Docker is not available here, so the
// tests read what a build would do from the file itself.

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const dockerfile = DockerfileParser.parse(readFileSync(`${ROOT}/Dockerfile`, 'utf8'));
export const instructions = dockerfile.getInstructions();

/** An instruction's text after its keyword (flags included). */
export const args = (instruction: Instruction | undefined) => instruction?.getArgumentsContent() ?? '';

/** The instructions of each stage, in order, keyed by the stage's name. */
export function stages(): Map<string, Instruction[]> {
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

export const finalStage = [...stages().values()].at(-1) ?? [];
export const inFinal = (keyword: string) => finalStage.filter((instruction) => instruction.getKeyword() === keyword);

type JsonInstruction = Instruction & { getJSONStrings(): { getJSONValue(): string }[] };

/** The final stage's CMD, in exec form. */
export function command(): string[] {
  return (inFinal('CMD').at(-1) as JsonInstruction | undefined)?.getJSONStrings().map((s) => s.getJSONValue()) ?? [];
}

/** The HEALTHCHECK's command as Docker runs it (`CMD [...]`, exec form). */
export function healthcheckCommand(): string[] {
  const content = args(inFinal('HEALTHCHECK').at(-1));
  return JSON.parse(content.slice(content.indexOf('CMD') + 'CMD'.length)) as string[];
}

/** The variables the final stage's ENV instructions set. */
export function imageEnvironment(): Record<string, string> {
  const env = inFinal('ENV') as (Instruction & { getProperties(): { getName(): string; getValue(): string }[] })[];
  return Object.fromEntries(
    env.flatMap((instruction) => instruction.getProperties().map((p) => [p.getName(), p.getValue()])),
  );
}

/** A COPY instruction: from the build context, or from an earlier stage (`--from`). */
export interface Copy {
  from: string | undefined;
  sources: string[];
  destination: string;
}

export function copiesOf(stage: readonly Instruction[]): Copy[] {
  return stage
    .filter((instruction) => instruction.getKeyword() === 'COPY')
    .map((instruction) => {
      const paths = instruction.getArguments().map((argument) => argument.getValue());
      const from = (instruction as Instruction & { getFromFlag(): { getValue(): string } | null }).getFromFlag();
      return { from: from?.getValue(), sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
    });
}
