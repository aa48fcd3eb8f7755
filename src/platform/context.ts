import type { Clock } from '../core/time.js';
import type { Database } from '../store/sql.js';
import type { Config } from './config.js';
import type { SecretBox } from './secret-box.js';

/** What services need from the outside world, passed explicitly (no module-level singletons). */
export interface ServiceContext {
  db: Database;
  box: SecretBox;
  clock: Clock;
  config: Config;
}
