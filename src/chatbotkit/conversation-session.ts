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

export type CallOptions = Pick<
  FetchOptions,
  'requestId' | 'runAsUserId' | 'headers' | 'onSettled' | 'timeout' | 'retries' | 'signal'
>;

// ChatBotKit ids are short URL-safe strings. Anything else is refused before a request is
// built, so no value can add a path segment, a query or a fragment to the route.
export const CONVERSATION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

// A session token is a credential for the conversation; the gateway bounds how long one lives.
export const MAX_DURATION_IN_SECONDS = 86_400;

declare const validated: unique symbol;

/** A conversation id that passed `validateCreate`: one path segment of `[A-Za-z0-9_-]`, nothing to escape. */
export type ConversationId = string & { readonly [validated]: true };

/** The arguments of a `create` call, checked by `validateCreate`, the only place that makes one. */
export interface ValidatedCreate {
  readonly conversationId: ConversationId;
  readonly durationInSeconds: number | undefined;
}

/** Mints conversation session tokens, as the SDK's `ConversationSessionClient`. */
export class ConversationSessionClient extends ChatBotKitClient {
  /** Creates a new session for the conversation; refuses bad arguments before any request. */
  async create(
    conversationId: string,
    request: ConversationSessionCreateRequest = {},
    options: CallOptions = {},
  ): Promise<ConversationSessionCreateResponse> {
    return this.createValidated(validateCreate(conversationId, request), options);
  }

  /**
   * Creates a session from arguments `validateCreate` has checked, for callers that check them
   * before other work (the resolver does, so that bad input spends no rate-limit budget).
   */
  async createValidated(
    { conversationId, durationInSeconds }: ValidatedCreate,
    options: CallOptions = {},
  ): Promise<ConversationSessionCreateResponse> {
    // The id's type guarantees a single safe segment, so it goes into the route as it is.
    const path = `/api/v1/conversation/${conversationId}/session/create`;
    const data = durationInSeconds === undefined ? {} : { durationInSeconds };
    const session = parseSession(await this.clientFetch(path, { ...options, data }));
    if (session.id !== conversationId) throw new MalformedResponseError(200, 'answer is for another conversation');
    return session;
  }
}

/**
 * The one check of a `create` call's arguments, at the edge where user input becomes the route:
 * refuses an id or duration the API must never see, before any request is built.
 */
export function validateCreate(conversationId: string, request: ConversationSessionCreateRequest): ValidatedCreate {
  if (!CONVERSATION_ID_PATTERN.test(conversationId)) {
    throw new InvalidArgumentError('conversationId', 'must be 1 to 64 letters, digits, "-" or "_"');
  }
  const duration = request.durationInSeconds;
  if (duration !== undefined && !(Number.isInteger(duration) && duration >= 1 && duration <= MAX_DURATION_IN_SECONDS)) {
    throw new InvalidArgumentError('durationInSeconds', `must be a whole number from 1 to ${MAX_DURATION_IN_SECONDS}`);
  }
  return { conversationId: conversationId as ConversationId, durationInSeconds: duration };
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
