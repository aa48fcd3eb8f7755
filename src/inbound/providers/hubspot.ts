import { type Static, Type } from '@sinclair/typebox';
import { fail, hash, hmac, OK, safeEqual } from './crypto.js';
import {
  checkTimestampMs,
  commonValue,
  effectiveTolerance,
  parseEpochMs,
  parseJson,
  requireHeader,
  SecretString,
  ToleranceSeconds,
  textAt,
} from './crypto-extra.js';
import { type InboundRequest, type Provider, singleHeader, type VerifyResult } from './types.js';

/**
 * HubSpot, keyed with the app's client secret:
 * - v3 (`X-HubSpot-Signature-v3`): base64 HMAC-SHA256 of `method + uri + body + timestamp`,
 *   `uri` the full public URL with the %-escapes HubSpot lists decoded, timestamp the
 *   `X-HubSpot-Request-Timestamp` (ms) within 5 min;
 * - v1 / v2 (`X-HubSpot-Signature`, `X-HubSpot-Signature-Version`, v1 when absent): hex
 *   SHA-256 (a plain hash) of `secret + body` (v1) or `secret + method + uri + body` (v2).
 * v3 is used whenever its header is present. The secret is optional, as in the Svix config:
 * without one, deliveries are accepted unverified. Bodies are arrays of events: the event type
 * is the `subscriptionType` they share, the id their `eventId`s.
 */
const DEFAULT_TOLERANCE = 300;

/** The escapes HubSpot decodes in the URI before signing (v3 request validation docs). */
const V3_DECODED: Readonly<Record<string, string>> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

const configSchema = Type.Object(
  {
    secret: Type.Optional(Type.Union([SecretString('App client secret'), Type.Null()])),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

function hubspotV3Uri(url: string): string {
  return url.replace(
    /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi,
    (m) => V3_DECODED[m.toUpperCase()] ?? m,
  );
}

function verifyV3(
  request: InboundRequest,
  secret: string,
  now: number,
  tolerance: number | undefined,
): VerifyResult {
  const signature = requireHeader(request, 'x-hubspot-signature-v3');
  if ('error' in signature) return signature.error;
  const timestamp = requireHeader(request, 'x-hubspot-request-timestamp');
  if ('error' in timestamp) return timestamp.error;
  const time = checkTimestampMs(parseEpochMs(timestamp.value), now, tolerance);
  if (!time.ok) return time;
  const content = Buffer.concat([
    Buffer.from(`${request.method.toUpperCase()}${hubspotV3Uri(request.url)}`),
    request.body,
    Buffer.from(timestamp.value),
  ]);
  const expected = hmac('sha256', secret, content).toString('base64');
  return safeEqual(expected, signature.value.trim()) ? OK : fail('signature mismatch');
}

function verifyLegacy(request: InboundRequest, secret: string): VerifyResult {
  const signature = requireHeader(request, 'x-hubspot-signature');
  if ('error' in signature) return signature.error;
  const version = (singleHeader(request, 'x-hubspot-signature-version') ?? 'v1').toLowerCase();
  if (version !== 'v1' && version !== 'v2') return fail(`unknown signature version ${version}`);
  const prefix =
    version === 'v1' ? secret : `${secret}${request.method.toUpperCase()}${request.url}`;
  const expected = hash('sha256', Buffer.concat([Buffer.from(prefix), request.body])).toString(
    'hex',
  );
  return safeEqual(expected, signature.value.trim().toLowerCase())
    ? OK
    : fail('signature mismatch');
}

function events(request: InboundRequest): unknown[] {
  const body = parseJson(request.body);
  return Array.isArray(body) ? body : body === undefined ? [] : [body];
}

export const hubspot: Provider<Config> = {
  type: 'hubspot',
  configSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    if (!config.secret) return OK;
    if (request.headers['x-hubspot-signature-v3'] !== undefined) {
      const tolerance = effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE);
      return verifyV3(request, config.secret, now, tolerance);
    }
    return verifyLegacy(request, config.secret);
  },
  /** The events' ids, sorted and joined (a batch redelivered as it was dedupes). */
  eventId(request) {
    const ids = events(request).map((event) => textAt(event, 'eventId'));
    if (ids.length === 0 || ids.some((id) => id === undefined)) return undefined;
    return [...new Set(ids as string[])].sort().join(',');
  },
  eventType: (request) =>
    commonValue(events(request).map((event) => textAt(event, 'subscriptionType'))),
};
