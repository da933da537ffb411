import { HEADER_VALUE } from '../config/value-types.ts';

/**
 * Whether a value may be sent as `x-runas-user-id`: the rule CHATBOTKIT_RUNAS_USER_ID is held to
 * at start, applied to the per-caller ids of JWT claims and GATEWAY_API_KEYS_FILE alike.
 */
export function isRunAsUserId(value: unknown): value is string {
  return typeof value === 'string' && HEADER_VALUE.test(value);
}
