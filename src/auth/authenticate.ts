import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { budgetKeyOf } from '../http/client-address.ts';
import { createApiKeyCheck } from './api-keys.ts';
import { createJwtVerifier } from './jwt.ts';
import type { AuthConfig } from './options.ts';

/** Who is calling, once their credentials have been checked. */
export interface Caller {
  /**
   * Stable identity for logs: `jwt:<sub>`, `key:<name>` or `key:<hash prefix>`, `token:<hash prefix>`
   * or `ip:<address>`.
   */
  id: string;
  /** Whose budget a session is charged to: the caller's id, or in passthrough mode a digest of the whole token. */
  rateLimitKey: string;
  /**
   * Passthrough only: the client address whose failed-auth budget pays for this token while
   * ChatBotKit has not accepted it, since any string is a "token" until ChatBotKit says otherwise.
   */
  failedAuthKey?: string;
  /** Whether the caller holds the right to mint sessions (the JWT scope; implied in other modes). */
  mayCreateSessions: boolean;
  /** Conversation ids, or prefixes ending in `*`, this caller may open; undefined means any. */
  conversations: readonly string[] | undefined;
  /** The caller's own ChatBotKit token, in passthrough mode only. */
  chatbotkitToken?: string;
  /** The ChatBotKit sub-account user this caller's sessions are minted as; else CHATBOTKIT_RUNAS_USER_ID. */
  runAsUserId?: string;
  /** Why a known caller may not mint sessions, for the log (a missing scope or run-as claim). */
  refusal?: string;
}

/** The outcome of checking one request's credentials: a caller, or why there is none. */
export type Authentication = { caller: Caller } | { caller: undefined; reason: string };

/** Reads one request header (a Fetch `Headers`, or node's headers behind the same method). */
export type HeaderReader = Pick<Headers, 'get'>;

export type Authenticator = (headers: HeaderReader, clientAddress: string) => Promise<Authentication>;

/** Builds the credential check for the configured mode; `logger` hears of key-set failures. */
export function createAuthenticator(config: AuthConfig, logger: Pick<Logger, 'warn' | 'info'>): Authenticator {
  switch (config.mode) {
    case 'none':
      return async (_headers, address) => ({
        caller: {
          id: `ip:${address}`,
          rateLimitKey: budgetKeyOf(address),
          mayCreateSessions: true,
          conversations: undefined,
        },
      });
    case 'passthrough':
      return async (headers, address) => {
        const token = bearerToken(headers);
        if (!token) return { caller: undefined, reason: 'no bearer token' };
        const digest = sha256(token);
        return {
          caller: {
            id: `token:${digest.slice(0, 16)}`,
            rateLimitKey: `token:${digest}`,
            failedAuthKey: budgetKeyOf(address),
            mayCreateSessions: true,
            conversations: undefined,
            chatbotkitToken: token,
          },
        };
      };
    case 'api-key': {
      const check = createApiKeyCheck(config.keyHashes, config.keys);
      return async (headers) => {
        const key = headers.get('x-api-key');
        return key ? check(key) : { caller: undefined, reason: 'no x-api-key header' };
      };
    }
    case 'jwt': {
      const verify = createJwtVerifier(config, logger);
      return async (headers) => {
        const token = bearerToken(headers);
        return token ? verify(token) : { caller: undefined, reason: 'no bearer token' };
      };
    }
  }
}

function bearerToken(headers: HeaderReader): string | undefined {
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(headers.get('authorization') ?? '');
  return match?.[1];
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Whether the caller may open a session on this conversation, given the global prefixes and their own list. */
export function mayOpenConversation(
  caller: Caller,
  conversationId: string,
  globalPrefixes: readonly string[],
): boolean {
  if (globalPrefixes.length > 0 && !globalPrefixes.some((prefix) => conversationId.startsWith(prefix))) return false;
  if (caller.conversations === undefined) return true;
  return caller.conversations.some((allowed) =>
    allowed.endsWith('*') ? conversationId.startsWith(allowed.slice(0, -1)) : conversationId === allowed,
  );
}
