import type { DocumentNode, GraphQLError, GraphQLSchema, ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';

/** Texts longer than this are parsed each time: an operation a client sends is far shorter. */
const MAX_CACHED_DOCUMENT_CHARS = 16 * 1024;
/** All cached texts together, in characters. */
const MAX_CACHED_CHARS = 4 * 1024 * 1024;

interface Validation {
  schema: GraphQLSchema;
  rules: readonly ValidationRule[];
  errors: readonly (GraphQLError | Error)[];
}

/**
 * Parsed documents by text, bounded by their total size, and each document's validation result
 * for the schema and rules it was validated with. In place of Yoga's cache, whose entries are
 * counted rather than sized, and which joins every rule's name into a key on each request. It
 * must come after every plugin that adds validation rules, so that it sees them all.
 */
export function useDocumentCache(): Plugin {
  const documents = new LRUCache<string, DocumentNode>({
    maxSize: MAX_CACHED_CHARS,
    sizeCalculation: (_document, text) => Math.max(1, text.length),
  });
  const validations = new WeakMap<DocumentNode, Validation>();
  return {
    onParse({ params, setParsedDocument }) {
      const text = params.source.toString();
      const document = documents.get(text);
      if (document) {
        setParsedDocument(document);
        return;
      }
      if (text.length > MAX_CACHED_DOCUMENT_CHARS) return;
      return ({ result }) => {
        if (result && !(result instanceof Error)) documents.set(text, result);
      };
    },
    onValidate({ params: { schema, documentAST, rules = [] }, setResult }) {
      const cached = validations.get(documentAST);
      if (cached && cached.schema === schema && sameRules(cached.rules, rules)) {
        setResult([...cached.errors]);
        return;
      }
      return ({ result }) => {
        validations.set(documentAST, { schema, rules: [...rules], errors: result });
      };
    },
  };
}

function sameRules(a: readonly ValidationRule[], b: readonly ValidationRule[]): boolean {
  return a.length === b.length && a.every((rule, index) => rule === b[index]);
}
