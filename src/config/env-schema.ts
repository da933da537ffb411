import * as v from 'valibot';

/*
 * Environment parsing with valibot: variables with defaults, descriptions and metadata that the
 * table of variables reads back (so that the table cannot drift from what is checked), and a
 * parse that reports every problem at once. Why valibot: measured from a cold start, importing it
 * and parsing some 40 variables takes about 7 ms, envalid 10 ms, zod 75 ms; envalid is smaller
 * but keeps one error per variable (not per bad list entry) and is little more than a loop
 * around hand-written parsers. Its one cost: npm keeps our TypeScript (its optional peer) in an
 * --omit=dev install, which the Dockerfile removes.
 */

export type Environment = Readonly<Record<string, string | undefined>>;

/** A variable's value: a non-blank, trimmed string in, `T` out, with what it accepts in its metadata. */
export type Value<T> = v.GenericSchema<string, T>;

/** What the table of variables says about one variable. */
export interface VariableDoc {
  name: string;
  type: string;
  /** Bounds or allowed values; empty when any value of the type will do. */
  allowed: string;
  /** The default as one would write it, or how it is derived; empty when there is none. */
  default: string;
  description: string;
}

/** What a value holds that must never reach a log line, in each form a line may carry it. */
export type SecretsOf = (value: string) => readonly string[];

type Facts = Partial<Omit<VariableDoc, 'name' | 'description'>> & { secretsOf?: SecretsOf };

const facts = (schema: v.GenericSchema): Facts => v.getMetadata(schema as v.SchemaWithPipe<[v.GenericSchema]>);

/** A variable that takes its default, written as in the environment and checked like it, when unset. */
export function withDefault<T>(
  value: Value<T>,
  options: { default: string; shown?: string; description: string },
): v.GenericSchema<string | undefined, T> {
  return v.pipe(
    v.optional(value, options.default),
    v.description(options.description),
    v.metadata({ ...facts(value), default: options.shown ?? options.default }),
  ) as v.GenericSchema<string | undefined, T>;
}

/** A variable that stays `undefined` when unset; `shown` tells how the configuration fills the gap. */
export function withoutDefault<T>(
  value: Value<T>,
  options: { shown?: string; description: string },
): v.GenericSchema<string | undefined, T | undefined> {
  return v.pipe(
    v.optional(value),
    v.description(options.description),
    v.metadata({ ...facts(value), default: options.shown ?? '' }),
  );
}

/**
 * Parses every variable the schema names, trimmed and with blanks as unset. A variable with a
 * problem takes its default instead, so that the cross-field rules still run on the rest and
 * every problem is reported at once; `reported` names those variables.
 */
export function parseEnvironment<TEntries extends v.ObjectEntries>(
  schema: v.ObjectSchema<TEntries, undefined>,
  env: Environment,
): {
  values: v.InferOutput<typeof schema>;
  problems: string[];
  reported: ReadonlySet<string>;
  secrets: readonly string[];
} {
  const input: Record<string, string | undefined> = {};
  for (const name of Object.keys(schema.entries)) input[name] = env[name]?.trim() || undefined;
  const secrets = secretsIn(schema, input);
  const first = v.safeParse(schema, input);
  if (first.success) return { values: first.output, problems: [], reported: new Set(), secrets };
  const problems: string[] = [];
  const reported = new Set<string>();
  for (const issue of first.issues) {
    const name = String(issue.path?.[0]?.key);
    problems.push(`${name} ${issue.message}`);
    reported.add(name);
    input[name] = undefined;
  }
  // Defaults are checked by the same schema, so this parse fails only on a bad default: a bug.
  return { values: v.parse(schema, input), problems, reported, secrets };
}

/** Every secret the set variables hold: each kind of value says what of it is secret (`secretsOf`). */
function secretsIn(schema: v.ObjectSchema<v.ObjectEntries, undefined>, input: Environment): string[] {
  return Object.entries(schema.entries).flatMap(([name, variable]) => {
    const value = input[name];
    const { secretsOf } = facts(variable);
    return value === undefined || secretsOf === undefined ? [] : secretsOf(value);
  });
}

/** The table of variables, in the schema's order, from the descriptions and metadata above. */
export function describeVariables(schema: v.ObjectSchema<v.ObjectEntries, undefined>): VariableDoc[] {
  return Object.entries(schema.entries).map(([name, variable]) => {
    const { type = '', allowed = '', default: fallback = '' } = facts(variable);
    return { name, type, allowed, default: fallback, description: v.getDescription(variable) ?? '' };
  });
}
