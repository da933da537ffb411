import { isIP } from 'node:net';
import { DEFAULT_BASE_URL } from './chatbotkit/client.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Where sessions are minted: the built-in emulator (nothing configured), or an HTTP API,
 * ChatBotKit's own or anything that speaks its contract.
 */
export type UpstreamConfig =
  | { kind: 'emulator' }
  | { kind: 'http'; baseUrl: string; secret: string | undefined };

export interface Config {
  port: number;
  host: string;
  upstream: UpstreamConfig;
  runAsUserId: string | undefined;
  timezone: string | undefined;
  upstreamTimeoutMs: number;
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
  production: boolean;
  /** Browser origins allowed to call the gateway (CORS); empty means same-origin only. */
  corsOrigins: readonly string[];
}

/** Every problem found in the environment, one line each. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/** Reads the environment once, at start; nothing else in the service reads `process.env`. */
export function loadConfig(env: Env): Readonly<Config> {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };

  // Values sent as HTTP headers must be legal header values, or every call would fail later.
  const headerValue = (name: string): string | undefined => {
    const value = read(name);
    if (value !== undefined && !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value)) {
      problems.push(`${name} must be printable ASCII, as it is sent as an HTTP header`);
    }
    return value;
  };

  const production = read('NODE_ENV') === 'production';
  const upstream = readUpstream(read('CHATBOTKIT_API_URL'), read('CHATBOTKIT_SECRET'), production, problems);
  const timezone = headerValue('CHATBOTKIT_TIMEZONE');
  if (timezone !== undefined && !isTimeZone(timezone)) {
    problems.push(`CHATBOTKIT_TIMEZONE must be an IANA time zone such as "Europe/London" (got "${timezone}")`);
  }
  const logLevel = read('LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }

  const host = read('HOST') ?? '127.0.0.1';
  if (host !== 'localhost' && isIP(host) === 0) {
    problems.push(`HOST must be an IP address such as 127.0.0.1, 0.0.0.0 or ::, or localhost (got "${host}")`);
  }

  const config: Config = {
    port: integer('PORT', 4000, 0, 65_535),
    host,
    upstream,
    runAsUserId: headerValue('CHATBOTKIT_RUNAS_USER_ID'),
    timezone,
    upstreamTimeoutMs: integer('UPSTREAM_TIMEOUT_MS', 10_000, 100, 120_000),
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 300_000),
    logLevel: logLevel as LogLevel,
    production,
    corsOrigins: readCorsOrigins(read('CORS_ORIGINS'), problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

function readUpstream(apiUrl: string | undefined, secret: string | undefined, production: boolean, problems: string[]): UpstreamConfig {
  if (apiUrl === undefined && secret === undefined) {
    if (production) {
      problems.push('NODE_ENV is production but CHATBOTKIT_SECRET is not set: refusing to serve sessions from the local emulator');
    }
    return { kind: 'emulator' };
  }
  if (production && secret === undefined) {
    problems.push('NODE_ENV is production but CHATBOTKIT_SECRET is not set: the ChatBotKit API needs it');
  }
  const baseUrl = apiUrl ?? DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    problems.push(`CHATBOTKIT_API_URL must be an absolute http(s) URL (got "${baseUrl}")`);
    return { kind: 'emulator' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`CHATBOTKIT_API_URL must use http or https (got "${url.protocol}")`);
  } else if (url.username || url.password || url.search || url.hash) {
    problems.push('CHATBOTKIT_API_URL must not carry credentials, a query or a fragment');
  } else if (secret !== undefined && url.protocol === 'http:' && !isLoopback(url.hostname)) {
    problems.push('CHATBOTKIT_API_URL is plain http to another host: the secret would cross the network unencrypted; use https');
  }
  return { kind: 'http', baseUrl, secret };
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || (isIP(hostname) === 4 && hostname.startsWith('127.'));
}

function readCorsOrigins(value: string | undefined, problems: string[]): string[] {
  if (value === undefined) return [];
  const origins = value.split(',').map((origin) => origin.trim()).filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) {
      problems.push(`CORS_ORIGINS must list origins such as https://app.example.com, without paths or "*" (got "${origin}")`);
    }
  }
  return origins;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
