/** ChatBotKit's own API; the client and the configuration both default to it. */
export const DEFAULT_BASE_URL = 'https://api.chatbotkit.com';

/**
 * Where sessions are minted: the built-in emulator (nothing configured), or an HTTP API,
 * ChatBotKit's own or anything that speaks its contract.
 */
export type UpstreamConfig = { kind: 'emulator' } | { kind: 'http'; baseUrl: string; secret: string | undefined };

/** How the gateway treats a slow or failing upstream (see the failure table in docs/errors.md). */
export interface ResilienceConfig {
  connectTimeoutMs: number;
  /** 0: only the call's deadline bounds the wait for headers, or for the body. */
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
  circuitThreshold: number;
  circuitHalfOpenAfterMs: number;
  maxConcurrent: number;
  maxQueued: number;
}

/** The upstream part of the gateway's configuration. */
export interface ChatBotKitOptions {
  upstream: UpstreamConfig;
  runAsUserId: string | undefined;
  timezone: string | undefined;
  /** Deadline of one call, retries and queueing included. */
  upstreamTimeoutMs: number;
  resilience: ResilienceConfig;
}
