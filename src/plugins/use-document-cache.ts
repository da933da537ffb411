import type { DocumentNode, GraphQLError, GraphQLSchema, Token, ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';

/** Texts longer than this are parsed each time: an operation a client sends is far shorter. */
const MAX_CACHED_DOCUMENT_CHARS = 16 * 1024;
/**
 * All cached documents together, in estimated bytes of heap: their texts, and what parsing them
 * made. Measured with graphql 16: a token (comments included, which the token limit does not
 * count and the AST keeps in its token list) with the nodes it makes takes up to about 500 bytes;
 * a character of text, 2 bytes at most. A text of comment lines costs 40 times its length, a short
 * one of many tiny fields 250 times: bounding by nodes or by text alone would let either through.
 */
const MAX_CACHED_BYTES = 16 * 1024 * 1024;
const BYTES_PER_TOKEN = 500;
const BYTES_PER_CHAR = 2;
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
 * Parsed documents by text, bounded by their number and estimated bytes, and each document's validation
 * result for the schema and the rules it was validated with. In place of Yoga's cache, whose
 * entries are counted rather than sized, and which joins every rule's name into a key on each
 * request. The lookup wraps the validation function, so it sees the rules of every plugin,
 * wherever they stand in the list.
 */
export function useDocumentCache(): Plugin {
  const documents = new LRUCache<string, DocumentNode>({
    max: MAX_CACHED_DOCUMENTS,
    maxSize: MAX_CACHED_BYTES,
    sizeCalculation: estimatedBytes,
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

function estimatedBytes(document: DocumentNode, text: string): number {
  return text.length * BYTES_PER_CHAR + tokenCount(document, text) * BYTES_PER_TOKEN;
}

/** Tokens in the document's list, comments included; without locations, a token per character at most. */
function tokenCount(document: DocumentNode, text: string): number {
  if (!document.loc) return text.length;
  let count = 0;
  for (let token: Token | null = document.loc.startToken; token; token = token.next) count++;
  return count;
}

function sameRules(a: readonly ValidationRule[], b: readonly ValidationRule[]): boolean {
  return a.length === b.length && a.every((rule, index) => rule === b[index]);
}
