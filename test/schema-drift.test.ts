import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printPublicSchema, SCHEMA_FILE } from '../scripts/print-schema.ts';

describe('schema/schema.graphql', () => {
  it('matches what the code prints (run `npm run schema:print` after changing the schema)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(printPublicSchema());
  });

  it('has the public shape the product promises', () => {
    const printed = printPublicSchema();
    expect(printed).toContain('createConversationSession(');
    expect(printed).toContain('input: CreateConversationSessionInput!\n  ): CreateConversationSessionResult!');
    expect(printed).toMatch(/union CreateConversationSessionResult = .*ConversationSession/);
    expect(printed).toMatch(/type ConversationSession \{[^}]*conversationId: ID![^}]*expiresAt: DateTime![^}]*token: String!/s);
    expect(printed).toMatch(/interface Error \{[^}]*code: String![^}]*message: String!/s);
  });
});
