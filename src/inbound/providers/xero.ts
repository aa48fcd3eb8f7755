import { type Static, Type } from '@sinclair/typebox';
import { hash } from './crypto.js';
import {
  getPath,
  isObject,
  jsonObject,
  SecretString,
  textAt,
  verifyHeaderHmac,
} from './crypto-extra.js';
import type { InboundRequest, Provider } from './types.js';

/**
 * Xero: `x-xero-signature` = base64 HMAC-SHA256 of the raw body with the app's webhook key.
 * Intent-to-Receive: Xero sends a payload with `"events": []` with a good and with a bad
 * signature and expects exactly 401 for the bad one (a failed verify) and 200 with an empty
 * body for the good one (the handshake). Ordinary deliveries are also answered 200 with an
 * empty body.
 */
const configSchema = Type.Object(
  { secret: SecretString('Webhooks key of the Xero app') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

function events(request: InboundRequest): unknown[] | undefined {
  const list = getPath(jsonObject(request.body), 'events');
  return Array.isArray(list) ? list : undefined;
}

function eventKey(event: unknown): string | undefined {
  const category = textAt(event, 'eventCategory');
  const type = textAt(event, 'eventType');
  return category && type ? `${category}.${type}` : undefined;
}

const EMPTY_OK = { status: 200, body: '' } as const;

export const xero: Provider<Config> = {
  type: 'xero',
  configSchema,
  secretFields: ['secret'],
  verify: (request, config) =>
    verifyHeaderHmac(request, {
      header: 'x-xero-signature',
      algorithm: 'sha256',
      encoding: 'base64',
      keys: [config.secret],
    }),
  handshake(request) {
    if (request.method.toUpperCase() !== 'POST') return undefined;
    const list = events(request);
    return list !== undefined && list.length === 0 ? { ...EMPTY_OK } : undefined;
  },
  /**
   * Xero has no event id and its payload carries random `entropy`, so the id is a digest of
   * the events themselves (tenant, category, resource, type, time).
   */
  eventId(request) {
    const list = events(request);
    if (!list || list.length === 0) return undefined;
    const keys = list.map((event) =>
      isObject(event)
        ? ['tenantId', 'eventCategory', 'resourceId', 'eventType', 'eventDateUtc']
            .map((name) => textAt(event, name) ?? '')
            .join('|')
        : '',
    );
    return `xero:${hash('sha256', keys.join('\n')).toString('hex')}`;
  },
  /** `INVOICE.UPDATE`, `CONTACT.CREATE`…, when every event in the delivery has the same one. */
  eventType(request) {
    const list = events(request);
    if (!list || list.length === 0) return undefined;
    const keys = list.map(eventKey);
    const first = keys[0];
    return first !== undefined && keys.every((key) => key === first) ? first : undefined;
  },
  acknowledge: () => ({ ...EMPTY_OK }),
};
