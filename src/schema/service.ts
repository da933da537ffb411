import { MAX_DURATION_IN_SECONDS } from '../chatbotkit/conversation-session.ts';
import type { ServiceInfo } from '../context.ts';
import { builder } from './builder.ts';

// Which API mints the sessions is operational detail: @inaccessible keeps it out of a
// supergraph's public API, while callers of this service itself still see it.
const UpstreamKind = builder.enumType('UpstreamKind', {
  description: 'Which API mints the sessions.',
  inaccessible: true,
  values: {
    EMULATOR: { description: 'The built-in local emulator: tokens work nowhere else. Nothing was configured.' },
    CHATBOTKIT: { description: 'ChatBotKit’s own API.' },
    CUSTOM: { description: 'Another URL that speaks ChatBotKit’s API (a proxy or an external emulator).' },
  },
});

const SessionGateway = builder.objectRef<ServiceInfo>('SessionGateway').implement({
  description: 'This session gateway: what it runs, what it talks to, and its limits.',
  fields: (t) => ({
    version: t.exposeString('version', { description: 'The gateway’s version.' }),
    upstream: t.field({
      type: UpstreamKind,
      inaccessible: true,
      description: 'Which API mints the sessions.',
      resolve: (service) => service.upstream,
    }),
    maxDurationInSeconds: t.int({
      description: 'The longest `durationInSeconds` that `createConversationSession` accepts.',
      resolve: () => MAX_DURATION_IN_SECONDS,
    }),
  }),
});

builder.queryType({ description: 'Read-only operations.' });

builder.queryField('sessionGateway', (t) =>
  t.field({
    type: SessionGateway,
    description: 'Facts about this session gateway, for clients and health dashboards.',
    resolve: (_root, _args, context) => context.service,
  }),
);
