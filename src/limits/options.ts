import { readFileSync } from 'node:fs';

/** What a caller may send and how often: body size, discovery, persisted operations, rate limit. */
export interface LimitsConfig {
  graphiql: boolean;
  introspection: boolean;
  /** ROUTER_SHARED_SECRET: when set, `_service` and `_entities` answer only requests whose `x-router-secret` is it. */
  routerSecret: string | undefined;
  /** Without a router secret: whether `_service` answers anyone (`_entities` always does then). */
  anonymousService: boolean;
  maxBodyBytes: number;
  /** Operation hash → document, from PERSISTED_OPERATIONS_FILE; when set, only these run. */
  persistedOperations: Readonly<Record<string, string>> | undefined;
  /** Sessions each caller may mint per window. */
  rateLimitPoints: number;
  rateLimitWindowSeconds: number;
  /** Passthrough: tokens ChatBotKit may refuse per client address and window. */
  failedAuthPoints: number;
  /** Shared rate-limit counters for several replicas; in memory when unset. */
  redisUrl: string | undefined;
}

/** The allow-list in PERSISTED_OPERATIONS_FILE, or `undefined` when it is unreadable or not that shape. */
export function readPersistedOperations(file: string): Record<string, string> | undefined {
  try {
    const operations: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const entries = typeof operations === 'object' && operations !== null ? Object.entries(operations) : [];
    if (entries.length === 0 || entries.some(([, document]) => typeof document !== 'string')) return undefined;
    return Object.fromEntries(entries) as Record<string, string>;
  } catch {
    return undefined;
  }
}
