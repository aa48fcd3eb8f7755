import { AppError, ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import type { ServiceContext } from '../../platform/context.js';
import { findApplication } from '../../store/applications.js';
import { findMessage } from '../../store/messages.js';
import { createMessage } from '../messages.js';
import { DestinationError, parseDestination } from './destination.js';
import {
  answered,
  type Delivery,
  refusedOutcome,
  type SendResult,
  type Transport,
  timed,
} from './types.js';

/**
 * The eventId of the message an `app:` endpoint creates: derived from the forwarded message's
 * id (an eventId may not start with `msg_`), so a retry after a crash between creating the
 * message and recording the attempt finds the first one instead of creating a second.
 */
export function forwardedEventId(messageId: string): string {
  return `fwd_${messageId}`;
}

/**
 * `app:APP_ID_OR_UID` endpoints: the event becomes a message of that (public) application,
 * through the same createMessage as `POST /api/v1/app/{app}/msg`, with every outbound
 * guarantee (its endpoints' filters, signatures, retries). The payload is kept byte for byte.
 */
export class AppTransport implements Transport {
  constructor(private readonly ctx: ServiceContext) {}

  send({ target, message }: Delivery): Promise<SendResult> {
    return timed(async () => {
      let ref: string;
      try {
        const destination = parseDestination(target.url);
        if (destination.kind !== 'app') throw new DestinationError('not an app: URL');
        ref = destination.app;
      } catch (error) {
        return refusedOutcome(`invalid app endpoint URL: ${(error as Error).message}`);
      }
      const eventId = forwardedEventId(message.id);
      let parsed: unknown;
      try {
        parsed = JSON.parse(message.payload);
      } catch {
        parsed = undefined;
      }
      const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
      try {
        const created = await createMessage(this.ctx, ref, {
          eventType: message.eventType,
          payload: isObject ? parsed : {},
          eventId,
          // The exact text: a payload that is not a JSON object is forwarded as it is, too.
          transformationsParams: { rawPayload: message.payload },
        });
        return answered(
          202,
          JSON.stringify({ app: ref, message: created.message.id, eventId, duplicate: false }),
        );
      } catch (error) {
        if (error instanceof ConflictError) {
          // Created by an earlier attempt whose outcome was not recorded: that is a success.
          const app = await findApplication(this.ctx.db, ref);
          const existing =
            app && (await findMessage(this.ctx.db, app.id, eventId, { withPayload: false }));
          return answered(
            202,
            JSON.stringify({ app: ref, message: existing?.id ?? null, eventId, duplicate: true }),
          );
        }
        if (error instanceof NotFoundError) {
          return answered(404, `application "${ref}" not found (unknown, deleted or internal)`);
        }
        if (error instanceof ValidationError) return answered(422, error.message);
        if (error instanceof AppError) return answered(error.status, error.detail);
        // The database is unreachable or busy: retried.
        return answered(500, `could not create the message: ${(error as Error).message}`);
      }
    });
  }
}
