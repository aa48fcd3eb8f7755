import { type Static, Type } from '@sinclair/typebox';
import { checkTimestamp, fail, hmac, matchesAny, OK } from './crypto.js';
import {
  commonValue,
  effectiveTolerance,
  parseJson,
  parseKeyValueList,
  requireHeader,
  SecretString,
  ToleranceSeconds,
  textAt,
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
    const header = requireHeader(request, 'tailscale-webhook-signature');
    if ('error' in header) return header.error;
    const parts = parseKeyValueList(header.value, ',');
    const timestamps = parts.get('t') ?? [];
    const signatures = (parts.get('v1') ?? []).map((s) => s.toLowerCase());
    if (timestamps.length !== 1 || signatures.length === 0) {
      return fail('malformed Tailscale-Webhook-Signature');
    }
    const t = timestamps[0] as string;
    const grace = config.timestampGraceSeconds ?? undefined;
    const time = checkTimestamp(
      t,
      now,
      grace ?? effectiveTolerance(config, toleranceSeconds, undefined),
    );
    if (!time.ok) return time;
    const content = Buffer.concat([Buffer.from(`${t}.`), request.body]);
    const expected = hmac('sha256', config.secret, content).toString('hex');
    return matchesAny(expected, signatures) ? OK : fail('signature mismatch');
  },
  eventId: () => undefined,
  eventType(request) {
    const body = parseJson(request.body);
    if (!Array.isArray(body)) return textAt(body, 'type');
    return commonValue(body.map((event) => textAt(event, 'type')));
  },
};
