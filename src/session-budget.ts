import { LRUCache } from 'lru-cache';
import type { Caller } from './auth/authenticate.ts';
import { UpstreamResponseError, UpstreamUnavailableError } from './chatbotkit/errors.ts';
import type { RateLimitDecision, RateLimiter } from './rate-limit.ts';

/** How the session call that a spending paid for ended. */
export interface SettledCall {
  /** The call's failure; undefined when it minted a session. */
  error: unknown;
  /** Requests sent to (or attempted at) ChatBotKit: 0 when the circuit, the bulkhead or the queue refused it. */
  attempts: number;
}

/** What one session call spent, to settle once its upstream call has ended. */
export type Spending =
  | { allowed: false; retryAfterSeconds: number }
  | { allowed: true; settle(call: SettledCall): Promise<void> };

export interface SessionBudget {
  /** Spends one session of the caller's budget, or says why not; no call to ChatBotKit may follow a refusal. */
  spend(caller: Caller): Promise<Spending>;
}

// Digests of 64 hex characters: about 2 MB when full. A token that falls out is only unproven again.
const MAX_ACCEPTED_TOKENS = 10_000;

/**
 * Sessions per caller, and in passthrough mode the failed-auth budget per client address.
 *
 * Passthrough callers each have their own budget, keyed by a digest of their token. A token
 * ChatBotKit has not yet accepted (on this replica) also reserves one point of its address's
 * failed-auth budget before it is forwarded, so that junk cannot reach ChatBotKit more than that
 * budget allows, even all at once; the point is given back unless ChatBotKit answers 401. Tokens
 * that minted a session are remembered (a bounded LRU of digests, forgotten on a 401), and skip
 * the failed-auth budget: junk from the same address never refuses them.
 *
 * A call that never reached ChatBotKit (circuit open, bulkhead full, expired in the queue, or no
 * connection made) gets its session point back: the caller did not cost the upstream anything.
 */
export function createSessionBudget(limiter: Pick<RateLimiter, 'consume' | 'refund' | 'failedAuth'>): SessionBudget {
  const acceptedTokens = new LRUCache<string, true>({ max: MAX_ACCEPTED_TOKENS });

  const settle = async (caller: Caller, reserved: boolean, { error, attempts }: SettledCall): Promise<void> => {
    const reachedChatBotKit = attempts > 0 && !(error instanceof UpstreamUnavailableError && !error.requestSent);
    if (!reachedChatBotKit) await limiter.refund(caller.rateLimitKey);
    const { failedAuthKey } = caller;
    if (failedAuthKey === undefined) return;
    if (error instanceof UpstreamResponseError && error.status === 401) {
      acceptedTokens.delete(caller.rateLimitKey);
      // A token accepted before and refused now (revoked) pays as any refused token does.
      if (!reserved) await limiter.failedAuth.consume(failedAuthKey);
      return;
    }
    if (reserved) await limiter.failedAuth.refund(failedAuthKey);
    if (error === undefined) acceptedTokens.set(caller.rateLimitKey, true);
  };

  return {
    async spend(caller) {
      const { failedAuthKey } = caller;
      const reserved = failedAuthKey !== undefined && !acceptedTokens.has(caller.rateLimitKey);
      if (reserved) {
        const reservation = await limiter.failedAuth.consume(failedAuthKey);
        if (!reservation.allowed) return reservation;
      }
      const decision: RateLimitDecision = await limiter.consume(caller.rateLimitKey);
      if (!decision.allowed) {
        if (reserved) await limiter.failedAuth.refund(failedAuthKey);
        return decision;
      }
      return { allowed: true, settle: (call) => settle(caller, reserved, call) };
    },
  };
}
