import { type Static, Type } from '@sinclair/typebox';
import { OK } from './crypto.js';
import type { Provider } from './types.js';

/**
 * Svix `generic-webhook`: no verification at all ("skip performing signature verification").
 * The ingest URL's unguessable token is the only protection. The SDK always sends `config: {}`.
 * There is no provider event id or type: de-duplication falls back to a hash of the body.
 */
const configSchema = Type.Object({}, { additionalProperties: false });
type Config = Static<typeof configSchema>;

export const genericWebhook: Provider<Config> = {
  type: 'generic-webhook',
  configSchema,
  secretFields: [],
  verify: () => OK,
  eventId: () => undefined,
  eventType: () => undefined,
};
