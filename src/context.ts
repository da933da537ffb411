import type { Logger } from 'pino';
import type {
  ConversationSessionCreateRequest,
  ConversationSessionCreateResponse,
} from './chatbotkit/conversation-session.ts';

/** Which API mints the sessions, as `Query.service` reports it. */
export type UpstreamKind = 'EMULATOR' | 'CHATBOTKIT' | 'CUSTOM';

export interface ServiceInfo {
  version: string;
  upstream: UpstreamKind;
}

/** What every resolver gets: the request's id and logger, and the upstream bound to this request. */
export interface GraphQLContext {
  requestId: string;
  log: Logger;
  service: ServiceInfo;
  createConversationSession(
    conversationId: string,
    request: ConversationSessionCreateRequest,
  ): Promise<ConversationSessionCreateResponse>;
}
