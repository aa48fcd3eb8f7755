import { type AppId, type EndpointId, type MessageId, newId } from '../core/ids.js';
import { toIso } from '../core/time.js';
import type { ServiceContext } from '../platform/context.js';
import { ensureInternalApplication } from '../store/applications.js';
import { insertDeliveries, TriggerType } from '../store/deliveries.js';
import { insertMessage, type MessageRecord, matchingEndpointIdsCached } from '../store/messages.js';
import type { Sql } from '../store/sql.js';
import { newDeliveries } from './messages.js';

/**
 * The hidden application whose endpoints are the organisation's operational-webhook
 * endpoints. The colon keeps it out of reach of public uids (their pattern has no colon).
 */
export const OPERATIONAL_APP_KEY = 'switchboard:operational';

export interface AttemptRef {
  appId: AppId;
  msgId: MessageId;
  endpointId: EndpointId;
  lastAttempt: { id: string; responseStatusCode: number; timestamp: number };
}

export async function operationalAppId(ctx: ServiceContext, sql: Sql = ctx.db): Promise<AppId> {
  return ensureInternalApplication(sql, OPERATIONAL_APP_KEY, () => {
    const now = ctx.clock();
    return {
      id: newId('application', now),
      uid: OPERATIONAL_APP_KEY,
      name: 'Operational webhooks',
      throttleRate: null,
      metadata: {},
      createdAt: now,
      updatedAt: now,
    };
  });
}

/**
 * Operational webhooks (`endpoint.*`, `message.attempt.*`) as Svix sends them: ordinary
 * messages of the hidden operational application, so they are signed, retried and logged by
 * the same engine as every other message.
 */
export class OperationalEvents {
  private appId: AppId | undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly onQueued: () => void = () => {},
  ) {}

  /** Events about the operational application itself would only feed back into it. */
  private async isOperational(appId: AppId): Promise<boolean> {
    this.appId ??= await operationalAppId(this.ctx);
    return appId === this.appId;
  }

  private async emit(type: string, data: Record<string, unknown>): Promise<void> {
    this.appId ??= await operationalAppId(this.ctx);
    const appId = this.appId;
    const endpointIds = await matchingEndpointIdsCached(this.ctx.db, appId, type, null);
    if (endpointIds.length === 0) return;
    const now = this.ctx.clock();
    const message: MessageRecord = {
      id: newId('message', now),
      appId,
      eventId: null,
      eventType: type,
      payload: JSON.stringify({ type, data }),
      channels: null,
      tags: null,
      createdAt: now,
      payloadExpiresAt: now + 90 * 86_400_000,
    };
    await this.ctx.db.batch(async (tx) => {
      await insertMessage(tx, message);
      await insertDeliveries(
        tx,
        newDeliveries(message, endpointIds, TriggerType.Scheduled, now, now),
      );
    });
    this.onQueued();
  }

  private async refs(appId: AppId, endpointId: EndpointId) {
    const [app, endpoint] = await Promise.all([
      this.ctx.db.get<{ uid: string | null }>('SELECT uid FROM applications WHERE id = ?', [appId]),
      this.ctx.db.get<{ uid: string | null }>('SELECT uid FROM endpoints WHERE id = ?', [
        endpointId,
      ]),
    ]);
    return { appId, appUid: app?.uid ?? null, endpointId, endpointUid: endpoint?.uid ?? null };
  }

  async endpointChanged(
    kind: 'created' | 'updated' | 'deleted',
    appId: AppId,
    endpointId: EndpointId,
  ): Promise<void> {
    if (await this.isOperational(appId)) return;
    await this.emit(`endpoint.${kind}`, await this.refs(appId, endpointId));
  }

  async endpointDisabled(
    appId: AppId,
    endpointId: EndpointId,
    failingSince: number,
  ): Promise<void> {
    if (await this.isOperational(appId)) return;
    await this.emit('endpoint.disabled', {
      ...(await this.refs(appId, endpointId)),
      failSince: toIso(failingSince),
      trigger: 'automatic',
    });
  }

  private async attempt(type: string, ref: AttemptRef): Promise<void> {
    // Failures delivering operational webhooks do not produce more operational webhooks.
    if (await this.isOperational(ref.appId)) return;
    const [app, msg] = await Promise.all([
      this.ctx.db.get<{ uid: string | null }>('SELECT uid FROM applications WHERE id = ?', [
        ref.appId,
      ]),
      this.ctx.db.get<{ event_id: string | null }>('SELECT event_id FROM messages WHERE id = ?', [
        ref.msgId,
      ]),
    ]);
    await this.emit(type, {
      appId: ref.appId,
      appUid: app?.uid ?? null,
      msgId: ref.msgId,
      msgEventId: msg?.event_id ?? null,
      endpointId: ref.endpointId,
      lastAttempt: {
        id: ref.lastAttempt.id,
        responseStatusCode: ref.lastAttempt.responseStatusCode,
        timestamp: toIso(ref.lastAttempt.timestamp),
      },
    });
  }

  attemptFailing(ref: AttemptRef): Promise<void> {
    return this.attempt('message.attempt.failing', ref);
  }

  attemptExhausted(ref: AttemptRef): Promise<void> {
    return this.attempt('message.attempt.exhausted', ref);
  }

  attemptRecovered(ref: AttemptRef): Promise<void> {
    return this.attempt('message.attempt.recovered', ref);
  }
}
