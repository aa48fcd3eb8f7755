import { type Static, Type } from '@sinclair/typebox';
import {
  DEFAULT_TOLERANCE_SECONDS,
  InvalidSecretError,
  verifyWebhook,
  WebhookVerificationError,
} from '../../outbound/signing.js';
import { fail, OK } from './crypto.js';
import { effectiveTolerance, jsonObject, ToleranceSeconds, textAt } from './crypto-extra.js';
import { type InboundRequest, type Provider, singleHeader } from './types.js';

/**
 * Providers that send through Svix / Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature` (or the `svix-*` names), signature `v1,<base64 HMAC-SHA256>` of
 * `"{id}.{timestamp}.{body}"` with the base64-decoded `whsec_` secret, several entries
 * space-separated, timestamp within ±5 min. One implementation (`verifyWebhook`, shared with
 * outbound signing), one registry entry per Svix `type` string.
 */
export const SVIX_FAMILY_TYPES = [
  'beehiiv',
  'brex',
  'clerk',
  'guesty',
  'incident-io',
  'lithic',
  'nash',
  'pleo',
  'psi-fi',
  'replicate',
  'resend',
  'safebase',
  'sardine',
  'stych',
  'svix',
  'open-ai',
  'render',
] as const;

export type SvixFamilyType = (typeof SVIX_FAMILY_TYPES)[number];

const configSchema = Type.Object(
  {
    secret: Type.String({
      minLength: 1,
      pattern: '^(whsec_)?[A-Za-z0-9+/]+={0,2}$',
      description: 'Endpoint signing secret (whsec_<base64>)',
    }),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

/** Where the event type is in the body: `type` for most; Replicate sends a prediction. */
const TYPE_FIELD: Partial<Record<SvixFamilyType, string>> = { replicate: 'status' };

function header(request: InboundRequest, name: string): string | undefined {
  const value = singleHeader(request, `webhook-${name}`) ?? singleHeader(request, `svix-${name}`);
  return value === '' ? undefined : value;
}

function svixProvider(type: SvixFamilyType): Provider<Config> {
  const typeField = TYPE_FIELD[type] ?? 'type';
  return {
    type,
    configSchema,
    secretFields: ['secret'],
    defaultToleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
    verify(request, config, now, toleranceSeconds) {
      const tolerance = effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE_SECONDS);
      try {
        verifyWebhook(config.secret, request.headers, request.body, {
          toleranceSeconds: tolerance,
          now: new Date(now),
        });
        return OK;
      } catch (error) {
        if (error instanceof WebhookVerificationError) return fail(error.message);
        if (error instanceof InvalidSecretError) return fail('the configured secret is malformed');
        return fail('the signature could not be checked');
      }
    },
    eventId: (request) => header(request, 'id'),
    eventType: (request) => textAt(jsonObject(request.body), typeField),
  };
}

export const svixFamilyProviders: readonly Provider<Config>[] = SVIX_FAMILY_TYPES.map(svixProvider);
