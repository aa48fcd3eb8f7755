import { type Static, Type } from '@sinclair/typebox';
import { checkTimestamp, fail, hmac, matchesAny, OK } from './crypto.js';
import {
  bodyRecord,
  effectiveTolerance,
  getPath,
  isObject,
  type JsonObject,
  SecretString,
  ToleranceSeconds,
  textAt,
} from './crypto-extra.js';
import type { InboundRequest, Provider } from './types.js';

/**
 * Mailgun: the signature travels in the body — JSON webhooks have
 * `signature: {timestamp, token, signature[, parent-signature]}`, legacy form (url-encoded or
 * multipart) webhooks and routes have top-level `timestamp`, `token`, `signature` fields.
 * Signature = hex HMAC-SHA256(signing key, timestamp + token). Mailgun fixes no replay window,
 * so the timestamp is only bounded when the source sets `toleranceSeconds`; replays are caught
 * by de-duplication on the event id (or the token).
 */
const configSchema = Type.Object(
  {
    secret: SecretString('HTTP webhook signing key (not the API key)'),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

interface SignatureFields {
  timestamp?: string;
  token?: string;
  signatures: string[];
}

function signatureFields(record: JsonObject | undefined): SignatureFields {
  const nested = getPath(record, 'signature');
  const source = isObject(nested) ? nested : record;
  const signatures = [textAt(source, 'signature'), textAt(source, 'parent-signature')]
    .filter((value): value is string => value !== undefined)
    .map((value) => value.toLowerCase());
  return {
    timestamp: textAt(source, 'timestamp'),
    token: textAt(source, 'token'),
    signatures,
  };
}

function record(request: InboundRequest): JsonObject | undefined {
  return bodyRecord(request);
}

export const mailgun: Provider<Config> = {
  type: 'mailgun',
  configSchema,
  secretFields: ['secret'],
  verify(request, config, now, toleranceSeconds) {
    const { timestamp, token, signatures } = signatureFields(record(request));
    if (timestamp === undefined || token === undefined || signatures.length === 0) {
      return fail('missing Mailgun signature fields');
    }
    const time = checkTimestamp(
      timestamp,
      now,
      effectiveTolerance(config, toleranceSeconds, undefined),
    );
    if (!time.ok) return time;
    const expected = hmac('sha256', config.secret, timestamp + token).toString('hex');
    return matchesAny(expected, signatures) ? OK : fail('signature mismatch');
  },
  eventId(request) {
    const body = record(request);
    return textAt(body, ['event-data', 'id']) ?? signatureFields(body).token;
  },
  eventType(request) {
    const body = record(request);
    return textAt(body, ['event-data', 'event']) ?? textAt(body, 'event');
  },
};
