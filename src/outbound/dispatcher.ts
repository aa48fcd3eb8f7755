import { randomBytes } from 'node:crypto';
import { type AttemptId, newId } from '../core/ids.js';
import type { DeliveryHandoff, DeliveryLease, ServiceContext } from '../platform/context.js';
import type { Metrics } from '../platform/metrics.js';
import type { QueueSignal } from '../platform/queue-signal.js';
import { type AttemptRecord, insertAttempt, insertAttempts } from '../store/attempts.js';
import {
  claimDueDeliveries,
  completeDeliveries,
  type DeliveryRecord,
  MessageStatus,
  nextDueAt,
  rescheduleDelivery,
  TriggerType,
  updateDelivery,
} from '../store/deliveries.js';
import {
  cachedDeliveryTarget,
  type DeliveryTarget,
  type EndpointOutcomeEffects,
  noteFailureUnderway,
  recordEndpointOutcome,
  streakKnownClean,
} from '../store/endpoint-health.js';
import { type InboundEventId, setInboundEventStatus } from '../store/inbound-events.js';
import { getMessageById, getMessagesByIds, type MessageRecord } from '../store/messages.js';
import type { Sql } from '../store/sql.js';
import { CircuitBreakers } from './circuit-breaker.js';
import type { OperationalEvents } from './operational-events.js';
import { RateLimiter } from './rate-limiter.js';
import { decideRetry, type GiveUpReason } from './retry-policy.js';
import type { SendResult, Transports } from './transports/index.js';

export interface DispatcherOptions {
  /** Deliveries claimed per query. */
  batchSize?: number;
  /** Attempts in flight at once, across all endpoints. */
  concurrency?: number;
  /** How long a claim is ours; a crashed worker's claims become due again after this. */
  leaseMs?: number;
  /** Longest sleep when idle (a notify wakes it sooner). */
  idlePollMs?: number;
  /** Consecutive failed attempts after which an endpoint is disabled. */
  disableAfterFailures?: number;
  random?: () => number;
}

/**
 * The delivery engine's worker loop: claims due deliveries in batches under a lease, sends
 * them concurrently (bounded), and records every attempt and its consequence (retry time,
 * endpoint health, operational webhooks) in one group-committed write per attempt.
 *
 * Correctness rests on the store, not on this process: a delivery leaves the due set only
 * when its outcome is committed, and a claim expires if we die, so every accepted message is
 * delivered at least once across crashes.
 */
export class Dispatcher implements DeliveryHandoff {
  readonly workerId = `wk_${randomBytes(6).toString('hex')}`;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly idlePollMs: number;
  private readonly disableAfter: number;
  private readonly random: () => number;
  private readonly breakers = new CircuitBreakers();
  private readonly limiter = new RateLimiter();
  private readonly inFlight = new Set<Promise<void>>();
  /** Slots promised to deliveries being written (see `reserve`). */
  private reserved = 0;
  /** The loop waits for this many free slots before it claims again (bigger, fewer claims). */
  private readonly refillAt: number;
  /** Resolves the loop's wait for free slots. */
  private slotWaiter: (() => void) | undefined;
  /** Successes waiting for the group commit, written together (see `recordSuccess`). */
  private successes: PendingSuccess[] | undefined;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** While the loop sleeps, when it wakes (+∞ while it works out how long to sleep). */
  private wakeAt = Number.NEGATIVE_INFINITY;
  /** The earliest time one of our deliveries was put back for, since the last claim. */
  private earliestDueAgain = Number.POSITIVE_INFINITY;

  constructor(
    private readonly ctx: ServiceContext,
    /** Carries each attempt, by the endpoint URL's scheme (http(s), nats, mailto, app). */
    private readonly transports: Transports,
    private readonly signal: QueueSignal,
    private readonly metrics: Metrics,
    private readonly operational: OperationalEvents | undefined,
    options: DispatcherOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 64;
    this.concurrency = options.concurrency ?? 256;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.idlePollMs = options.idlePollMs ?? 1_000;
    this.disableAfter = options.disableAfterFailures ?? 20;
    this.random = options.random ?? Math.random;
    this.refillAt = Math.max(1, Math.min(this.batchSize, this.concurrency));
  }

