import type { Logger } from 'pino';
import type { Clock } from '../core/time.js';
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
}
