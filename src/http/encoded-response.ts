import type { FetchAPI } from 'graphql-yoga';

/**
 * What Yoga's result processors build an answer with: a JSON answer's string body, status and
 * plain headers are kept as given, to be written in one go; anything else (a stream) becomes
 * Yoga's own Response.
 */
export class EncodedResponse {
  readonly body: string | null;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Record<string, string>;

  constructor(body: string | null, init: { status: number; statusText?: string; headers: Record<string, string> }) {
    this.body = body;
    this.status = init.status;
    this.statusText = init.statusText ?? '';
    this.headers = init.headers;
  }
}

export function encodingFetchAPI(fetchAPI: FetchAPI): FetchAPI {
  // A class, as Yoga calls `new fetchAPI.Response(...)`.
  const Response = class {
    constructor(body: unknown, init: ConstructorParameters<typeof EncodedResponse>[1]) {
      // biome-ignore lint/correctness/noConstructorReturn: the constructor chooses the class.
      return typeof body === 'string' || body === null
        ? new EncodedResponse(body, init)
        : new fetchAPI.Response(body as BodyInit, init);
    }
  };
  return { ...fetchAPI, Response: Response as unknown as FetchAPI['Response'] };
}
