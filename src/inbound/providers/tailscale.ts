import { type Static, Type } from '@sinclair/typebox';
import {
  commonValue,
  effectiveTolerance,
  parseJson,
  SecretString,
  ToleranceSeconds,
  textAt,
  verifyKeyValueHmac,
} from './crypto-extra.js';
import type { Provider } from './types.js';

/**
 * Tailscale: `Tailscale-Webhook-Signature: t=<unix>,v1=<hex>[,v1=…]`, hex HMAC-SHA256 of
 * `"{t}.{rawBody}"` keyed with the endpoint secret (Tailscale's example verifier). As the Svix
 * config says, the age of `t` is checked only when `timestampGraceSeconds` (or our
 * `toleranceSeconds`) is set. The body is an array of events; the event type is the `type`
 * they share (`nodeCreated`, `policyUpdate`…). No event id.
 */
const configSchema = Type.Object(
  {
    secret: SecretString('Shared secret for Tailscale Webhooks'),
    timestampGraceSeconds: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0, maximum: 4_294_967_295 }), Type.Null()], {
        description: 'Grace period (in seconds) for the timestamp; unchecked when absent',
      }),
    ),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const tailscale: Provider<Config> = {
  type: 'tailscale',
  configSchema,
  secretFields: ['secret'],
  verify(request, config, now, toleranceSeconds) {
    return verifyKeyValueHmac(
      request,
      config.secret,
      {
        header: 'tailscale-webhook-signature',
        separator: ',',
        timestampKey: 't',
        signatureKey: 'v1',
        joiner: '.',
      },
      now,
      config.timestampGraceSeconds ?? effectiveTolerance(config, toleranceSeconds, undefined),
    );
  },
  eventId: () => undefined,
  eventType(request) {
    const body = parseJson(request.body);
    if (!Array.isArray(body)) return textAt(body, 'type');
    return commonValue(body.map((event) => textAt(event, 'type')));
  },
};
