import { MAX_DURATION_IN_SECONDS } from '../chatbotkit/conversation-session.ts';
import type { ServiceInfo } from '../context.ts';
import { builder } from './builder.ts';

const UpstreamKind = builder.enumType('UpstreamKind', {
  description: 'Which API mints the sessions.',
  values: {
    EMULATOR: { description: 'The built-in local emulator: tokens work nowhere else. Nothing was configured.' },
    CHATBOTKIT: { description: 'ChatBotKit’s own API.' },
    CUSTOM: { description: 'Another URL that speaks ChatBotKit’s API (a proxy or an external emulator).' },
  },
});

const Service = builder.objectRef<ServiceInfo>('Service').implement({
  description: 'This gateway: what it runs and what it talks to.',
  fields: (t) => ({
    version: t.exposeString('version', { description: 'The gateway’s version.' }),
    upstream: t.field({ type: UpstreamKind, description: 'Which API mints the sessions.', resolve: (service) => service.upstream }),
    maxDurationInSeconds: t.int({
      description: 'The longest `durationInSeconds` that `createConversationSession` accepts.',
      resolve: () => MAX_DURATION_IN_SECONDS,
    }),
  }),
});

builder.queryType({ description: 'Read-only operations.' });

builder.queryField('service', (t) =>
  t.field({ type: Service, description: 'Facts about this gateway, for clients and health dashboards.', resolve: (_root, _args, context) => context.service }),
);
