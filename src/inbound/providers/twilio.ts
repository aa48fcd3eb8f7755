import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';
import { type Static, Type } from '@sinclair/typebox';
import { fail, hash, hmac, matchesAny, OK, safeEqual } from './crypto.js';
import {
  bodyRecord,
  type FormFields,
  mediaType,
  parseUrlEncoded,
  requireHeader,
  SecretString,
  textAt,
} from './crypto-extra.js';
import { type InboundRequest, type Provider, singleHeader } from './types.js';

/**
 * Twilio: `X-Twilio-Signature` = base64 HMAC-SHA1 (auth token) over the full URL Twilio called
 * (query string included) followed by every POST parameter sorted by name as `name + value`
 * (repeated names: each distinct value, sorted). JSON bodies are not signed directly: the URL
 * carries `bodySHA256=<hex sha256(body)>`, the signature covers the URL alone and the body
 * must match that hash. Like Twilio's SDK, the URL is tried with and without the default
 * port, and in its `new URL()`-normalised spellings. `url` replaces the scheme, host and path
 * of the request URL (its query string is kept, since Twilio adds `bodySHA256` there) when
 * the public URL Twilio calls differs from the gateway's own idea of it.
 */
const configSchema = Type.Object(
  {
    secret: SecretString('Auth Token of the Twilio account (or the API key secret)'),
    url: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Scheme, host and path Twilio calls (the query comes from the request)',
      }),
    ),
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

interface UrlParts {
  scheme: string;
  userInfo: string;
  host: string;
  port: string;
  rest: string;
}

function splitUrl(url: string): UrlParts | undefined {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return undefined;
  const [prefix, scheme = '', authority = ''] = match;
  const userInfoEnd = authority.lastIndexOf('@');
  const hostAndPort = authority.slice(userInfoEnd + 1);
  const portStart = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? '' : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

function withoutPort(url: string): string {
  const p = splitUrl(url);
  return p ? p.scheme + p.userInfo + p.host + p.rest : url;
}

function withDefaultPort(url: string): string {
  const p = splitUrl(url);
  if (p === undefined || p.port !== '') return url;
  const port = p.scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return p.scheme + p.userInfo + p.host + port + p.rest;
}

/** The query string re-encoded as Node's legacy `querystring` does (some back ends sign that). */
function withLegacyQuerystring(url: string): string {
  const start = url.indexOf('?');
  if (start === -1 || start === url.length - 1) return url;
  return `${url.slice(0, start)}?${stringifyQuery(parseQuery(url.slice(start + 1)))}`;
}

/** The URL spellings Twilio's SDK accepts, in its order, without duplicates. */
export function candidateUrls(url: string): string[] {
  const candidates = [withoutPort(url), withDefaultPort(url)];
  let normalised: string | undefined;
  try {
    normalised = new URL(url).toString();
  } catch {
    normalised = undefined;
  }
  if (normalised !== undefined) {
    const bare = withoutPort(normalised);
    const ported = withDefaultPort(normalised);
    candidates.push(bare, ported, withLegacyQuerystring(bare), withLegacyQuerystring(ported));
  }
  return [...new Set(candidates)];
}

/** The request URL, or `config.url`'s scheme/host/path with the request's query string. */
function signedUrl(request: InboundRequest, config: Config): string {
  if (config.url === undefined) return request.url;
  const base = config.url.split('?')[0] as string;
  const at = request.url.indexOf('?');
  return at < 0 ? base : base + request.url.slice(at);
}

function signedData(url: string, params: FormFields): string {
  let data = url;
  for (const name of [...params.keys()].sort()) {
    for (const value of [...new Set(params.get(name))].sort()) data += name + value;
  }
  return data;
}

function bodySha256(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get('bodySHA256') ?? undefined;
  } catch {
    return undefined;
  }
}

/** POST parameters that are part of the signature (none for GET or for JSON bodies). */
function signedParams(request: InboundRequest): FormFields {
  if (request.method.toUpperCase() !== 'POST') return new Map();
  const type = mediaType(request);
  if (type !== '' && type !== 'application/x-www-form-urlencoded') return new Map();
  return parseUrlEncoded(request.body);
}

const SID_FIELDS = [
  'MessageSid',
  'SmsSid',
  'CallSid',
  'RecordingSid',
  'TranscriptionSid',
  'ConferenceSid',
];
const STATUS_FIELDS = [
  'StatusCallbackEvent',
  'MessageStatus',
  'SmsStatus',
  'CallStatus',
  'RecordingStatus',
  'TranscriptionStatus',
];

function firstOf(request: InboundRequest, names: readonly string[]): string | undefined {
  const body = request.method.toUpperCase() === 'GET' ? undefined : bodyRecord(request);
  for (const name of names) {
    const value = textAt(body, name) ?? request.query.get(name) ?? undefined;
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

export const twilio: Provider<Config> = {
  type: 'twilio',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    const header = requireHeader(request, 'x-twilio-signature');
    if ('error' in header) return header.error;
    const url = signedUrl(request, config);
    const bodyHash = bodySha256(url);
    const params = bodyHash === undefined ? signedParams(request) : new Map();
    const expected = candidateUrls(url).map((candidate) =>
      hmac('sha1', config.secret, Buffer.from(signedData(candidate, params), 'utf8')).toString(
        'base64',
      ),
    );
    if (!matchesAny(header.value.trim(), expected)) return fail('signature mismatch');
    if (bodyHash !== undefined) {
      const actual = hash('sha256', request.body).toString('hex');
      if (!safeEqual(actual, bodyHash.toLowerCase())) return fail('body does not match bodySHA256');
    }
    return OK;
  },
  /**
   * `I-Twilio-Idempotency-Token` when present, else the resource sid with its status (a
   * message's `queued`, `sent`, `delivered` callbacks share the sid).
   */
  eventId(request) {
    const token = singleHeader(request, 'i-twilio-idempotency-token');
    if (token) return token;
    const sid = firstOf(request, SID_FIELDS);
    if (sid === undefined) return undefined;
    const status = firstOf(request, STATUS_FIELDS);
    return status === undefined ? sid : `${sid}:${status}`;
  },
  /** The callback's status (`delivered`, `completed`, `received`…) or status event. */
  eventType: (request) => firstOf(request, STATUS_FIELDS),
};
