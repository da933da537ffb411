import * as v from 'valibot';
import type { Value } from './env-schema.ts';
import { MIN_SCRUBBED_LENGTH, urlPasswordProblem, urlSecrets } from './secret-values.ts';

/*
 * The URL kinds of value. A refusal shows the URL as set, with any password in its user
 * information hidden; the kinds that may carry credentials say so (`secretsOf`), for the logs.
 */

/** An absolute http(s) URL without credentials, query or fragment. */
export function httpUrl(): Value<string> {
  return urlValue(() => undefined, 'http or https, no credentials, query or fragment');
}

/**
 * Where ChatBotKit's API lives: an origin (the client then adds the SDK's `/v1` or `/api/v1`), or
 * a URL ending in `/v1`, to which the client appends `/conversation/{id}/session/create` (see
 * `resolveApiPath`). Any other path is refused: the gateway would call a route that does not exist.
 */
export function apiBaseUrl(): Value<string> {
  return urlValue(
    apiPathProblem,
    'http(s): an origin, or a URL ending in /v1 (e.g. https://host/api/v1); no credentials, query or fragment',
  );
}

function urlValue(pathProblem: (url: URL, shown: string) => string | undefined, allowed: string): Value<string> {
  return v.pipe(
    v.string(),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const problem = urlProblem(dataset.value, pathProblem);
      if (problem) addIssue({ message: problem });
    }),
    v.metadata({ type: 'URL', allowed }),
  );
}

function urlProblem(value: string, pathProblem: (url: URL, shown: string) => string | undefined): string | undefined {
  const shown = hidePassword(value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `must be an absolute http(s) URL (got "${shown}")`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must use http or https (got "${shown}")`;
  if (url.username || url.password || url.search || url.hash) {
    return `must not carry credentials, a query or a fragment (got "${shown}"): remove them`;
  }
  return pathProblem(url, shown);
}

function apiPathProblem(url: URL, shown: string): string | undefined {
  const path = url.pathname.replace(/\/$/, '');
  if (path === '' || path.endsWith('/v1')) return undefined;
  const versionRoot = /^(.*\/v1)\//.exec(path)?.[1];
  const fix = versionRoot
    ? url.origin + versionRoot
    : path.endsWith('/api')
      ? `${url.origin}${path}/v1`
      : `${url.origin} or ${url.origin}${path}/api/v1`;
  return (
    `must be the API's origin or end in /v1, where the gateway appends /conversation/{id}/session/create ` +
    `(got "${shown}"): set it to ${fix}`
  );
}

/** The value as a refusal may show it: a password in a URL's user information becomes `***`. */
function hidePassword(value: string): string {
  return value.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?[^/?#@:]*):[^/?#@]*@/i, '$1:***@');
}

const PASSWORD_LENGTH = `a password, if any, of ${MIN_SCRUBBED_LENGTH} characters or more`;

export function redisUrl(): Value<string> {
  return urlWithCredentials(
    (value) => (/^rediss?:\/\/./.test(value) ? undefined : 'must start with redis:// or rediss://'),
    { type: 'URL', allowed: `redis:// or rediss://; ${PASSWORD_LENGTH}` },
  );
}

/** An OTLP collector's URL, which the OpenTelemetry SDK reads itself; it may carry credentials. */
export function otlpEndpoint(): Value<string> {
  return urlWithCredentials(
    // One the SDK cannot parse it would drop with a warning that prints it, password and all.
    (value) => (URL.canParse(value) ? undefined : 'must be an absolute URL such as http://collector:4318'),
    { type: 'URL', allowed: `absolute; ${PASSWORD_LENGTH}` },
  );
}

/** A URL whose user information, if any, is secret: scrubbed from the logs, so refused when too short to be. */
function urlWithCredentials(
  schemeProblem: (value: string) => string | undefined,
  metadata: { type: string; allowed?: string },
): Value<string> {
  return v.pipe(
    v.string(),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const shown = hidePassword(dataset.value);
      const problem = schemeProblem(dataset.value);
      const message = problem ? `${problem} (got "${shown}")` : urlPasswordProblem(dataset.value, shown);
      if (message) addIssue({ message });
    }),
    v.metadata({ ...metadata, secretsOf: urlSecrets }),
  );
}
