export const AUTH_MODES = ['jwt', 'api-key', 'passthrough', 'none'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** One entry of GATEWAY_API_KEYS_FILE: a key's digest, and who its holder is. */
export interface ApiKey {
  /** SHA-256 hex digest of the x-api-key value, lowercase. */
  sha256: string;
  /** The ChatBotKit sub-account user this key's sessions are minted as; else CHATBOTKIT_RUNAS_USER_ID. */
  runAsUserId?: string | undefined;
  /** Shown in logs as the caller (`key:<name>`) instead of the digest's prefix. */
  name?: string | undefined;
}

/** The JWT part of the configuration. */
export interface JwtAuthConfig {
  mode: 'jwt';
  /** Exactly one of `jwksUrl` (production) and `secret` (HS256, development). */
  jwksUrl: string | undefined;
  secret: string | undefined;
  issuer: string;
  audience: string;
  requiredScope: string;
  clockToleranceSeconds: number;
  /** Least time between two fetches of the key set, e.g. for an unknown `kid` after a rotation. */
  jwksCooldownSeconds: number;
  /** Age after which the key set is fetched again. */
  jwksMaxAgeSeconds: number;
  /** How long past its max age the last good key set still verifies tokens while fetches fail. */
  jwksMaxStaleSeconds: number;
  /** Deadline of one key-set fetch. */
  jwksTimeoutMs: number;
  /** Claim listing the conversation ids (or `prefix*`) a caller may open. */
  conversationsClaim: string;
  /** Claim naming the ChatBotKit sub-account user the caller's sessions are minted as. */
  runAsClaim: string | undefined;
  /** Whether a token without `runAsClaim` is refused, rather than minting as CHATBOTKIT_RUNAS_USER_ID. */
  runAsRequired: boolean;
}

/** Who may call, and how they prove it. */
export type AuthConfig =
  | { mode: 'none' }
  | { mode: 'passthrough' }
  | {
      mode: 'api-key';
      /** Digests from GATEWAY_API_KEY_HASHES: keys with no name and no run-as user of their own. */
      keyHashes: readonly string[];
      /** Keys from GATEWAY_API_KEYS_FILE; none when it is unset. */
      keys?: readonly ApiKey[];
    }
  | JwtAuthConfig;
