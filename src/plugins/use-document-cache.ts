import { type DocumentNode, type GraphQLError, type GraphQLSchema, type ValidationRule, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';

/** Texts longer than this are parsed each time: an operation a client sends is far shorter. */
const MAX_CACHED_DOCUMENT_CHARS = 16 * 1024;
/**
 * All cached documents together, in AST nodes: a parsed node takes a few hundred bytes, so this
 * bounds the cache to tens of megabytes, whatever the documents' texts (a short text of many
 * tiny fields parses into far more memory than a long one of long names).
 */
const MAX_CACHED_NODES = 200_000;
const MAX_CACHED_DOCUMENTS = 1000;

interface Validation {
  schema: GraphQLSchema;
  rules: readonly ValidationRule[];
  errors: readonly (GraphQLError | Error)[];
}

type ValidateFn = (
  schema: GraphQLSchema,
  document: DocumentNode,
  rules?: readonly ValidationRule[],
  ...rest: never[]
) => readonly (GraphQLError | Error)[];

/**
 * Parsed documents by text, bounded by their number and AST size, and each document's validation
 * result for the schema and the rules it was validated with. In place of Yoga's cache, whose
 * entries are counted rather than sized, and which joins every rule's name into a key on each
 * request. The lookup wraps the validation function, so it sees the rules of every plugin,
 * wherever they stand in the list.
 */
export function useDocumentCache(): Plugin {
  const documents = new LRUCache<string, DocumentNode>({
    max: MAX_CACHED_DOCUMENTS,
    maxSize: MAX_CACHED_NODES,
    sizeCalculation: nodeCount,
  });
  const validations = new WeakMap<DocumentNode, Validation>();
  const cachedValidation =
    (validate: ValidateFn): ValidateFn =>
    (schema, document, rules = [], ...rest) => {
      const cached = validations.get(document);
      if (cached && cached.schema === schema && sameRules(cached.rules, rules)) return [...cached.errors];
      const errors = validate(schema, document, rules, ...rest);
      validations.set(document, { schema, rules: [...rules], errors });
      return errors;
    };
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
    onValidate({ validateFn, setValidationFn }) {
      setValidationFn(cachedValidation(validateFn as ValidateFn) as typeof validateFn);
    },
  };
}

function nodeCount(document: DocumentNode): number {
  let count = 0;
  visit(document, {
    enter() {
      count++;
    },
  });
  return count;
}

function sameRules(a: readonly ValidationRule[], b: readonly ValidationRule[]): boolean {
  return a.length === b.length && a.every((rule, index) => rule === b[index]);
}
