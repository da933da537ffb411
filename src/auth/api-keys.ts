import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import type { Value } from '../config/env-schema.ts';
import type { Authentication } from './authenticate.ts';
import type { ApiKey } from './options.ts';
import { isRunAsUserId } from './run-as.ts';

/**
 * Checks an `x-api-key` value against every configured digest (GATEWAY_API_KEY_HASHES, and the
 * entries of GATEWAY_API_KEYS_FILE with their names and run-as users).
 */
export function createApiKeyCheck(keyHashes: readonly string[], keys: readonly ApiKey[] = []) {
  const known = [...keyHashes.map((sha256): ApiKey => ({ sha256 })), ...keys].map((key) => ({
    ...key,
    digest: Buffer.from(key.sha256, 'hex'),
  }));
  return (value: string): Authentication => {
    const digest = createHash('sha256').update(value).digest();
    // Compare against every key in constant time, so timing tells nothing about which matched.
    let match: (typeof known)[number] | undefined;
    for (const key of known) if (timingSafeEqual(digest, key.digest)) match ??= key;
    if (!match) return { caller: undefined, reason: 'unknown API key' };
    const id = `key:${match.name ?? match.sha256.slice(0, 16)}`;
    return {
      caller: {
        id,
        rateLimitKey: id,
        mayCreateSessions: true,
        conversations: undefined,
        ...(match.runAsUserId !== undefined && { runAsUserId: match.runAsUserId }),
      },
    };
  };
}

const FIELDS = ['sha256', 'runAsUserId', 'name'];
// Names become the caller's id in logs and its rate-limit key: short and plain.
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** GATEWAY_API_KEYS_FILE: a JSON list of `{ sha256, runAsUserId?, name? }`, every problem on its own line. */
export function apiKeysFile(): Value<ApiKey[]> {
  return v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const { keys, problems } = readApiKeys(dataset.value);
      for (const message of problems) addIssue({ message });
      return problems.length === 0 ? keys : NEVER;
    }),
    v.metadata({ type: 'path', allowed: 'a JSON list of { sha256, runAsUserId, name }' }),
  );
}

/** The keys of the file at `path`, or what is wrong with it. */
export function readApiKeys(path: string): { keys: ApiKey[]; problems: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    // The parser's message could quote the file, and so a raw key: never shown.
    return { keys: [], problems: [`must be a readable JSON file (got "${path}")`] };
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    return { keys: [], problems: [`must hold a non-empty JSON list of { "sha256", "runAsUserId", "name" } (${path})`] };
  }
  const problems: string[] = [];
  const keys = parsed.map((entry: unknown, index) => {
    const entryProblems = checkEntry(entry);
    problems.push(...entryProblems.map((problem) => `entry ${index + 1} of ${path}: ${problem}`));
    return entry as ApiKey;
  });
  if (problems.length > 0) return { keys: [], problems };
  const normalized = keys.map((key) => ({ ...key, sha256: key.sha256.toLowerCase() }));
  return { keys: normalized, problems: repeats(normalized, path) };
}

function checkEntry(entry: unknown): string[] {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return ['must be an object { "sha256", "runAsUserId", "name" }'];
  }
  const { sha256, runAsUserId, name, ...rest } = entry as Record<string, unknown>;
  const problems = Object.keys(rest).map(
    (field) => `unknown field ${JSON.stringify(field)}: the fields are ${FIELDS.join(', ')}`,
  );
  // Never echo the digest: an operator may have pasted a raw key instead.
  if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    problems.push('"sha256" must be the 64-character SHA-256 hex digest of the key');
  }
  if (runAsUserId !== undefined && !isRunAsUserId(runAsUserId)) {
    problems.push(
      `"runAsUserId" must be printable ASCII, as it is sent as a header (got ${JSON.stringify(runAsUserId)})`,
    );
  }
  if (name !== undefined && !(typeof name === 'string' && NAME.test(name))) {
    problems.push(`"name" must be 1 to 64 letters, digits, ".", "_" or "-" (got ${JSON.stringify(name)})`);
  }
  return problems;
}

/** Two entries for one key, or two keys under one name, would make the caller ambiguous. */
function repeats(keys: ApiKey[], path: string): string[] {
  const problems: string[] = [];
  const seen = { sha256: new Map<string, number>(), name: new Map<string, number>() };
  keys.forEach((key, index) => {
    const first = seen.sha256.get(key.sha256);
    if (first !== undefined)
      problems.push(`entry ${index + 1} of ${path} has the digest of entry ${first}: remove one`);
    else seen.sha256.set(key.sha256, index + 1);
    if (key.name === undefined) return;
    const named = seen.name.get(key.name);
    if (named !== undefined) {
      problems.push(`entry ${index + 1} of ${path} has the name "${key.name}" of entry ${named}: names must differ`);
    } else seen.name.set(key.name, index + 1);
  });
  return problems;
}
