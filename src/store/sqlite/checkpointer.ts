import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What one `PRAGMA wal_checkpoint(…)` reported: whether it was held back, frames in the WAL, frames copied. */
export interface CheckpointPass {
  busy: number;
  log: number;
  checkpointed: number;
}

/**
 * The worker's code, plain CommonJS (a worker started from a string needs no TypeScript
 * loader). It owns a second connection to the same file whose only job is to copy the WAL
 * into the database: `wal_checkpoint(PASSIVE)` on a timer (never waits for, nor blocks, the
 * writer) and `RESTART` when asked. With `synchronous = FULL` on this connection, SQLite syncs
 * the WAL before copying and the database after, so the WAL can be restarted safely once
 * everything has been copied.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');
db.pragma('busy_timeout = ' + workerData.restartTimeoutMs);
const pass = (mode) => {
  try {
    const [row] = db.pragma('wal_checkpoint(' + mode + ')');
    parentPort.postMessage({ type: 'pass', mode, busy: row.busy, log: row.log, checkpointed: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message || error) });
  }
};
const timer = setInterval(() => pass('PASSIVE'), workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'restart') pass('RESTART');
  else if (message === 'close') {
    clearInterval(timer);
    pass('PASSIVE');
    db.close();
    parentPort.close();
  }
});
`;

/**
 * Checkpoints a SQLite WAL on a thread of its own, so the copy into the database file and its
 * fsyncs never run on the event loop (inside whichever COMMIT crossed the auto-checkpoint
 * threshold, as SQLite does by default: the inbound p99). Written here because neither
 * better-sqlite3 nor SQLite offer a background checkpointer.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private waiters: ((pass: CheckpointPass | undefined) => void)[] = [];
  private failed = false;
  private closing = false;
  /** Frames in the WAL at the last pass. */
  walFrames = 0;

  constructor(
    path: string,
    private readonly onFailure: (error: Error) => void,
    /** After every pass: the frames then in the WAL. */
    private readonly onPass: (walFrames: number) => void = () => {},
    intervalMs = 25,
    restartTimeoutMs = 500,
  ) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, driver, intervalMs, restartTimeoutMs },
    });
    this.worker.unref();
    this.worker.on(
      'message',
      (message: { type: string; mode: string; message: string } & CheckpointPass) => {
        if (message.type === 'error') return this.fail(new Error(message.message));
        const pass = { busy: message.busy, log: message.log, checkpointed: message.checkpointed };
        this.walFrames = pass.log;
        if (message.mode !== 'RESTART') {
          this.onPass(pass.log);
          return;
        }
        const waiters = this.waiters;
        this.waiters = [];
        for (const waiter of waiters) waiter(pass);
      },
    );
    this.worker.on('error', (error) => this.fail(error));
    // Exiting on its own (not asked to) is a failure too: nothing would answer `restart`.
    this.worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`checkpointer thread exited (${code})`));
    });
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter(undefined);
    this.onFailure(error);
  }

  /**
   * A `wal_checkpoint(RESTART)` on the thread: it waits for any other connection's write to
   * commit, holds new writers back while it copies what is left, and then the next write
   * restarts the WAL from its beginning. The caller writes nothing meanwhile.
   * Bounded by `restartTimeoutMs` (a reader of an old snapshot, e.g. another process, can
   * hold it back; the WAL then grows until the next try).
   */
  async restart(): Promise<void> {
    if (!this.failed) {
      this.worker.ref(); // a wait for the thread must keep the process alive
      await new Promise<CheckpointPass | undefined>((resolve) => {
        this.waiters.push(resolve);
        this.worker.postMessage('restart');
      }).finally(() => this.worker.unref());
    }
    this.walFrames = 0;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.failed) {
      await this.worker.terminate();
      return;
    }
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.ref(); // keep the process alive until its last pass is done
    this.worker.postMessage('close');
    await exited;
  }
}
