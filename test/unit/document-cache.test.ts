import { type DocumentNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { useDocumentCache } from '../../src/plugins/use-document-cache.ts';

/*
 * The document cache keeps parsed documents by text, bounded by their estimated size in memory,
 * not by the length of their texts alone: a short text of many tiny fields, or one of many comment
 * lines, parses into far more memory than its length.
 */

type ParseHook = (payload: {
  params: { source: string };
  setParsedDocument(document: DocumentNode): void;
}) => ((after: { result: DocumentNode }) => void) | undefined;

/** Parses `text` through the cache as envelop would; says whether the cache answered. */
function parseThrough(onParse: ParseHook, text: string): boolean {
  let cached = false;
  const after = onParse({ params: { source: text }, setParsedDocument: () => (cached = true) });
  after?.({ result: parse(text) });
  return cached;
}

/** `{ f<n> a a a … }`: ~2 KB of text, ~1,000 field nodes. */
const manyTinyFields = (n: number) => `{ f${n} ${'a '.repeat(1000)}}`;

describe('the document cache', () => {
  it('answers a document it has parsed, by its text', () => {
    const onParse = useDocumentCache().onParse as ParseHook;
    expect(parseThrough(onParse, '{ sessionGateway { version } }')).toBe(false);
    expect(parseThrough(onParse, '{ sessionGateway { version } }')).toBe(true);
  });

  it('keeps a few hundred short documents', () => {
    const onParse = useDocumentCache().onParse as ParseHook;
    for (let i = 0; i < 500; i++) parseThrough(onParse, `{ f${i} }`);
    expect(parseThrough(onParse, '{ f0 }')).toBe(true);
  });

  it('lets documents of many nodes go long before their texts fill megabytes', () => {
    const onParse = useDocumentCache().onParse as ParseHook;
    parseThrough(onParse, manyTinyFields(0));
    // 300 such texts are 600 KB, but 300,000 nodes: more than the cache keeps.
    for (let i = 1; i <= 300; i++) parseThrough(onParse, manyTinyFields(i));
    expect(parseThrough(onParse, manyTinyFields(0))).toBe(false);
    expect(parseThrough(onParse, manyTinyFields(300))).toBe(true);
  });

  it('lets documents padded with comment lines go, though they have hardly any nodes', () => {
    const onParse = useDocumentCache().onParse as ParseHook;
    // ~14 KB of text, 7,000 comment tokens that the parsed document keeps: over half a megabyte each.
    const commentLines = (n: number) => `# ${n}\n${'#\n'.repeat(7000)}{ sessionGateway { version } }`;
    for (let i = 0; i <= 30; i++) parseThrough(onParse, commentLines(i));
    expect(parseThrough(onParse, commentLines(0))).toBe(false);
    expect(parseThrough(onParse, commentLines(30))).toBe(true);
  });

  it('does not keep a text over 16 KB', () => {
    const onParse = useDocumentCache().onParse as ParseHook;
    const long = `{ sessionGateway { version } }${' '.repeat(17 * 1024)}`;
    parseThrough(onParse, long);
    expect(parseThrough(onParse, long)).toBe(false);
  });
});
