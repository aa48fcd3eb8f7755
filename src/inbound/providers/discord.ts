import { type Static, Type } from '@sinclair/typebox';
import { checkTimestamp, fail, OK } from './crypto.js';
import {
  ed25519PublicKey,
  effectiveTolerance,
  getPath,
  isObject,
  jsonObject,
  requireHeader,
  ToleranceSeconds,
  textAt,
  verifyEd25519,
} from './crypto-extra.js';
import type { InboundRequest, Provider, ProviderResponse } from './types.js';

/**
 * Discord (Interactions endpoint and Webhook Events): `X-Signature-Ed25519` (hex) is an Ed25519
 * signature over `X-Signature-Timestamp + rawBody`, verified with the application's public key
 * (hex). Discord deliberately sends bad signatures and expects 401 (a failed verify).
 * Handshakes: an interaction PING (`type: 1`, no `event`) is answered `{"type":1}`; a Webhook
 * Events PING (`type: 0`) is answered 204. Stored webhook events are acknowledged 204.
 * Interactions that need an answer within 3 s get a deferred response (type 5 for commands
 * and modal submits, type 6 for components) so the application can follow up with the
 * interaction token; autocomplete cannot be deferred and gets the default answer.
 */
const configSchema = Type.Object(
  {
    publicKey: Type.String({
      pattern: '^[0-9a-fA-F]{64}$',
      description: 'Public key of the Discord application (hex)',
    }),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

const INTERACTION_TYPES: Readonly<Record<number, string>> = {
  1: 'PING',
  2: 'APPLICATION_COMMAND',
  3: 'MESSAGE_COMPONENT',
  4: 'APPLICATION_COMMAND_AUTOCOMPLETE',
  5: 'MODAL_SUBMIT',
};

type Kind =
  | { kind: 'interaction'; type: number }
  | { kind: 'webhook-event'; type: number }
  | { kind: 'unknown' };

function classify(request: InboundRequest): Kind {
  const body = jsonObject(request.body);
  const type = getPath(body, 'type');
  if (typeof type !== 'number' || !Number.isInteger(type)) return { kind: 'unknown' };
  // Webhook Events carry an `event` object (type 1) or are a bare PING (type 0).
  if (type === 0 || isObject(getPath(body, 'event'))) return { kind: 'webhook-event', type };
  return { kind: 'interaction', type };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export const discord: Provider<Config> = {
  type: 'discord',
  configSchema,
  secretFields: [],
  verify(request, config, now, toleranceSeconds) {
    const signature = requireHeader(request, 'x-signature-ed25519');
    if ('error' in signature) return signature.error;
    const timestamp = requireHeader(request, 'x-signature-timestamp');
    if ('error' in timestamp) return timestamp.error;
    const time = checkTimestamp(
      timestamp.value,
      now,
      effectiveTolerance(config, toleranceSeconds, undefined),
    );
    if (!time.ok) return time;
    const key = ed25519PublicKey(config.publicKey);
    if (key === undefined) return fail('the configured public key cannot be read');
    const message = Buffer.concat([Buffer.from(timestamp.value, 'utf8'), request.body]);
    return verifyEd25519(key, message, signature.value) ? OK : fail('signature mismatch');
  },
  handshake(request): ProviderResponse | undefined {
    if (request.method.toUpperCase() !== 'POST') return undefined;
    const kind = classify(request);
    if (kind.kind === 'interaction' && kind.type === 1) {
      return { status: 200, headers: JSON_HEADERS, body: '{"type":1}' };
    }
    if (kind.kind === 'webhook-event' && kind.type === 0) return { status: 204 };
    return undefined;
  },
  eventId: (request) => textAt(jsonObject(request.body), 'id'),
  eventType(request) {
    const kind = classify(request);
    if (kind.kind === 'webhook-event') {
      return kind.type === 0 ? 'PING' : textAt(jsonObject(request.body), 'event.type');
    }
    if (kind.kind === 'interaction')
      return INTERACTION_TYPES[kind.type] ?? `INTERACTION_${kind.type}`;
    return undefined;
  },
  acknowledge(request): ProviderResponse {
    const kind = classify(request);
    if (kind.kind === 'interaction' && (kind.type === 2 || kind.type === 5)) {
      return { status: 200, headers: JSON_HEADERS, body: '{"type":5}' };
    }
    if (kind.kind === 'interaction' && kind.type === 3) {
      return { status: 200, headers: JSON_HEADERS, body: '{"type":6}' };
    }
    return { status: 204 };
  },
};
