import { builder } from './builder.ts';
import { guardEntities } from './entities.ts';
import './scalars.ts';
import './errors.ts';
import './conversation.ts';
import './conversation-session.ts';
import './service.ts';

/** Builds the schema this service serves: the public API plus what a router needs (`_service`, `_entities`). */
export function buildSubgraphSchema() {
  return guardEntities(
    builder.toSubGraphSchema({
      linkUrl: 'https://specs.apollo.dev/federation/v2.6',
      federationDirectives: ['@key', '@shareable', '@tag', '@inaccessible'],
    }),
  );
}

/** The API as a client writes operations against it, without the federation machinery. */
export function buildPublicSchema() {
  return builder.toSchema();
}
