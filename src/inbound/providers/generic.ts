import { type Static, Type } from '@sinclair/typebox';
import {
  checkTimestamp,
  type Digest,
  type Encoding,
  fail,
  hmac,
  matchesAny,
  OK,
} from './crypto.js';
import {
  bodyRecord,
  checkTimestampMs,
  effectiveTolerance,
  encodeDigest,
  getPath,
  isDigest,
  isEncoding,
  jsonObject,
  normaliseSignature,
  parseEpochMs,
  parseKeyValueList,
  parseRfc3339,
  requireHeader,
  SecretString,
  secretKey,
  ToleranceSeconds,
  tokenMatches,
  verifyBasicAuth,
  verifyHeaderHmac,
} from './crypto-extra.js';
import type { InboundRequest, Provider, VerifyResult } from './types.js';

/**
 * The generic verifier kinds, for senders without a dedicated type:
 *
 * - `generic-hmac`: HMAC over the raw body, signature in one header (GitHub/Shopify-like).
 * - `generic-timestamped-hmac`: HMAC over a template such as `{timestamp}.{body}` or
 *   `v0:{timestamp}:{body}`, timestamp and signature from headers or from one `k=v` list
 *   header (Stripe/Paddle-like), with a tolerance.
 * - `shared-token`: a static token in a header, a query parameter or a body field.
 * - `basic-auth`: HTTP Basic credentials.
 * - `none`: no verification (the ingest URL's token is the only secret).
 *
 * The contract gives `eventId`/`eventType` no config, so generic kinds have no event id (the
 * body's hash is used) and take the event type, best effort, from a JSON body's string
 * `type`, `event_type` or `event`.
 */

const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const HeaderName = (description: string) => Type.String({ pattern: HEADER_NAME, description });

const Algorithm = Type.Union(
  [Type.Literal('sha1'), Type.Literal('sha256'), Type.Literal('sha512')],
  {
    description: 'HMAC digest (default sha256)',
  },
);
const SignatureEncoding = Type.Union(
  [Type.Literal('hex'), Type.Literal('base64'), Type.Literal('base64url')],
  { description: 'Encoding of the signature (default hex)' },
);
const SecretEncodingSchema = Type.Union(
  [Type.Literal('utf8'), Type.Literal('base64'), Type.Literal('hex')],
  { description: 'How the secret text becomes key bytes (default utf8)' },
);

function algorithmOf(value: unknown): Digest | undefined {
  if (value === undefined) return 'sha256';
  return isDigest(value) ? value : undefined;
}

function encodingOf(value: unknown): Encoding | undefined {
  if (value === undefined) return 'hex';
  return isEncoding(value) ? value : undefined;
}

