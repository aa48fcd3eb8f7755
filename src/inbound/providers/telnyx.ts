import { type Static, Type } from '@sinclair/typebox';
import { checkTimestamp, fail, OK } from './crypto.js';
import {
  ed25519PublicKey,
  effectiveTolerance,
  jsonObject,
  requireHeader,
  ToleranceSeconds,
  textAt,
  verifyEd25519,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Telnyx (API v2 webhooks): `telnyx-signature-ed25519` = base64 Ed25519 signature over
 * `"{telnyx-timestamp}|{rawBody}"`, verified with the account's public key (base64 of the 32
 * raw bytes, as the Mission Control portal shows it). The timestamp (seconds) must be within
 * 5 min (Telnyx SDK default). Event: `data.id`, `data.event_type`.
 */
const DEFAULT_TOLERANCE = 300;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const configSchema = Type.Object(
  {
    publicKey: Type.String({
      pattern: '^[A-Za-z0-9+/]{43}=$',
      description: 'Public key of the Telnyx account (base64)',
    }),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const telnyx: Provider<Config> = {
  type: 'telnyx',
  configSchema,
  secretFields: [],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    const signature = requireHeader(request, 'telnyx-signature-ed25519');
    if ('error' in signature) return signature.error;
    const timestamp = requireHeader(request, 'telnyx-timestamp');
    if ('error' in timestamp) return timestamp.error;
    const tolerance = effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE);
    const time = checkTimestamp(timestamp.value, now, tolerance);
    if (!time.ok) return time;
    const raw = Buffer.from(config.publicKey, 'base64');
    const key = raw.length === 32 ? ed25519PublicKey(raw.toString('hex')) : undefined;
    if (key === undefined) return fail('the configured public key cannot be read');
    const received = signature.value.trim();
    if (!BASE64.test(received)) return fail('malformed telnyx-signature-ed25519');
    const message = Buffer.concat([Buffer.from(`${timestamp.value}|`), request.body]);
    const signatureHex = Buffer.from(received, 'base64').toString('hex');
    return verifyEd25519(key, message, signatureHex) ? OK : fail('signature mismatch');
  },
  eventId: (request) => textAt(jsonObject(request.body), 'data.id'),
  eventType: (request) => textAt(jsonObject(request.body), 'data.event_type'),
};
