import { type Static, Type } from '@sinclair/typebox';
import { fail } from './crypto.js';
import type { Provider } from './types.js';

/**
 * Svix `cron`: a scheduled source, not an inbound one. Switchboard emits `payload` (with
 * `contentType`, JSON by default) on `schedule`; nothing may be posted to its ingest URL, so
 * verification always fails. The module exists so sources of this type can be created.
 */
const configSchema = Type.Object(
  {
    schedule: Type.String({ minLength: 1, description: 'Cron expression of the schedule' }),
    payload: Type.String({ description: 'Body of each scheduled event' }),
    contentType: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
        description: 'Override the default content-type (recommended if the payload is not JSON)',
      }),
    ),
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const cron: Provider<Config> = {
  type: 'cron',
  configSchema,
  secretFields: [],
  verify: () => fail('a cron source is scheduled, not inbound: requests to it are refused'),
  eventId: () => undefined,
  eventType: () => undefined,
};
