import { ChatBotKitClient, type FetchOptions } from './client.ts';
import { InvalidArgumentError, MalformedResponseError } from './errors.ts';

/** Body of `POST /v1/conversation/{conversationId}/session/create`. */
export interface ConversationSessionCreateRequest {
  /** How long the session stays open, in seconds. */
  durationInSeconds?: number | undefined;
}

/** The API's answer: `id` is the conversation's id, `expiresAt` is epoch milliseconds. */
export interface ConversationSessionCreateResponse {
  id: string;
  token: string;
  expiresAt: number;
}

export type CallOptions = Pick<FetchOptions, 'requestId' | 'headers' | 'onSettled' | 'timeout' | 'retries'>;

// ChatBotKit ids are short URL-safe strings. Anything else is refused before a request is
// built, so no value can add a path segment, a query or a fragment to the route.
export const CONVERSATION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

// A session token is a credential for the conversation; the gateway bounds how long one lives.
export const MAX_DURATION_IN_SECONDS = 86_400;

/** Mints conversation session tokens, as the SDK's `ConversationSessionClient`. */
export class ConversationSessionClient extends ChatBotKitClient {
  /** Creates a new session for the conversation. */
  async create(
    conversationId: string,
    request: ConversationSessionCreateRequest = {},
    options: CallOptions = {},
  ): Promise<ConversationSessionCreateResponse> {
    validateCreate(conversationId, request);
    const path = `/api/v1/conversation/${encodeURIComponent(conversationId)}/session/create`;
    const data = request.durationInSeconds === undefined ? {} : { durationInSeconds: request.durationInSeconds };
    const session = parseSession(await this.clientFetch(path, { ...options, data }));
    if (session.id !== conversationId) throw new MalformedResponseError(200, 'answer is for another conversation');
    return session;
  }
}

/** Refuses an id or duration the API must never see, before any request is built. */
export function validateCreate(conversationId: string, request: ConversationSessionCreateRequest): void {
  if (!CONVERSATION_ID_PATTERN.test(conversationId)) {
    throw new InvalidArgumentError('conversationId', 'must be 1 to 64 letters, digits, "-" or "_"');
  }
  const duration = request.durationInSeconds;
  if (duration !== undefined && !(Number.isInteger(duration) && duration >= 1 && duration <= MAX_DURATION_IN_SECONDS)) {
    throw new InvalidArgumentError('durationInSeconds', `must be a whole number from 1 to ${MAX_DURATION_IN_SECONDS}`);
  }
}

function parseSession(body: unknown): ConversationSessionCreateResponse {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const { id, token, expiresAt } = fields;
  if (typeof id !== 'string' || id === '') throw new MalformedResponseError(200, 'answer has no string "id"');
  if (typeof token !== 'string' || token === '') throw new MalformedResponseError(200, 'answer has no string "token"');
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || Number.isNaN(new Date(expiresAt).getTime())) {
    throw new MalformedResponseError(200, 'answer has no epoch-milliseconds "expiresAt"');
  }
  return { id, token, expiresAt };
}
