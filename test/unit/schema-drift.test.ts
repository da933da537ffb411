import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printPublicSchema, printSubgraphSdl, SCHEMA_FILE, SUBGRAPH_FILE } from '../../scripts/print-schema.ts';

describe('the committed schema files (run `npm run schema:print` after changing the schema)', () => {
  it('schema/schema.graphql matches the public schema the code prints', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(printPublicSchema());
  });

  it('schema/subgraph.graphql matches the _service.sdl a router reads', () => {
    expect(readFileSync(SUBGRAPH_FILE, 'utf8')).toBe(printSubgraphSdl());
  });
});

describe('the public schema', () => {
  const printed = printPublicSchema();

  it('has the shape the product promises', () => {
    expect(printed).toContain('input: CreateConversationSessionInput!\n  ): CreateConversationSessionResult!');
    expect(printed).toMatch(/union CreateConversationSessionResult = .*ConversationSession/);
    const fields = ['conversation: Conversation!', 'conversationId: ID!', 'expiresAt: DateTime!', 'token: String!'];
    expect(printed).toMatch(new RegExp(`type ConversationSession \\{[^}]*${fields.join('[^}]*')}`, 's'));
    expect(printed).toMatch(/interface Error \{[^}]*code: String![^}]*message: String!/s);
  });

  it('keeps federation machinery out', () => {
    expect(printed).not.toMatch(/_service|_entities|_Any|@key|link__/);
  });
});

describe('the subgraph SDL', () => {
  const sdl = printSubgraphSdl();

  it('links Federation v2 and makes Conversation an entity keyed by id', () => {
    expect(sdl).toMatch(/extend schema\s+@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+"/);
    expect(sdl).toMatch(/type Conversation\s+@key\(fields: "id"\)/);
  });

  it('marks the generic error shapes @shareable and hides the upstream kind with @inaccessible', () => {
    for (const type of ['InvalidInputError', 'NotAuthorizedError', 'RateLimitedError']) {
      expect(sdl).toMatch(new RegExp(`type ${type} implements Error\\s+@shareable`));
    }
    expect(sdl).toMatch(/enum UpstreamKind\s+@inaccessible/);
    expect(sdl).toMatch(/upstream: UpstreamKind! @inaccessible/);
    expect(sdl).toMatch(/type ConversationSession\s+@tag\(name: "sessions"\)/);
  });
});
