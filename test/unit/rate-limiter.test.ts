import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from '../../src/outbound/rate-limiter.js';

const T0 = 1_700_000_000_000;

function takeMany(limiter: RateLimiter, key: string, rate: number, now: number, n: number) {
  return Array.from({ length: n }, () => limiter.take(key, rate, now));
}

describe('rate limiter', () => {
  it('lets N per second through, and the N+1th waits for the next token', () => {
    const limiter = new RateLimiter();
    const results = takeMany(limiter, 'ep', 5, T0, 5);
    assert.ok(results.every((result) => result.ok));
    assert.deepEqual(limiter.take('ep', 5, T0), { ok: false, retryAtMs: T0 + 200 });
    assert.deepEqual(limiter.take('ep', 5, T0 + 199), { ok: false, retryAtMs: T0 + 200 });
    assert.deepEqual(limiter.take('ep', 5, T0 + 200), { ok: true });
    assert.deepEqual(limiter.take('ep', 5, T0 + 200), { ok: false, retryAtMs: T0 + 400 });
  });

  it('retryAtMs is exactly when a token is there, for rates that do not divide 1000', () => {
    const limiter = new RateLimiter();
    takeMany(limiter, 'ep', 3, T0, 3);
    const refused = limiter.take('ep', 3, T0);
    assert.deepEqual(refused, { ok: false, retryAtMs: T0 + 334 });
    assert.deepEqual(limiter.take('ep', 3, T0 + 333), { ok: false, retryAtMs: T0 + 334 });
    assert.deepEqual(limiter.take('ep', 3, T0 + 334), { ok: true });
  });

  it('retryAtMs is never late and never early, whatever the rate and timing', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647; // Park–Miller: deterministic, exact in doubles
      return seed / 2_147_483_647;
    };
    let refusals = 0;
    for (let run = 0; run < 300; run++) {
      const rate = [0.3, 1, 3, 7, 13, 33.3, 250, 1000][run % 8];
      const limiter = new RateLimiter();
      let now = T0 + Math.floor(random() * 1000);
      for (let step = 0; step < 20; step++) {
        const result = limiter.take('ep', rate, now);
        if (!result.ok) {
          refusals++;
          assert.ok(result.retryAtMs > now);
          // a refusal consumes nothing, so asking again 1 ms early is refused and on time passes
          if (result.retryAtMs - 1 > now) {
            const early = limiter.take('ep', rate, result.retryAtMs - 1);
            assert.deepEqual(early, { ok: false, retryAtMs: result.retryAtMs }, `rate ${rate}`);
          }
          assert.deepEqual(
            limiter.take('ep', rate, result.retryAtMs),
            { ok: true },
            `rate ${rate}`,
          );
          now = result.retryAtMs;
        }
        now += Math.floor(random() * 300);
      }
    }
    assert.ok(refusals > 500, `only ${refusals} refusals exercised`);
  });

  it('refills over time, up to the burst only', () => {
    const limiter = new RateLimiter();
    takeMany(limiter, 'ep', 10, T0, 10);
    assert.equal(limiter.take('ep', 10, T0).ok, false);
    // half a second later: 5 tokens
    const half = takeMany(limiter, 'ep', 10, T0 + 500, 6).map((result) => result.ok);
    assert.deepEqual(half, [true, true, true, true, true, false]);
    // an hour idle refills to the burst (10), not to 36 000
    const later = takeMany(limiter, 'ep', 10, T0 + 3_600_000, 11).map((result) => result.ok);
    assert.equal(later.filter(Boolean).length, 10);
  });

  it('sustains the rate over a long run', () => {
    const limiter = new RateLimiter();
    let passed = 0;
    for (let ms = 0; ms < 10_000; ms += 10) {
      while (limiter.take('ep', 7, T0 + ms).ok) passed++;
    }
    // burst of 7 at t=0, then 7/s for 9.99 s
    assert.equal(passed, 7 + Math.floor(9.99 * 7));
  });

  it('keeps keys independent', () => {
    const limiter = new RateLimiter();
    assert.equal(limiter.take('a', 1, T0).ok, true);
    assert.equal(limiter.take('a', 1, T0).ok, false);
    assert.equal(limiter.take('b', 1, T0).ok, true);
    assert.equal(limiter.take('c', 2, T0).ok, true);
    assert.equal(limiter.take('c', 2, T0).ok, true);
    assert.equal(limiter.take('c', 2, T0).ok, false);
  });

  it('holds one token for rates below 1 per second', () => {
    const limiter = new RateLimiter();
    assert.deepEqual(limiter.take('ep', 0.5, T0), { ok: true });
    assert.deepEqual(limiter.take('ep', 0.5, T0), { ok: false, retryAtMs: T0 + 2000 });
    assert.deepEqual(limiter.take('ep', 0.5, T0 + 2000), { ok: true });
  });

  it('applies a rate change immediately', () => {
    const limiter = new RateLimiter();
    assert.equal(limiter.take('ep', 100, T0).ok, true); // 99 tokens left
    // lowered to 2/s: the bucket shrinks to 2 tokens at once
    const lowered = takeMany(limiter, 'ep', 2, T0, 3).map((result) => result.ok);
    assert.deepEqual(lowered, [true, true, false]);
    assert.deepEqual(limiter.take('ep', 2, T0), { ok: false, retryAtMs: T0 + 500 });
    // raised to 10/s: the next token comes after 100 ms instead of 500 ms
    assert.deepEqual(limiter.take('ep', 10, T0), { ok: false, retryAtMs: T0 + 100 });
    assert.deepEqual(limiter.take('ep', 10, T0 + 100), { ok: true });
  });

  it('refills the time before a rate change at the old rate', () => {
    const limiter = new RateLimiter();
    takeMany(limiter, 'ep', 1, T0, 1); // empty at 1/s
    // 500 ms at 1/s = half a token; then 10/s: half a token more takes 50 ms
    assert.deepEqual(limiter.take('ep', 10, T0 + 500), { ok: false, retryAtMs: T0 + 550 });
  });

  it('does not mint tokens when the clock steps back', () => {
    const limiter = new RateLimiter();
    limiter.take('ep', 1, T0);
    assert.deepEqual(limiter.take('ep', 1, T0 - 5000), { ok: false, retryAtMs: T0 + 1000 });
  });

  it('rejects a rate that is not positive', () => {
    const limiter = new RateLimiter();
    for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => limiter.take('ep', rate, T0), RangeError);
    }
  });

  it('drops buckets that have refilled (memory bounded)', () => {
    const limiter = new RateLimiter({ sweepIntervalMs: 1000 });
    for (let i = 0; i < 1000; i++) limiter.take(`ep${i}`, 10, T0);
    takeMany(limiter, 'busy', 1, T0, 1);
    assert.equal(limiter.size, 1001);
    limiter.take('busy', 1, T0 + 500); // no sweep yet; 'busy' is half refilled
    assert.equal(limiter.size, 1001);
    limiter.take('other', 1, T0 + 1000); // sweep: 'ep*' (and 'busy', refilled by now) go
    assert.equal(limiter.size, 1);
  });

  it('keeps at most maxKeys buckets, dropping the least recently used', () => {
    const limiter = new RateLimiter({ maxKeys: 2 });
    limiter.take('a', 1, T0);
    limiter.take('b', 1, T0);
    limiter.take('a', 1, T0); // refused, but a is now the most recent
    limiter.take('c', 1, T0); // evicts b
    assert.equal(limiter.size, 2);
    assert.equal(limiter.take('a', 1, T0).ok, false); // still tracked: still empty
    assert.equal(limiter.take('b', 1, T0).ok, true); // forgotten: comes back full
  });
});
