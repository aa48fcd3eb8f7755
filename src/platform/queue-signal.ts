/**
 * Wakes idle delivery workers when new work is queued, so a message is picked up in
 * milliseconds without tight polling. In one process this is a plain callback; across
 * processes on PostgreSQL the store relays it with LISTEN/NOTIFY (see `store/postgres/notify.ts`).
 */
export class QueueSignal {
  private waiters: (() => void)[] = [];
  private generation = 0;
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

  /**
   * Counts wake-ups. A worker reads it before it looks for work and passes it to `wait`: a
   * notification that arrived in between (after the empty claim, before the sleep) then ends
   * the wait at once instead of being lost.
   */
  get version(): number {
    return this.generation;
  }

  /** Called for notifications that arrive from other processes. */
  wakeLocal(): void {
    this.generation++;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves on the next notify, or after `ms`; at once if a notify came after `seen`. */
  wait(ms: number, seen?: number): Promise<void> {
    if (seen !== undefined && seen !== this.generation) return Promise.resolve();
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