function bestEffortEventType(request: InboundRequest): string | undefined {
  const body = jsonObject(request.body);
  for (const name of ['type', 'event_type', 'event']) {
    const value = getPath(body, name);
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

const noEventId = (): undefined => undefined;

// ---------------------------------------------------------------- generic-hmac

const hmacSchema = Type.Object(
  {
    secret: SecretString('The shared signing secret'),
    secretEncoding: Type.Optional(SecretEncodingSchema),
    header: HeaderName('Header carrying the signature, e.g. `X-Signature`'),
    algorithm: Type.Optional(Algorithm),
    encoding: Type.Optional(SignatureEncoding),
    prefix: Type.Optional(
      Type.String({ maxLength: 64, description: 'Text before the signature, e.g. `sha256=`' }),
    ),
  },
  { additionalProperties: false },
);
type HmacConfig = Static<typeof hmacSchema>;

export const genericHmac: Provider<HmacConfig> = {
  type: 'generic-hmac',
  configSchema: hmacSchema,
  secretFields: ['secret'],
  verify(request, config) {
    const algorithm = algorithmOf(config.algorithm);
    const encoding = encodingOf(config.encoding);
    if (!algorithm || !encoding) return fail('unsupported algorithm or encoding');
    return verifyHeaderHmac(request, {
      header: config.header.toLowerCase(),
      algorithm,
      encoding,
      prefix: config.prefix ?? '',
      keys: [secretKey(config.secret, config.secretEncoding)],
    });
  },
  eventId: noEventId,
  eventType: bestEffortEventType,
};

// ---------------------------------------------------------------- generic-timestamped-hmac

const DEFAULT_TEMPLATE = '{timestamp}.{body}';
const DEFAULT_TOLERANCE = 300;

const timestampedSchema = Type.Object(
  {
    secret: SecretString('The shared signing secret'),
    secretEncoding: Type.Optional(SecretEncodingSchema),
    algorithm: Type.Optional(Algorithm),
    encoding: Type.Optional(SignatureEncoding),
    template: Type.Optional(
      Type.String({
        pattern: '\\{body\\}',
        maxLength: 256,
        description:
          'Signed content; placeholders {timestamp}, {body}, {id}, {method}, {url} (default `{timestamp}.{body}`)',
      }),
    ),
    signatureHeader: HeaderName('Header carrying the signature(s)'),
    signatureFormat: Type.Optional(
      Type.Union([Type.Literal('plain'), Type.Literal('key-value')], {
        description:
          '`plain`: the header is the signature (several may be space-separated); `key-value`: a `t=…,v1=…` list that also holds the timestamp (default plain)',
      }),
    ),
    signaturePrefix: Type.Optional(
      Type.String({ maxLength: 64, description: 'Text before each plain signature, e.g. `v0=`' }),
    ),
    pairSeparator: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4, description: 'key-value separator (default `,`)' }),
    ),
    timestampKey: Type.Optional(
      Type.String({ minLength: 1, description: 'key-value key of the timestamp (default `t`)' }),
    ),
    signatureKey: Type.Optional(
      Type.String({ minLength: 1, description: 'key-value key of a signature (default `v1`)' }),
    ),
    timestampHeader: Type.Optional(HeaderName('Header carrying the timestamp (plain format)')),
    timestampFormat: Type.Optional(
      Type.Union([Type.Literal('unix'), Type.Literal('unix-ms'), Type.Literal('rfc3339')], {
        description: 'Unix seconds (default), Unix milliseconds, or RFC 3339 date-time',
      }),
    ),
    idHeader: Type.Optional(HeaderName('Header whose value fills `{id}`')),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type TimestampedConfig = Static<typeof timestampedSchema>;

/** Builds the signed bytes from the template; undefined when a placeholder has no value. */
export function renderTemplate(
  template: string,
  values: Readonly<Record<string, string | Buffer | undefined>>,
): Buffer | undefined {
  const parts: Buffer[] = [];
  let last = 0;
  for (const match of template.matchAll(/\{(timestamp|body|id|method|url)\}/g)) {
    parts.push(Buffer.from(template.slice(last, match.index), 'utf8'));
    const value = values[match[1] as string];
    if (value === undefined) return undefined;
    parts.push(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
    last = match.index + match[0].length;
  }
  parts.push(Buffer.from(template.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

function checkTime(
  text: string,
  format: TimestampedConfig['timestampFormat'],
  now: number,
  tolerance: number | undefined,
): VerifyResult {
  if (format === 'unix-ms') return checkTimestampMs(parseEpochMs(text), now, tolerance);
  if (format === 'rfc3339') return checkTimestampMs(parseRfc3339(text), now, tolerance);
  return checkTimestamp(text, now, tolerance);
}

export const genericTimestampedHmac: Provider<TimestampedConfig> = {
  type: 'generic-timestamped-hmac',
  configSchema: timestampedSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    const algorithm = algorithmOf(config.algorithm);
    const encoding = encodingOf(config.encoding);
    if (!algorithm || !encoding) return fail('unsupported algorithm or encoding');
    const header = requireHeader(request, config.signatureHeader.toLowerCase());
    if ('error' in header) return header.error;

    let timestamp: string | undefined;
    let signatures: string[];
    if (config.signatureFormat === 'key-value') {
      const pairs = parseKeyValueList(header.value, config.pairSeparator ?? ',');
      const stamps = pairs.get(config.timestampKey ?? 't') ?? [];
      if (stamps.length !== 1) return fail(`malformed ${config.signatureHeader}`);
      timestamp = stamps[0];
      signatures = pairs.get(config.signatureKey ?? 'v1') ?? [];
    } else {
      if (config.timestampHeader === undefined) return fail('no timestampHeader configured');
      const stamp = requireHeader(request, config.timestampHeader.toLowerCase());
      if ('error' in stamp) return stamp.error;
      timestamp = stamp.value.trim();
      const prefix = config.signaturePrefix ?? '';
      signatures = header.value
        .split(/\s+/)
        .filter((item) => item !== '' && item.startsWith(prefix))
        .map((item) => item.slice(prefix.length));
    }
    if (timestamp === undefined || signatures.length === 0) {
      return fail(`no signature in ${config.signatureHeader}`);
    }

    const time = checkTime(
      timestamp,
      config.timestampFormat,
      now,
      effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE),
    );
    if (!time.ok) return time;

    let id: string | undefined;
    if (config.idHeader !== undefined) {
      const idHeader = requireHeader(request, config.idHeader.toLowerCase());
      if ('error' in idHeader) return idHeader.error;
      id = idHeader.value;
    }
    const template = config.template ?? DEFAULT_TEMPLATE;
    if (!template.includes('{body}')) return fail('the template must sign {body}');
    const content = renderTemplate(template, {
      timestamp,
      body: request.body,
      id,
      method: request.method.toUpperCase(),
      url: request.url,
    });
    if (content === undefined) return fail('a template placeholder has no value');
    const expected = encodeDigest(
      hmac(algorithm, secretKey(config.secret, config.secretEncoding), content),
      encoding,
    );
    const received = signatures.map((signature) => normaliseSignature(signature, encoding));
    return matchesAny(expected, received) ? OK : fail('signature mismatch');
  },
  eventId: noEventId,
  eventType: bestEffortEventType,
};

// ---------------------------------------------------------------- shared-token

const sharedTokenSchema = Type.Object(
  {
    secret: SecretString('The shared token'),
    location: Type.Union([Type.Literal('header'), Type.Literal('query'), Type.Literal('body')], {
      description: 'Where the token is: a header, a query parameter or a body field',
    }),
    name: Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'Header name, query parameter, or body field path (`a.b` for nested JSON)',
    }),
    prefix: Type.Optional(
      Type.String({ maxLength: 64, description: 'Text before the token, e.g. `Bearer `' }),
    ),
  },
  { additionalProperties: false },
);
type SharedTokenConfig = Static<typeof sharedTokenSchema>;

function receivedToken(request: InboundRequest, config: SharedTokenConfig): string | undefined {
  switch (config.location) {
    case 'header':
      return requireHeaderValue(request, config.name.toLowerCase());
    case 'query': {
      const values = request.query.getAll(config.name);
      return values.length === 1 ? values[0] : undefined;
    }
    case 'body': {
      const value = getPath(bodyRecord(request), config.name);
      return typeof value === 'string' ? value : undefined;
    }
    default:
      return undefined;
  }
}

function requireHeaderValue(request: InboundRequest, name: string): string | undefined {
  const header = requireHeader(request, name);
  return 'error' in header ? undefined : header.value;
}

export const sharedToken: Provider<SharedTokenConfig> = {
  type: 'shared-token',
  configSchema: sharedTokenSchema,
  secretFields: ['secret'],
  verify(request, config) {
    let received = receivedToken(request, config);
    const prefix = config.prefix ?? '';
    if (received !== undefined && prefix !== '') {
      received = received.toLowerCase().startsWith(prefix.toLowerCase())
        ? received.slice(prefix.length)
        : undefined;
    }
    return tokenMatches(config.secret, received) ? OK : fail('missing or wrong token');
  },
  eventId: noEventId,
  eventType: bestEffortEventType,
};

// ---------------------------------------------------------------- basic-auth

const basicAuthSchema = Type.Object(
  {
    username: Type.String({ minLength: 1, description: 'Expected user name' }),
    password: SecretString('Expected password'),
  },
  { additionalProperties: false },
);
type BasicAuthConfig = Static<typeof basicAuthSchema>;

export const basicAuth: Provider<BasicAuthConfig> = {
  type: 'basic-auth',
  configSchema: basicAuthSchema,
  secretFields: ['password'],
  verify: (request, config) => verifyBasicAuth(request, config.username, config.password),
  eventId: noEventId,
  eventType: bestEffortEventType,
};

// ---------------------------------------------------------------- none

const noneSchema = Type.Object({}, { additionalProperties: false });
type NoneConfig = Static<typeof noneSchema>;

export const none: Provider<NoneConfig> = {
  type: 'none',
  configSchema: noneSchema,
  secretFields: [],
  verify: () => OK,
  eventId: noEventId,
  eventType: bestEffortEventType,
};

export const genericProviders = [
  genericHmac,
  genericTimestampedHmac,
  sharedToken,
  basicAuth,
  none,
] as const;
