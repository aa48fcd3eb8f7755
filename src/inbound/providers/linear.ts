import { type Static, Type } from '@sinclair/typebox';
import {
  checkTimestampMs,
  effectiveTolerance,
  getPath,
  jsonObject,
  parseEpochMs,
  SecretString,
  ToleranceSeconds,
  textAt,
  verifyHeaderHmac,
} from './crypto-extra.js';
import { type Provider, singleHeader } from './types.js';

/**
 * Linear: `Linear-Signature` = hex HMAC-SHA256 of the raw body. The timestamp is inside the
 * signed body (`webhookTimestamp`, epoch ms); Linear's SDK rejects more than 60 s of skew.
 */
const DEFAULT_TOLERANCE = 60;

const configSchema = Type.Object(
  {
    secret: SecretString('Signing secret of the Linear webhook'),
    toleranceSeconds: ToleranceSeconds,
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

export const linear: Provider<Config> = {
  type: 'linear',
  configSchema,
  secretFields: ['secret'],
  defaultToleranceSeconds: DEFAULT_TOLERANCE,
  verify(request, config, now, toleranceSeconds) {
    const signature = verifyHeaderHmac(request, {
      header: 'linear-signature',
      algorithm: 'sha256',
      encoding: 'hex',
      keys: [config.secret],
    });
    if (!signature.ok) return signature;
    const stamp = getPath(jsonObject(request.body), 'webhookTimestamp');
    const epochMs =
      typeof stamp === 'number' && Number.isInteger(stamp)
        ? stamp
        : typeof stamp === 'string'
          ? parseEpochMs(stamp)
          : undefined;
    return checkTimestampMs(
      epochMs,
      now,
      effectiveTolerance(config, toleranceSeconds, DEFAULT_TOLERANCE),
    );
  },
  eventId: (request) => singleHeader(request, 'linear-delivery'),
  /** `Issue.create`, `Comment.remove`…: the entity type and the action. */
  eventType(request) {
    const body = jsonObject(request.body);
    const type = textAt(body, 'type') ?? singleHeader(request, 'linear-event');
    const action = textAt(body, 'action');
    if (type === undefined) return undefined;
    return action === undefined ? type : `${type}.${action}`;
  },
};
