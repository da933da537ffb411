import * as v from 'valibot';
import type { Value } from './env-schema.ts';

/*
 * The kinds of value that hold secrets. Each says in its metadata what of a value is secret
 * (`secretsOf`, in every form a log line may carry it), so that the configuration can hand the
 * logger the full list of what to scrub; and each refuses a secret too short to scrub.
 */

/**
 * The fewest characters of any value the logs are scrubbed of (see `secretsOf`): a shorter one
 * would also be found inside ordinary words, and a line would read `"[redacted]ervice"`.
 */
export const MIN_SCRUBBED_LENGTH = 16;

/**
 * A value that is never shown (a refusal tells only its length) and that every log line is
 * scrubbed of. `header`: the HTTP header it is sent in, so only printable ASCII without spaces
 * will do; anything else would make every call fail later instead of the start now.
 */
export function secret({ minBytes = 0, header }: { minBytes?: number; header?: string } = {}): Value<string> {
  const least = minBytes > 0 ? `at least ${minBytes} bytes` : `at least ${MIN_SCRUBBED_LENGTH} characters`;
  return v.pipe(
    v.string(),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const problem = secretProblem(dataset.value, minBytes, header);
      if (problem) addIssue({ message: problem });
    }),
    v.metadata({
      type: 'secret',
      allowed: header ? `${least}, printable ASCII without spaces` : least,
      secretsOf: (value: string) => [value],
    }),
  );
}

function secretProblem(value: string, minBytes: number, header: string | undefined): string | undefined {
  // The stricter of the two floors speaks: a secret's own minimum, or the one scrubbing needs.
  if (Buffer.byteLength(value) < minBytes) {
    return `must be at least ${minBytes} bytes (it has ${Buffer.byteLength(value)})`;
  }
  if (value.length < MIN_SCRUBBED_LENGTH) {
    return (
      `must be at least ${MIN_SCRUBBED_LENGTH} characters (it has ${value.length}), so that the logs can be ` +
      'scrubbed of it: set the full secret'
    );
  }
  const bad = header === undefined ? null : /[^\x21-\x7e]/.exec(value);
  if (bad) {
    const what = bad[0] === '\n' || bad[0] === '\r' ? 'a line break' : bad[0] === ' ' ? 'a space' : 'a character';
    return (
      `must be printable ASCII without spaces, as it is sent in the ${header} header, and has ${what} at ` +
      `position ${bad.index + 1}: set the secret exactly as it was issued, on one line`
    );
  }
  return undefined;
}

/**
 * The credentials a URL carries in its user information, as written (percent-encoded), decoded
 * (as a client sends them) and re-encoded. A user name alone is taken for a credential only when
 * it is as long as a secret (a token as the user name); `default` or `app` is not scrubbed.
 */
export function urlSecrets(value: string): string[] {
  const url = URL.parse(value);
  if (!url || (!url.username && !url.password)) return [];
  return [url.password, url.username]
    .filter((part, index) => (index === 0 ? part !== '' : decoded(part).length >= MIN_SCRUBBED_LENGTH))
    .flatMap((part) => [part, decoded(part), encodeURIComponent(decoded(part))]);
}

/** Why a URL's password cannot be scrubbed safely, without showing it; `undefined` when it can. */
export function urlPasswordProblem(value: string, shown: string): string | undefined {
  const password = decoded(URL.parse(value)?.password ?? '');
  if (password === '' || password.length >= MIN_SCRUBBED_LENGTH) return undefined;
  return (
    `carries a password of ${password.length} characters (got "${shown}"): the logs are scrubbed of it, ` +
    `which needs at least ${MIN_SCRUBBED_LENGTH}; use a longer password`
  );
}

/**
 * OTLP exporter headers, `name=value` pairs, comma-separated and percent-encoded as the
 * OpenTelemetry SDK reads them (it reads them itself; the gateway only needs to know them to
 * scrub them). A value as long as a secret is taken for a credential (an API key, `Basic …`); a
 * shorter one (a dataset or tenant name) is not, and is not scrubbed.
 */
export function otlpHeaders(): Value<string> {
  return v.pipe(
    v.string(),
    v.metadata({
      type: 'name=value list',
      allowed: `comma-separated; values of ${MIN_SCRUBBED_LENGTH} characters or more are scrubbed from the logs`,
      secretsOf: (raw: string) =>
        raw.split(',').flatMap((pair) => {
          const value = pair.includes('=') ? pair.slice(pair.indexOf('=') + 1).trim() : '';
          return decoded(value).length >= MIN_SCRUBBED_LENGTH ? [value, decoded(value)] : [];
        }),
    }),
  );
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
