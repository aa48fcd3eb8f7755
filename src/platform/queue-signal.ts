/**
 * Wakes idle delivery workers when new work is queued, so a message is picked up in
 * milliseconds without tight polling. In one process this is a plain callback; across
 * processes on PostgreSQL the store relays it with LISTEN/NOTIFY (see `store/postgres/notify.ts`).
 */
export class QueueSignal {
  private waiters: (() => void)[] = [];
  private remote: (() => void) | undefined;
  private pending = false;

  /** Something (e.g. PostgreSQL NOTIFY) that tells other processes too. */
  relayTo(remote: () => void): void {
    this.remote = remote;
  }

  /** New deliveries are due now. */
  notify(): void {
    this.wakeLocal();
    if (this.remote && !this.pending) {
      // One NOTIFY per turn of the event loop is enough however many messages were queued.
      this.pending = true;
      setImmediate(() => {
        this.pending = false;
        this.remote?.();
      });
    }
  }

  /** Called for notifications that arrive from other processes. */
  wakeLocal(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves on the next notify, or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        const index = waiters.indexOf(done);
        if (index >= 0) waiters.splice(index, 1);
        resolve();
      }
      this.waiters.push(done);
    });
  }
}
