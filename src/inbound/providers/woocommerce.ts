import { type Static, Type } from '@sinclair/typebox';
import { OK } from './crypto.js';
import {
  htmlSpecialCharsDecode,
  jsonObject,
  SecretString,
  textAt,
  verifyHeaderHmac,
} from './crypto-extra.js';
import { type InboundRequest, type Provider, singleHeader } from './types.js';

/**
 * WooCommerce: `X-WC-Webhook-Signature` = base64 HMAC-SHA256 of the raw body, keyed with the
 * webhook secret after WordPress's `wp_specialchars_decode(…, ENT_QUOTES)` (both spellings are
 * tried). When a webhook is created WooCommerce sends an unsigned form body
 * `webhook_id=<n>` that must get a 200: it is accepted (only in that exact shape and only
 * without a signature header) and answered as a handshake, never stored as an event.
 */
const configSchema = Type.Object(
  { secret: SecretString('Secret of the WooCommerce webhook') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

const SIGNATURE = 'x-wc-webhook-signature';
const PING = /^webhook_id=\d{1,20}$/;

function isPing(request: InboundRequest): boolean {
  return (
    request.method.toUpperCase() === 'POST' &&
    request.headers[SIGNATURE] === undefined &&
    request.body.length <= 32 &&
    PING.test(request.body.toString('latin1'))
  );
}

export const woocommerce: Provider<Config> = {
  type: 'woocommerce',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    if (isPing(request)) return OK;
    const decoded = htmlSpecialCharsDecode(config.secret);
    return verifyHeaderHmac(request, {
      header: SIGNATURE,
      algorithm: 'sha256',
      encoding: 'base64',
      keys: decoded === config.secret ? [config.secret] : [config.secret, decoded],
    });
  },
  handshake: (request) => (isPing(request) ? { status: 200, body: '' } : undefined),
  /**
   * `X-WC-Webhook-Delivery-ID` changes on every attempt, so the id is the topic, the resource
   * id and its modification time.
   */
  eventId(request) {
    const body = jsonObject(request.body);
    const topic = singleHeader(request, 'x-wc-webhook-topic');
    const id = textAt(body, 'id');
    const modified = textAt(body, 'date_modified_gmt') ?? textAt(body, 'date_modified');
    return topic && id && modified ? `${topic}:${id}:${modified}` : undefined;
  },
  eventType: (request) => singleHeader(request, 'x-wc-webhook-topic'),
};
