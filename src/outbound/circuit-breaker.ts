// Per-key circuit breakers (one per endpoint, or per NATS subject): stop hammering a receiver
// that is failing most requests, so its backlog waits cheaply instead of burning attempts, and
// probe it now and then to notice when it is back.
//
//   closed ──(≥ minimumRequests in the window and failure ratio ≥ failureRatio)──▶ open
//   open ──(openDuration elapsed, on the next allow())──▶ half-open
//   half-open ──(probe succeeds)──▶ closed (window cleared, open duration back to the base)
//   half-open ──(probe fails)──▶ open again, for twice as long (capped)
//
// The window slides in buckets (default 10 × 6 s): an outcome counts for 54–60 s, and memory per
// key is fixed. Pure: time is the `now` (epoch ms) argument of each call.
//
// Memory stays bounded two ways: a closed key whose window has emptied is equivalent to an
// unknown key and is dropped (swept at most once per window), and at most `maxKeys` keys are
// kept — past that the least recently used is dropped, even if open (a lost open breaker only
// costs a few failing requests until it opens again).

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Length of the sliding window, ms. Default 60 s. */
  windowMs?: number;
  /** Buckets the window is divided into. Default 10. */
  buckets?: number;
  /** Outcomes needed in the window before the ratio means anything. Default 10. */
  minimumRequests?: number;
  /** Failure ratio (0–1) that opens the breaker. Default 0.5. */
  failureRatio?: number;
  /** First open period, ms; doubles on each re-open from half-open. Default 30 s. */
  openDurationMs?: number;
  /** Longest open period, ms. Default 10 min. */
  maxOpenDurationMs?: number;
  /** Concurrent probes allowed while half-open. Default 1. */
  halfOpenProbes?: number;
  /**
   * A probe that has not reported after this long is presumed lost (its worker died) and its
   * slot is given to a new probe, so a breaker cannot stay half-open forever. Default 30 s
   * (twice the 15 s response deadline).
   */
  probeTimeoutMs?: number;
  /** Most keys tracked at once. Default 100 000. */
  maxKeys?: number;
  /** Called on every state change, e.g. to update metrics or log. Must not throw. */
  onStateChange?: (change: StateChange) => void;
}

export interface StateChange {
  key: string;
  from: BreakerState;
  to: BreakerState;
  at: number;
  /** When an open breaker lets a probe through (set when `to` is 'open'). */
  retryAt?: number;
}

export type AllowResult =
  | { allowed: true /** this request is a half-open probe */; probe: boolean }
  | { allowed: false /** epoch ms worth asking again */; retryAt: number };

interface Bucket {
  /** floor(time / bucketMs) of the outcomes counted here; stale when out of the window. */
  epoch: number;
  successes: number;
  failures: number;
}

interface Breaker {
  state: BreakerState;
  buckets: Bucket[];
  /** While open: when the breaker half-opens. */
  retryAt: number;
  /** Opens since the breaker was last closed: the open period is base × 2^(opens − 1). */
  opens: number;
  /** While half-open: when each probe in flight was let through. */
  probes: number[];
}

