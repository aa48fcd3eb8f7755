import { type Static, Type } from '@sinclair/typebox';
import { fail, OK } from './crypto.js';
import { jsonObject, requireHeader, SecretString, textAt, tokenMatches } from './crypto-extra.js';
import {
  type InboundRequest,
  type Provider,
  type ProviderResponse,
  singleHeader,
} from './types.js';

/**
 * Adobe Acrobat Sign webhooks ("verification of intent"): every request, the GET check on
 * registration and each POST notification, carries `X-AdobeSign-ClientId`, and Adobe counts a
 * delivery as failed unless the answer echoes that client id, in the response header
 * `X-AdobeSign-ClientId` or as `{"xAdobeSignClientId": …}` in a JSON body; we send both.
 * There is no signature: verification is the client id equal to the configured one.
 */
const HEADER = 'x-adobesign-clientid';

const configSchema = Type.Object(
  { clientId: SecretString('Client id of the Acrobat Sign API application') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

function echo(clientId: string): ProviderResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'X-AdobeSign-ClientId': clientId },
    body: JSON.stringify({ xAdobeSignClientId: clientId }),
  };
}

function isRead(request: InboundRequest): boolean {
  const method = request.method.toUpperCase();
  return method === 'GET' || method === 'HEAD';
}

export const adobeSign: Provider<Config> = {
  type: 'adobe-sign',
  configSchema,
  secretFields: ['clientId'],
  verify(request, config) {
    const header = requireHeader(request, HEADER);
    if ('error' in header) return header.error;
    return tokenMatches(config.clientId, header.value) ? OK : fail('wrong X-AdobeSign-ClientId');
  },
  /** The GET verification of intent; POST notifications are echoed by `acknowledge`. */
  handshake(request, config) {
    if (!isRead(request)) return undefined;
    const received = singleHeader(request, HEADER);
    if (received === undefined || received === '') return undefined;
    if (!tokenMatches(config.clientId, received)) return { status: 401 };
    return echo(config.clientId);
  },
  acknowledge: (_request, config) => echo(config.clientId),
  eventId: (request) => textAt(jsonObject(request.body), 'webhookNotificationId'),
  eventType: (request) => textAt(jsonObject(request.body), 'event'),
};
