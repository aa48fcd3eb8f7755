import type { Logger } from 'pino';
import type { Clock } from '../core/time.js';
import type { DeliveryRecord } from '../store/deliveries.js';
import type { MessageRecord } from '../store/messages.js';
import type { Database } from '../store/sql.js';
import type { Config } from './config.js';
import type { QueueSignal } from './queue-signal.js';
import type { SecretBox } from './secret-box.js';

/** What services need from the outside world, passed explicitly (no module-level singletons). */
export interface ServiceContext {
  db: Database;
  box: SecretBox;
  clock: Clock;
  config: Config;
  log: Logger;
  /** Wakes delivery workers when deliveries are queued. */
  queue: QueueSignal;
  /** This process's delivery worker, when it runs one (`SWITCHBOARD_ROLE=all`, `worker`). */
  handoff?: DeliveryHandoff;
}

/**
 * Deliveries written already claimed by this process's worker, and handed to it after the
 * commit: no claim query, no message load, no wake-up. Rows carry the worker's lease like a
 * claimed row, so if the process dies they fall due when the lease ends, as any claim does.
 */
export interface DeliveryHandoff {
  /** A lease for `count` deliveries if the worker has that many free slots now. */
  reserve(count: number, now: number): DeliveryLease | undefined;
  /** The rows are committed: send them. */
  deliver(
    lease: DeliveryLease,
    deliveries: readonly DeliveryRecord[],
    message: MessageRecord,
  ): void;
  /** The rows were not written (the transaction failed): give the slots back. */
  release(lease: DeliveryLease): void;
}

export interface DeliveryLease {
  worker: string;
  /** Lease end: `lease_until`, and `next_attempt_at` while the worker holds it. */
  until: number;
  count: number;
}
