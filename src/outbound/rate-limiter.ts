// Per-key token buckets for an endpoint's `throttleRate` (messages per second).
//
// A bucket holds up to `burst = max(1, rate)` tokens and refills continuously at `rate` per
// second; each delivery takes one. So a rate of 5 lets 5 messages go at once after a quiet
// second, then one every 200 ms; a rate below 1 (0.5 = one every 2 s) still holds one token.
// A refusal says exactly when the next token will be there, so the dispatcher can park the
// delivery until then instead of polling.
//
// The rate is passed on every call (it lives on the endpoint, which can be edited at any time):
// when it changes, the time elapsed is first refilled at the old rate, then the tokens are
// clamped to the new burst, so a lowered rate applies at once and a raised one refills faster
// from the next call.
//
// Memory stays bounded: a bucket that has refilled to its burst is the same as no bucket and is
// dropped (swept at most once per `sweepIntervalMs`), and at most `maxKeys` buckets are kept —
// past that the least recently used is dropped (it comes back full: a bounded over-admission).

export type TakeResult =
  | { ok: true }
  | { ok: false /** epoch ms of the next token */; retryAtMs: number };

export interface RateLimiterOptions {
  /** Most keys tracked at once. Default 100 000. */
  maxKeys?: number;
  /** How often idle (full) buckets are dropped, ms. Default 60 s. */
  sweepIntervalMs?: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was computed, epoch ms. */
  at: number;
  ratePerSecond: number;
}

// Float sums of refills (e.g. 3 × 1/3) can land a hair under 1: within EPSILON counts as a whole
// token. The wait is computed to EPSILON / 2 under a whole token, so that float noise can neither
// add a millisecond to `retryAtMs` nor leave the bucket short when that time comes.
const EPSILON = 1e-9;

export class RateLimiter {
  private readonly maxKeys: number;
  private readonly sweepIntervalMs: number;
  /** Insertion order = least recently used first (a touched key is moved to the end). */
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: RateLimiterOptions = {}) {
    this.maxKeys = options.maxKeys ?? 100_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (!(this.maxKeys >= 1)) throw new RangeError(`maxKeys must be ≥ 1, got ${this.maxKeys}`);
  }

  /** Take one token for `key` at `ratePerSecond` (> 0), or learn when the next one is due. */
  take(key: string, ratePerSecond: number, now: number): TakeResult {
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) {
      throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    }
    if (now - this.lastSweep >= this.sweepIntervalMs) this.sweep(now);
    const burst = Math.max(1, ratePerSecond);
    const previous = this.buckets.get(key);
    const bucket: Bucket = previous
      ? { ...previous, tokens: Math.min(this.refilled(previous, now), burst) }
      : { tokens: burst, at: now, ratePerSecond };
    bucket.at = Math.max(now, previous?.at ?? now); // a clock step back must not mint tokens
    bucket.ratePerSecond = ratePerSecond;
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (!previous) this.evictOverflow();

    if (bucket.tokens + EPSILON >= 1) {
      bucket.tokens = Math.max(0, bucket.tokens - 1);
      return { ok: true };
    }
    const waitMs = Math.ceil(((1 - EPSILON / 2 - bucket.tokens) * 1000) / ratePerSecond);
    return { ok: false, retryAtMs: bucket.at + waitMs };
  }

  /** Buckets currently tracked (memory use). */
  get size(): number {
    return this.buckets.size;
  }

  /** Drop buckets that have refilled to their burst: they behave like unknown keys. */
  sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) {
      if (this.refilled(bucket, now) + EPSILON >= Math.max(1, bucket.ratePerSecond)) {
        this.buckets.delete(key);
      }
    }
  }

  /** Tokens in `bucket` at `now`, refilled at its own (previous) rate up to its own burst. */
  private refilled(bucket: Bucket, now: number): number {
    const elapsedMs = Math.max(0, now - bucket.at);
    const tokens = bucket.tokens + (elapsedMs * bucket.ratePerSecond) / 1000;
    return Math.min(tokens, Math.max(1, bucket.ratePerSecond));
  }

  private evictOverflow(): void {
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) return;
      this.buckets.delete(oldest);
    }
  }
}