  /** Breaker states of this worker, for metrics. */
  breakerCounts(): Record<string, number> {
    const { closed, open, halfOpen } = this.breakers.counts();
    return { closed, open, half_open: halfOpen };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Stops claiming and waits (bounded) for attempts in flight; unfinished claims expire. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.running = false;
    this.signal.wakeLocal();
    this.wakeForSlots();
    await this.loopDone;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const free = this.concurrency - this.inFlight.size - this.reserved;
        // Busy: wait until a whole batch can be claimed, rather than claiming one or two rows
        // (a write transaction each) every time an attempt finishes.
        if (free < this.refillAt && this.inFlight.size > 0) {
          await new Promise<void>((resolve) => {
            this.slotWaiter = resolve;
          });
          continue;
        }
        this.earliestDueAgain = Number.POSITIVE_INFINITY;
        const seen = this.signal.version;
        const now = this.ctx.clock();
        // The claim joins the group commit: it shares a COMMIT (one fsync) with the outcomes
        // being recorded at the same moment instead of paying its own.
        const claimed = await this.ctx.db.batch((tx) =>
          claimDueDeliveries(tx, {
            now,
            limit: Math.min(this.batchSize, free),
            leaseMs: this.leaseMs,
            worker: this.workerId,
          }),
        );
        if (claimed.length === 0) {
          await this.sleep(seen);
          continue;
        }
        // The batch's messages in one query, not one per attempt.
        const messages = await getMessagesByIds(
          this.ctx.db,
          claimed.map((delivery) => delivery.msgId),
        );
        for (const delivery of claimed) this.track(delivery, messages.get(delivery.msgId));
      } catch (error) {
        // The database is unreachable or busy: back off and try again; nothing is lost.
        this.ctx.log.error({ err: error }, 'delivery loop error');
        await this.signal.wait(this.idlePollMs);
      }
    }
  }

  reserve(count: number, now: number): DeliveryLease | undefined {
    if (!this.running || this.inFlight.size + this.reserved + count > this.concurrency) {
      return undefined;
    }
    this.reserved += count;
    return { worker: this.workerId, until: now + this.leaseMs, count };
  }

  deliver(
    lease: DeliveryLease,
    deliveries: readonly DeliveryRecord[],
    message: MessageRecord,
  ): void {
    this.reserved -= lease.count;
    for (const delivery of deliveries) this.track(delivery, message);
  }

  release(lease: DeliveryLease): void {
    this.reserved -= lease.count;
  }

  /**
   * Sleeps until the next delivery falls due, at most `idlePollMs`. Deliveries in flight may be
   * put back for a time sooner than that (a retry, a rate-limit or FIFO wait) after the MIN
   * query ran: `dueAgainAt` wakes the loop for them, instead of leaving them up to
   * `idlePollMs` late.
   */
  private async sleep(seen: number): Promise<void> {
    this.wakeAt = Number.POSITIVE_INFINITY;
    try {
      const ms = await this.idleFor();
      const now = this.ctx.clock();
      const sooner = Math.max(1, this.earliestDueAgain - now);
      this.wakeAt = now + Math.min(ms, sooner);
      await this.signal.wait(Math.min(ms, sooner), seen);
    } finally {
      this.wakeAt = Number.NEGATIVE_INFINITY;
    }
  }

  /** One of our deliveries was put back for `at`: the loop must be awake by then. */
  private dueAgainAt(at: number): void {
    this.earliestDueAgain = Math.min(this.earliestDueAgain, at);
    if (at < this.wakeAt) this.signal.wakeLocal();
  }

  /** Time until the next delivery falls due (a retry, a deliverAt), at most `idlePollMs`. */
  private async idleFor(): Promise<number> {
    const next = await nextDueAt(this.ctx.db);
    if (next === undefined) return this.idlePollMs;
    return Math.max(1, Math.min(this.idlePollMs, next - this.ctx.clock()));
  }

  private track(delivery: DeliveryRecord, message: MessageRecord | undefined): void {
    const tracked = this.process(delivery, message).catch(async (error: unknown) => {
      this.ctx.log.error({ err: error, deliveryId: delivery.id }, 'delivery failed unexpectedly');
      await this.backOff(delivery, error).catch(() => {});
    });
    this.inFlight.add(tracked);
    tracked.finally(() => {
      this.inFlight.delete(tracked);
      if (this.concurrency - this.inFlight.size - this.reserved >= this.refillAt) {
        this.wakeForSlots();
      }
    });
  }

  private wakeForSlots(): void {
    const waiter = this.slotWaiter;
    this.slotWaiter = undefined;
    waiter?.();
  }

  /**
   * A delivery that cannot even be attempted (e.g. a secret that no longer decrypts) follows the
   * retry schedule like a failed attempt and ends as failed, instead of being re-claimed every
   * lease forever.
   */
  private async backOff(delivery: DeliveryRecord, error: unknown): Promise<void> {
    const now = this.ctx.clock();
    const schedule = this.ctx.config.retryScheduleSeconds;
    const attempt = delivery.attemptCount + 1;
    const manual = delivery.triggerType === TriggerType.Manual;
    const exhausted = attempt >= schedule.length || manual;
    await this.ctx.db.transaction(async (tx) => {
      const stillOurs = await updateDelivery(
        tx,
        delivery.id,
        {
          status: exhausted ? MessageStatus.Fail : MessageStatus.Sending,
          attemptCount: attempt,
          nextAttemptAt: exhausted ? null : now + (schedule[attempt] ?? 0) * 1000,
          now,
        },
        this.workerId,
      );
      if (stillOurs && exhausted && !manual) {
        const message = await getMessageById(tx, delivery.msgId);
        if (message) {
          await deadLetter(tx, message, delivery.endpointId, 'exhausted', String(error), now);
        }
      }
    });
  }

  private async process(
    delivery: DeliveryRecord,
    message: MessageRecord | undefined,
  ): Promise<void> {
    const now = this.ctx.clock();
    const target = await cachedDeliveryTarget(this.ctx.db, this.ctx.box, delivery.endpointId, now);
    // Deleted or disabled endpoints, and expired payloads, receive nothing: the delivery ends.
    if (!message || message.payload === null || !target || target.disabled) {
      await updateDelivery(
        this.ctx.db,
        delivery.id,
        {
          status: MessageStatus.Fail,
          attemptCount: delivery.attemptCount,
          nextAttemptAt: null,
          now,
        },
        this.workerId,
      );
      return;
    }
    // Ordering first: a delivery that must wait anyway must not use up a rate-limit token or
    // a half-open breaker's probe slot (neither is given back until the probe times out).
    const waitUntil = target.ordering === 'fifo' ? await this.fifoWait(delivery, now) : undefined;
    if (waitUntil !== undefined) {
      await rescheduleDelivery(this.ctx.db, delivery.id, waitUntil, this.workerId, now);
      this.dueAgainAt(waitUntil);
      return;
    }
    const gate = this.admit(target, now);
    if (gate !== undefined) {
      await rescheduleDelivery(this.ctx.db, delivery.id, gate, this.workerId, now);
      this.dueAgainAt(gate);
      return;
    }

    const result = await this.transports.send({
      target,
      message: { ...message, payload: message.payload },
      now,
    });
    await this.record(delivery, target, message, result, now);
  }

  /**
   * Queues a success for the next group commit. All successes queued until that item runs are
   * written by one multi-row UPDATE (guarded by our lease, as `updateDelivery`) and one
   * multi-row INSERT of their attempts. Resolves to undefined when our lease had expired.
   */
  private recordSuccess(
    id: DeliveryRecord['id'],
    attempt: AttemptRecord,
    now: number,
  ): Promise<EndpointOutcomeEffects | undefined> {
    let pending = this.successes;
    if (pending === undefined) {
      const batch: PendingSuccess[] = [];
      pending = batch;
      this.successes = batch;
      this.ctx.db
        .batch(async (tx) => {
          if (this.successes === batch) this.successes = undefined; // later ones start anew
          const ours = await completeDeliveries(
            tx,
            batch.map((entry) => entry.id),
            batch.reduce((latest, entry) => Math.max(latest, entry.now), 0),
            this.workerId,
          );
          await insertAttempts(
            tx,
            batch.filter((entry) => ours.has(entry.id)).map((entry) => entry.attempt),
          );
          return ours;
        })
        .then(
          (ours) => {
            for (const entry of batch) entry.resolve(ours.has(entry.id) ? CLEAN : undefined);
          },
          (error: unknown) => {
            for (const entry of batch) entry.reject(error);
          },
        );
    }
    const queue = pending;
    return new Promise((resolve, reject) => {
      queue.push({ id, attempt, now, resolve, reject });
    });
  }

  /**
   * Rate limits (the endpoint's, then its application's), then circuit breaker (in that order, so a half-open probe slot is never handed
   * out to a delivery the limiter then holds back): when not admitted, the time to try again.
   */
  private admit(target: DeliveryTarget, now: number): number | undefined {
    if (target.throttleRate !== null) {
      const token = this.limiter.take(target.id, target.throttleRate, now);
      if (!token.ok) return token.retryAtMs;
    }
    if (target.appThrottleRate !== null) {
      const token = this.limiter.take(`app:${target.appId}`, target.appThrottleRate, now);
      if (!token.ok) return token.retryAtMs;
    }
    const breaker = this.breakers.allow(target.id, now);
    return breaker.allowed ? undefined : breaker.retryAt;
  }

  /**
   * FIFO: undefined when no earlier delivery to the endpoint is unfinished, else when to look
   * again. While the earliest one is being sent (leased), soon; while it waits for a retry (or
   * for the rate limiter or breaker), not before it is due — polling every 250 ms through a
   * retry delay of hours would rewrite every queued row four times a second.
   */
  private async fifoWait(delivery: DeliveryRecord, now: number): Promise<number | undefined> {
    const row = await this.ctx.db.get<{ next_attempt_at: number; lease_until: number | null }>(
      'SELECT next_attempt_at, lease_until FROM deliveries WHERE endpoint_id = ? AND id < ? AND next_attempt_at IS NOT NULL ORDER BY id LIMIT 1',
      [delivery.endpointId, delivery.id],
    );
    if (row === undefined) return undefined;
    if (row.lease_until !== null) return now + 250;
    return Math.max(now + 250, Number(row.next_attempt_at));
  }

  private async record(
    delivery: DeliveryRecord,
    target: DeliveryTarget,
    message: MessageRecord,
    result: SendResult,
    startedAt: number,
  ): Promise<void> {
    const now = this.ctx.clock();
    const manual = delivery.triggerType === TriggerType.Manual;
    const attemptNumber = delivery.attemptCount + 1;
    const decision = decideRetry({
      outcome: result.outcome,
      attempt: attemptNumber,
      trigger: manual ? 'manual' : 'scheduled',
      schedule: this.ctx.config.retryScheduleSeconds,
      endpoint: { retryNon2xx: target.retryNon2xx },
      now,
      random: this.random,
    });
    const success = decision.action === 'success';
    // The breaker tracks whether the endpoint is up: a 4xx answer means it is, even if it failed.
    const up =
      result.outcome.kind === 'response' &&
      !(
        result.outcome.status >= 500 ||
        result.outcome.status === 429 ||
        result.outcome.status === 408
      );
    this.breakers.record(target.id, up, now);
    const attemptId = newId('attempt', startedAt) as AttemptId;
    const status = success
      ? MessageStatus.Success
      : decision.action === 'retry'
        ? MessageStatus.Sending
        : MessageStatus.Fail;

    const attempt: AttemptRecord = {
      id: attemptId,
      msgId: delivery.msgId,
      endpointId: delivery.endpointId,
      appId: delivery.appId,
      deliveryId: delivery.id,
      url: target.url,
      response: result.response,
      responseStatusCode: result.statusCode,
      responseDurationMs: result.durationMs,
      status: success ? MessageStatus.Success : MessageStatus.Fail,
      triggerType: delivery.triggerType,
      error: result.outcome.kind === 'response' ? null : result.outcome.message,
      createdAt: startedAt,
    };
    // The common case, a success to an endpoint without a failure streak, changes nothing but
    // the delivery and the attempt log: those of one turn are written by shared statements.
    const cleanStreak = success && streakKnownClean(target.id);
    if (!success) noteFailureUnderway(target.id);
    const effects: EndpointOutcomeEffects | undefined = cleanStreak
      ? await this.recordSuccess(delivery.id, attempt, now)
      : await this.ctx.db.batch(async (tx: Sql) => {
          const stillOurs = await updateDelivery(
            tx,
            delivery.id,
            {
              status,
              attemptCount: attemptNumber,
              nextAttemptAt: decision.action === 'retry' ? decision.at : null,
              now,
            },
            this.workerId,
          );
          if (!stillOurs) return undefined; // our lease expired and another worker took over
          await insertAttempt(tx, attempt);
          // The dead-letter state of an inbound event: one of its destinations gave up for good.
          if (decision.action === 'give-up' && decision.reason !== 'manual' && !manual) {
            await deadLetter(
              tx,
              message,
              `${target.id} (${target.url})`,
              decision.reason,
              result.response,
              now,
            );
          }
          return recordEndpointOutcome(tx, target.id, {
            success,
            now,
            disableAfter: this.disableAfter,
            gone: decision.disableEndpoint,
            cleanStreak,
          });
        });
    if (effects && decision.action === 'retry') this.dueAgainAt(decision.at);

    const outcome =
      result.outcome.kind === 'response'
        ? `${Math.floor(result.outcome.status / 100)}xx`
        : result.outcome.kind;
    this.metrics.deliveryAttempts?.inc({
      outcome: success ? 'success' : 'failure',
      status_class: outcome,
    });
    this.metrics.deliveryDuration?.observe(result.durationMs / 1000);
    if (success && delivery.attemptCount === 0) {
      this.metrics.deliveryLatency?.observe((now - delivery.createdAt) / 1000);
    }
    if (!effects || !this.operational) return;
    // An endpoint disabled by a resend (410) is disabled all the same: say so. Only the
    // message.attempt.* events are for scheduled attempts alone.
    if (effects.disabled) {
      await this.operational.endpointDisabled(
        delivery.appId,
        target.id,
        effects.failingSince ?? now,
      );
    }
    if (manual) return;
    const lastAttempt = {
      id: attemptId,
      responseStatusCode: result.statusCode,
      timestamp: startedAt,
    };
    const ref = {
      appId: delivery.appId,
      msgId: delivery.msgId,
      endpointId: delivery.endpointId,
      lastAttempt,
    };
    if (success && delivery.attemptCount >= 4) await this.operational.attemptRecovered(ref);
    else if (!success && decision.action === 'retry' && attemptNumber === 4) {
      await this.operational.attemptFailing(ref);
    } else if (!success && decision.action === 'give-up') {
      await this.operational.attemptExhausted(ref);
    }
  }
}

interface PendingSuccess {
  id: DeliveryRecord['id'];
  attempt: AttemptRecord;
  now: number;
  resolve: (effects: EndpointOutcomeEffects | undefined) => void;
  reject: (error: unknown) => void;
}

const CLEAN: EndpointOutcomeEffects = {
  disabled: false,
  failingSince: null,
  consecutiveFailures: 0,
};

/**
 * Marks the inbound event a message forwards as `dead-lettered`, naming the endpoint and why
 * it gave up. Only messages written by inbound routing carry `inboundEventId`; nothing a caller
 * of the API sends can set it.
 */
async function deadLetter(
  tx: Sql,
  message: MessageRecord,
  endpoint: string,
  reason: GiveUpReason,
  detail: string,
  now: number,
): Promise<void> {
  if (!message.inboundEventId) return;
  const why = reason === 'exhausted' ? 'retries exhausted' : 'not retryable';
  const text = detail.length > 500 ? `${detail.slice(0, 500)}…` : detail;
  await setInboundEventStatus(
    tx,
    message.inboundEventId as InboundEventId,
    'dead-lettered',
    `endpoint ${endpoint}: ${why}: ${text}`,
    now,
  );
}