export class CircuitBreakers {
  private readonly windowMs: number;
  private readonly bucketCount: number;
  private readonly bucketMs: number;
  private readonly minimumRequests: number;
  private readonly failureRatio: number;
  private readonly openDurationMs: number;
  private readonly maxOpenDurationMs: number;
  private readonly halfOpenProbes: number;
  private readonly probeTimeoutMs: number;
  private readonly maxKeys: number;
  private readonly onStateChange: ((change: StateChange) => void) | undefined;
  /** Insertion order = least recently used first (a touched key is moved to the end). */
  private readonly breakers = new Map<string, Breaker>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: CircuitBreakerOptions = {}) {
    this.windowMs = positive('windowMs', options.windowMs ?? 60_000);
    this.bucketCount = positive('buckets', options.buckets ?? 10);
    this.bucketMs = this.windowMs / this.bucketCount;
    this.minimumRequests = positive('minimumRequests', options.minimumRequests ?? 10);
    this.failureRatio = options.failureRatio ?? 0.5;
    if (!(this.failureRatio > 0 && this.failureRatio <= 1)) {
      throw new RangeError(`failureRatio must be in (0, 1], got ${this.failureRatio}`);
    }
    this.openDurationMs = positive('openDurationMs', options.openDurationMs ?? 30_000);
    this.maxOpenDurationMs = Math.max(
      this.openDurationMs,
      positive('maxOpenDurationMs', options.maxOpenDurationMs ?? 600_000),
    );
    this.halfOpenProbes = positive('halfOpenProbes', options.halfOpenProbes ?? 1);
    this.probeTimeoutMs = positive('probeTimeoutMs', options.probeTimeoutMs ?? 30_000);
    this.maxKeys = positive('maxKeys', options.maxKeys ?? 100_000);
    this.onStateChange = options.onStateChange;
  }

  /**
   * May a request to `key` go now? Moves an open breaker whose period is over to half-open and
   * hands out probe slots. A caller that is allowed must `record` the outcome.
   */
  allow(key: string, now: number): AllowResult {
    this.maybeSweep(now);
    const breaker = this.breakers.get(key);
    if (!breaker || breaker.state === 'closed') return { allowed: true, probe: false };
    this.touch(key, breaker);
    if (breaker.state === 'open') {
      if (now < breaker.retryAt) return { allowed: false, retryAt: breaker.retryAt };
      this.transition(key, breaker, 'half-open', now);
    }
    breaker.probes = breaker.probes.filter((started) => now - started < this.probeTimeoutMs);
    if (breaker.probes.length < this.halfOpenProbes) {
      breaker.probes.push(now);
      return { allowed: true, probe: true };
    }
    // Probes are out: ask again when the oldest would be presumed lost. A probe that succeeds
    // sooner closes the breaker, and the next allow() after that passes.
    return { allowed: false, retryAt: breaker.probes[0] + this.probeTimeoutMs };
  }

  /** The outcome of a request that `allow` let through. */
  record(key: string, success: boolean, now: number): void {
    this.maybeSweep(now);
    let breaker = this.breakers.get(key);
    if (!breaker) {
      // Successes count too (the ratio needs them): a key is tracked from its first outcome.
      breaker = { state: 'closed', buckets: [], retryAt: 0, opens: 0, probes: [] };
      this.breakers.set(key, breaker);
      this.evictOverflow();
    } else {
      this.touch(key, breaker);
    }
    switch (breaker.state) {
      case 'open':
        // A late answer to a request let through before the breaker opened: it says nothing
        // about now that the open period does not already assume.
        return;
      case 'half-open':
        // Every outcome while half-open is taken as the probe's (a late one is as informative).
        breaker.probes.shift();
        if (success) this.close(key, breaker, now);
        else this.open(key, breaker, now);
        return;
      case 'closed': {
        this.count(breaker, success, now);
        const { successes, failures } = this.totals(breaker, now);
        const total = successes + failures;
        if (total >= this.minimumRequests && failures / total >= this.failureRatio) {
          this.open(key, breaker, now);
        }
      }
    }
  }

  /**
   * The state of `key`. With `now`, an open breaker whose period is over reads 'half-open'
   * (what the next `allow` will make it); without, the stored state. Unknown keys are closed.
   */
  state(key: string, now?: number): BreakerState {
    const breaker = this.breakers.get(key);
    if (!breaker) return 'closed';
    if (breaker.state === 'open' && now !== undefined && now >= breaker.retryAt) return 'half-open';
    return breaker.state;
  }

  /** Breakers per state, for a metrics gauge. `closed` counts only keys with recent outcomes. */
  counts(): { closed: number; open: number; halfOpen: number } {
    const result = { closed: 0, open: 0, halfOpen: 0 };
    for (const breaker of this.breakers.values()) {
      if (breaker.state === 'closed') result.closed++;
      else if (breaker.state === 'open') result.open++;
      else result.halfOpen++;
    }
    return result;
  }

  /** Keys currently tracked (memory use). */
  get size(): number {
    return this.breakers.size;
  }

  /** Drop closed breakers with nothing left in their window (they behave like unknown keys). */
  sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, breaker] of this.breakers) {
      if (breaker.state === 'closed' && this.isEmpty(breaker, now)) this.breakers.delete(key);
    }
  }

  private maybeSweep(now: number): void {
    if (now - this.lastSweep >= this.windowMs) this.sweep(now);
  }

  private touch(key: string, breaker: Breaker): void {
    this.breakers.delete(key);
    this.breakers.set(key, breaker);
  }

  private evictOverflow(): void {
    while (this.breakers.size > this.maxKeys) {
      const oldest = this.breakers.keys().next().value;
      if (oldest === undefined) return;
      this.breakers.delete(oldest);
    }
  }

  private count(breaker: Breaker, success: boolean, now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    const slot = epoch % this.bucketCount;
    let bucket = breaker.buckets[slot];
    if (!bucket || bucket.epoch !== epoch) {
      bucket = { epoch, successes: 0, failures: 0 };
      breaker.buckets[slot] = bucket;
    }
    if (success) bucket.successes++;
    else bucket.failures++;
  }

  private live(bucket: Bucket | undefined, now: number): bucket is Bucket {
    if (!bucket) return false;
    const age = Math.floor(now / this.bucketMs) - bucket.epoch;
    return age >= 0 && age < this.bucketCount;
  }

  private totals(breaker: Breaker, now: number): { successes: number; failures: number } {
    let successes = 0;
    let failures = 0;
    for (const bucket of breaker.buckets) {
      if (!this.live(bucket, now)) continue;
      successes += bucket.successes;
      failures += bucket.failures;
    }
    return { successes, failures };
  }

  private isEmpty(breaker: Breaker, now: number): boolean {
    return !breaker.buckets.some((bucket) => this.live(bucket, now));
  }

  private open(key: string, breaker: Breaker, now: number): void {
    breaker.opens++;
    const duration = Math.min(
      this.openDurationMs * 2 ** (breaker.opens - 1),
      this.maxOpenDurationMs,
    );
    breaker.retryAt = now + duration;
    breaker.buckets = []; // the window restarts when the breaker closes again
    breaker.probes = [];
    this.transition(key, breaker, 'open', now);
  }

  private close(key: string, breaker: Breaker, now: number): void {
    breaker.opens = 0;
    breaker.buckets = [];
    breaker.probes = [];
    this.transition(key, breaker, 'closed', now);
  }

  private transition(key: string, breaker: Breaker, to: BreakerState, now: number): void {
    const from = breaker.state;
    breaker.state = to;
    this.onStateChange?.({
      key,
      from,
      to,
      at: now,
      ...(to === 'open' ? { retryAt: breaker.retryAt } : {}),
    });
  }
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  }
  return value;
}
