export const AUTH_MODES = ['jwt', 'api-key', 'passthrough', 'none'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** Who may call, and how they prove it. */
export type AuthConfig =
  | { mode: 'none' }
  | { mode: 'passthrough' }
  | { mode: 'api-key'; keyHashes: readonly string[] }
  | {
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
      /** Claim listing the conversation ids (or `prefix*`) a caller may open. */
      conversationsClaim: string;
    };
