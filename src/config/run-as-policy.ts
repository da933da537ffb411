import type { AuthConfig, AuthMode } from '../auth/options.ts';
import type { Findings } from './policy.ts';
import type { Variables } from './variables.ts';

/*
 * The rules of per-tenant run-as: a setting that names each caller's own sub-account is refused
 * in a mode that would ignore it, since every session would then be minted in one account.
 */

/** Refuses run-as settings of another mode than the one configured. */
export function runAsRules(env: Variables, mode: AuthMode | undefined, found: Findings): void {
  const set = (name: keyof Variables) => env[name] !== undefined || found.reported.has(name);
  if (mode !== 'jwt' && set('JWT_RUNAS_CLAIM')) {
    found.problems.push(
      `JWT_RUNAS_CLAIM=${env.JWT_RUNAS_CLAIM} works only with AUTH_MODE=jwt, and AUTH_MODE is ${mode ?? 'unset'}: ` +
        'every session would be minted as CHATBOTKIT_RUNAS_USER_ID; unset it or set AUTH_MODE=jwt',
    );
  }
  if (env.JWT_RUNAS_REQUIRED && (mode !== 'jwt' || !set('JWT_RUNAS_CLAIM'))) {
    found.problems.push(
      'JWT_RUNAS_REQUIRED=true needs AUTH_MODE=jwt and JWT_RUNAS_CLAIM: set JWT_RUNAS_CLAIM to the claim ' +
        'naming each caller’s sub-account user, or unset JWT_RUNAS_REQUIRED',
    );
  }
  if (mode !== 'api-key' && set('GATEWAY_API_KEYS_FILE')) {
    found.problems.push(
      `GATEWAY_API_KEYS_FILE works only with AUTH_MODE=api-key, and AUTH_MODE is ${mode ?? 'unset'}: ` +
        'unset it or set AUTH_MODE=api-key',
    );
  }
}

/** AUTH_MODE=api-key: the digests of GATEWAY_API_KEY_HASHES and the keys of GATEWAY_API_KEYS_FILE. */
export function chooseApiKeys(env: Variables, found: Findings): Extract<AuthConfig, { mode: 'api-key' }> {
  const keys = env.GATEWAY_API_KEYS_FILE ?? [];
  const fileSet = keys.length > 0 || found.reported.has('GATEWAY_API_KEYS_FILE');
  if (env.GATEWAY_API_KEY_HASHES.length === 0 && !found.reported.has('GATEWAY_API_KEY_HASHES') && !fileSet) {
    found.problems.push(
      'AUTH_MODE=api-key needs GATEWAY_API_KEY_HASHES or GATEWAY_API_KEYS_FILE: set GATEWAY_API_KEY_HASHES to the ' +
        'SHA-256 hex digests of the accepted x-api-key values, comma-separated',
    );
  }
  const inFile = new Set(keys.map((key) => key.sha256));
  env.GATEWAY_API_KEY_HASHES.forEach((hash, index) => {
    if (inFile.has(hash)) {
      found.problems.push(
        `GATEWAY_API_KEY_HASHES entry ${index + 1} is also in GATEWAY_API_KEYS_FILE: ` +
          'remove it from GATEWAY_API_KEY_HASHES, so that the key has one name and one run-as user',
      );
    }
  });
  return { mode: 'api-key', keyHashes: env.GATEWAY_API_KEY_HASHES, keys };
}
