import { type Static, Type } from '@sinclair/typebox';
import { fail, OK } from './crypto.js';
import { jsonObject, requireHeader, SecretString, textAt, tokenMatches } from './crypto-extra.js';
import { type Provider, singleHeader } from './types.js';

/** GitLab: the webhook's secret token arrives verbatim in `X-Gitlab-Token` (constant-time). */
const configSchema = Type.Object(
  { secret: SecretString('Secret token of the GitLab webhook') },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const gitlab: Provider<Config> = {
  type: 'gitlab',
  configSchema,
  secretFields: ['secret'],
  verify(request, config) {
    const header = requireHeader(request, 'x-gitlab-token');
    if ('error' in header) return header.error;
    return tokenMatches(config.secret, header.value) ? OK : fail('wrong X-Gitlab-Token');
  },
  eventId: (request) =>
    singleHeader(request, 'idempotency-key') ?? singleHeader(request, 'x-gitlab-event-uuid'),
  eventType: (request) =>
    singleHeader(request, 'x-gitlab-event') ?? textAt(jsonObject(request.body), 'object_kind'),
};
