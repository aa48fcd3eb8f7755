import { verify as verifySignature } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { fail, OK } from './crypto.js';
import { jsonObject, requireHeader, spkiPublicKey, textAt } from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Orum: header `Signature` = base64 RSA (PKCS#1 v1.5) signature over SHA-256 of
 * `rawBody + created_at`, the body's top-level `created_at` value as sent, verified with the
 * RSA-2048 public key from Orum's `webhooks/secret` endpoint (PEM, or base64 DER SPKI).
 * `created_at` is the event's time, not the delivery's, so no replay window applies; retries
 * dedupe on `event_id`. Event type: `event_type`.
 */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const configSchema = Type.Object(
  { publicKey: Type.String({ minLength: 1, description: 'Orum webhook public key (RSA, PEM)' }) },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const orumIo: Provider<Config> = {
  type: 'orum-io',
  configSchema,
  secretFields: [],
  verify(request, config) {
    const signature = requireHeader(request, 'signature');
    if ('error' in signature) return signature.error;
    const createdAt = textAt(jsonObject(request.body), 'created_at');
    if (createdAt === undefined) return fail('the body has no created_at');
    const key = spkiPublicKey(config.publicKey);
    if (key?.asymmetricKeyType !== 'rsa') return fail('the configured public key cannot be read');
    const received = signature.value.trim();
    if (!BASE64.test(received)) return fail('malformed Signature header');
    const message = Buffer.concat([request.body, Buffer.from(createdAt)]);
    try {
      return verifySignature('sha256', message, key, Buffer.from(received, 'base64'))
        ? OK
        : fail('signature mismatch');
    } catch {
      return fail('signature mismatch');
    }
  },
  eventId: (request) => textAt(jsonObject(request.body), 'event_id'),
  eventType: (request) => textAt(jsonObject(request.body), 'event_type'),
};
