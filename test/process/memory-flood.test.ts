import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/process.ts';

/*
 * Anonymous callers flood the gateway with a public query, each copy made unique by a comment,
 * so that every request is a document the gateway has never seen: on both request paths, of
 * every size up to the body limit, under and over the 16 KB the document cache keeps. Texts the
 * cache may keep are padded with comment lines, the costliest text to keep per byte (the parsed
 * document holds each comment as a token): 0.5 to 1 MB each. The process's resident memory may
 * grow only by about the document cache's bound (16 MiB, src/plugins/use-document-cache.ts) and
 * the garbage collector's slack.
 */

const REQUESTS = 8_000;
const WARM_UP = 1_000;
const CONNECTIONS = 16;
// The cache's 16 MiB, and twice that for the heap's slack between collections. Measured: 5 to 18 MB
// with the cache bounded by bytes; 128 MB with one bounded by AST nodes (comments uncounted); an
// unbounded one exhausts the heap.
const MAX_GROWTH_BYTES = 48 * 1024 * 1024;
const QUERY = '{ sessionGateway { version } }';

/** The public query after `lines` comment lines, the first of them unique to request `n`. */
function padded(n: number, lines: number): string {
  return `# flood ${n}\n${'#\n'.repeat(lines)}${QUERY}`;
}

/** The public query after one comment of `chars` characters, unique to request `n`. */
function longComment(n: number, chars: number): string {
  return `# flood ${n} ${'x'.repeat(chars)}\n${QUERY}`;
}

/** Request `n`: POSTed JSON (the known-operation path up to 16 KB, Yoga beyond) or a GET (Yoga), of varied sizes. */
function floodRequest(n: number): { method: 'GET' | 'POST'; path: string; body?: string } {
  switch (n % 4) {
    case 0: // a body of ~6 KB, a text of 4 KB: cached, on the known-operation path
      return post(padded(n, 2_000));
    case 1: // a URL of ~6 KB, a text of 2 KB: cached, through Yoga
      return { method: 'GET', path: `/graphql?query=${encodeURIComponent(padded(n, 1_000))}` };
    case 2: // ~24 KB: over the cache's limit, through Yoga
      return post(longComment(n, 24_000));
    default: // a body just under the 64 KiB limit
      return post(longComment(n, 65_000));
  }
}

function post(query: string) {
  return { method: 'POST' as const, path: '/graphql', body: JSON.stringify({ query }) };
}

/** Sends requests `from` to `to` - 1, CONNECTIONS at a time; every answer must be the query's data. */
async function flood(pool: Pool, from: number, to: number): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const request = floodRequest(next++);
      const { statusCode, body } = await pool.request({
        ...request,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
      });
      const text = await body.text();
      if (statusCode !== 200 || !text.includes('"version"')) throw new Error(`answered ${statusCode}: ${text}`);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
}

function residentBytes(pid: number): number {
  const kilobytes = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kilobytes === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kilobytes) * 1024;
}

describe('a flood of unique documents', () => {
  let server: ServerProcess;
  let pool: Pool;

  beforeAll(async () => {
    server = await startServerProcess({
      RATE_LIMIT_POINTS: '1000000000',
      // The heap a small container would give it: an unbounded cache runs out of it.
      NODE_OPTIONS: '--max-old-space-size=256',
    });
    pool = new Pool(server.url, { connections: CONNECTIONS });
  });
  afterAll(async () => {
    await pool?.close();
    await server?.stop();
  });

  it('grows the gateway’s memory by no more than its caches’ bounds', { timeout: 60_000 }, async () => {
    const pid = server.child.pid as number;
    await flood(pool, 0, WARM_UP);
    const before = residentBytes(pid);
    await flood(pool, WARM_UP, WARM_UP + REQUESTS);
    const growth = residentBytes(pid) - before;
    expect(growth, `RSS grew by ${Math.round(growth / 1024 / 1024)} MB`).toBeLessThan(MAX_GROWTH_BYTES);
  });
});
