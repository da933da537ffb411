import { isIP } from 'node:net';
import * as v from 'valibot';
import type { Value } from './env-schema.ts';

/*
 * The kinds of value a variable can hold. Each says what it accepts in its metadata, in the words
 * of the table of variables, and what is wrong in its messages, which follow the variable's name.
 */

export function text(type = 'text'): Value<string> {
  return v.pipe(v.string(), v.metadata({ type }));
}

export function wholeNumber(min: number, max: number): Value<number> {
  return v.pipe(
    v.string(),
    v.check(
      (raw) => /^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max,
      (issue) => `must be a whole number from ${min} to ${max} (got "${issue.input}")`,
    ),
    v.transform(Number),
    v.metadata({ type: 'whole number', allowed: `${min} to ${max}` }),
  );
}

export function boolean(): Value<boolean> {
  return v.pipe(
    v.string(),
    v.toLowerCase(),
    v.picklist(['true', '1', 'false', '0'], (issue) => `must be true or false (got "${String(issue.input)}")`),
    v.transform((raw) => raw === 'true' || raw === '1'),
    v.metadata({ type: 'boolean', allowed: 'true, false, 1, 0' }),
  );
}

export function oneOf<const T extends string>(values: readonly T[]): Value<T> {
  return v.pipe(
    v.string(),
    v.picklist(values, (issue) => `must be one of ${values.join(', ')} (got "${String(issue.input)}")`),
    v.metadata({ type: 'one of', allowed: values.join(', ') }),
  );
}

interface ListEntry {
  kind: string;
  normalize?: (entry: string) => string;
  check: (entry: string) => boolean;
  problem: (entry: string, index: number) => string;
}

/** Comma-separated; each entry checked on its own, so that each bad one is its own problem. */
export function list(entry?: ListEntry): Value<string[]> {
  return v.pipe(
    v.string(),
    v.transform((raw) =>
      raw
        .split(',')
        .map((item) => entry?.normalize?.(item.trim()) ?? item.trim())
        .filter(Boolean),
    ),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed || !entry) return;
      dataset.value.forEach((item, index) => {
        if (!entry.check(item)) addIssue({ message: entry.problem(item, index) });
      });
    }),
    v.metadata({ type: `comma-separated ${entry?.kind ?? 'list'}` }),
  );
}

/** Printable ASCII with no space at either end: what may be sent as an HTTP header's value. */
export const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/** A value sent as an HTTP header must be a legal header value, or every call fails later. */
export function headerValue(type = 'text'): Value<string> {
  return v.pipe(
    v.string(),
    v.regex(
      HEADER_VALUE,
      (issue) => `must be printable ASCII, as it is sent as an HTTP header (got ${JSON.stringify(issue.input)})`,
    ),
    v.metadata({ type, allowed: 'printable ASCII' }),
  );
}

export function timeZone(): Value<string> {
  return v.pipe(
    headerValue('IANA time zone'),
    v.check(isTimeZone, (issue) => `must be an IANA time zone such as "Europe/London" (got "${issue.input}")`),
    v.metadata({ allowed: 'a zone name such as Europe/London' }),
  );
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export function ipAddressOrLocalhost(): Value<string> {
  return v.pipe(
    v.string(),
    v.check(
      (host) => host === 'localhost' || isIP(host) !== 0,
      (issue) => `must be an IP address such as 127.0.0.1, 0.0.0.0 or ::, or localhost (got "${issue.input}")`,
    ),
    v.metadata({ type: 'address', allowed: 'an IP address, or localhost' }),
  );
}

export function origins(): Value<string[]> {
  return list({
    kind: 'origins',
    check: (origin) => URL.canParse(origin) && new URL(origin).origin === origin,
    problem: (origin) => `must list origins such as https://app.example.com, without paths or "*" (got "${origin}")`,
  });
}

export function sha256Digests(): Value<string[]> {
  return list({
    kind: 'SHA-256 hex digests',
    normalize: (hash) => hash.toLowerCase(),
    check: (hash) => /^[0-9a-f]{64}$/.test(hash),
    // Never echo the value: an operator may have pasted a raw key instead of its hash.
    problem: (_hash, index) => `must hold 64-character SHA-256 hex digests (entry ${index + 1} is not one)`,
  });
}

/** A path to a file that `read` turns into a value, or into `undefined` when it cannot. */
export function file<T>(read: (path: string) => T | undefined, problem: (path: string) => string): Value<T> {
  return v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const value = read(dataset.value);
      if (value !== undefined) return value;
      addIssue({ message: problem(dataset.value) });
      return NEVER;
    }),
    v.metadata({ type: 'path', allowed: 'a readable file' }),
  );
}
