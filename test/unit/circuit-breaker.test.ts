import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreakers, type StateChange } from '../../src/outbound/circuit-breaker.js';

const T0 = 1_700_000_000_000;

function fail(breakers: CircuitBreakers, key: string, times: number, now: number): void {
  for (let i = 0; i < times; i++) breakers.record(key, false, now);
}

function succeed(breakers: CircuitBreakers, key: string, times: number, now: number): void {
  for (let i = 0; i < times; i++) breakers.record(key, true, now);
}

/** Open `key` with 10 failures at `now`. */
function tripped(now = T0, options = {}): CircuitBreakers {
  const breakers = new CircuitBreakers(options);
  fail(breakers, 'ep', 10, now);
  assert.equal(breakers.state('ep'), 'open');
  return breakers;
}

describe('circuit breaker', () => {
  it('stays closed under the minimum number of requests', () => {
    const breakers = new CircuitBreakers();
    fail(breakers, 'ep', 9, T0);
    assert.equal(breakers.state('ep'), 'closed');
    assert.deepEqual(breakers.allow('ep', T0), { allowed: true, probe: false });
  });

  it('opens at the failure ratio', () => {
    const breakers = new CircuitBreakers();
    succeed(breakers, 'ep', 5, T0);
    fail(breakers, 'ep', 4, T0);
    assert.equal(breakers.state('ep'), 'closed'); // 9 outcomes: under the minimum
    fail(breakers, 'ep', 1, T0 + 1000); // 10 outcomes, 5 failures: ratio 0.5
    assert.equal(breakers.state('ep'), 'open');
  });

  it('stays closed under the ratio', () => {
    const breakers = new CircuitBreakers();
    succeed(breakers, 'ep', 6, T0);
    fail(breakers, 'ep', 4, T0);
    assert.equal(breakers.state('ep'), 'closed');
    // successes recorded before the first failure count too
    const other = new CircuitBreakers();
    succeed(other, 'ep', 20, T0);
    fail(other, 'ep', 10, T0);
    assert.equal(other.state('ep'), 'closed');
  });

  it('honours custom thresholds', () => {
    const breakers = new CircuitBreakers({ minimumRequests: 4, failureRatio: 0.75 });
    succeed(breakers, 'ep', 1, T0);
    fail(breakers, 'ep', 2, T0);
    assert.equal(breakers.state('ep'), 'closed');
    fail(breakers, 'ep', 1, T0);
    assert.equal(breakers.state('ep'), 'open');
  });

  it('refuses while open, with the time it half-opens', () => {
    const breakers = tripped();
    assert.deepEqual(breakers.allow('ep', T0), { allowed: false, retryAt: T0 + 30_000 });
    assert.deepEqual(breakers.allow('ep', T0 + 29_999), { allowed: false, retryAt: T0 + 30_000 });
    // other keys are unaffected
    assert.deepEqual(breakers.allow('other', T0), { allowed: true, probe: false });
  });

  it('half-opens after the duration and lets one probe through at a time', () => {
    const breakers = tripped();
    assert.equal(breakers.state('ep', T0 + 30_000), 'half-open');
    assert.equal(breakers.state('ep'), 'open'); // not yet moved: nothing asked
    assert.deepEqual(breakers.allow('ep', T0 + 30_000), { allowed: true, probe: true });
    assert.equal(breakers.state('ep'), 'half-open');
    const second = breakers.allow('ep', T0 + 30_001);
    assert.deepEqual(second, { allowed: false, retryAt: T0 + 30_000 + 30_000 });
  });

  it('allows halfOpenProbes probes at once', () => {
    const breakers = tripped(T0, { halfOpenProbes: 2 });
    assert.equal(breakers.allow('ep', T0 + 30_000).allowed, true);
    assert.equal(breakers.allow('ep', T0 + 30_000).allowed, true);
    assert.equal(breakers.allow('ep', T0 + 30_000).allowed, false);
  });

  it('gives a lost probe slot to a new probe after the probe timeout', () => {
    const breakers = tripped();
    assert.equal(breakers.allow('ep', T0 + 30_000).allowed, true); // never reports
    assert.equal(breakers.allow('ep', T0 + 59_999).allowed, false);
    assert.deepEqual(breakers.allow('ep', T0 + 60_000), { allowed: true, probe: true });
  });

  it('closes on a probe success and starts a fresh window', () => {
    const breakers = tripped();
    breakers.allow('ep', T0 + 30_000);
    breakers.record('ep', true, T0 + 30_100);
    assert.equal(breakers.state('ep'), 'closed');
    assert.deepEqual(breakers.allow('ep', T0 + 30_200), { allowed: true, probe: false });
    // the failures that opened it are gone: 9 new ones do not re-open it
    fail(breakers, 'ep', 9, T0 + 31_000);
    assert.equal(breakers.state('ep'), 'closed');
  });

  it('re-opens on a probe failure for twice as long, up to the cap', () => {
    const breakers = tripped(T0, { maxOpenDurationMs: 100_000 });
    let now = T0 + 30_000;
    const periods: number[] = [];
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(breakers.allow('ep', now), { allowed: true, probe: true });
      breakers.record('ep', false, now);
      assert.equal(breakers.state('ep'), 'open');
      const refused = breakers.allow('ep', now);
      assert.ok(!refused.allowed);
      periods.push(refused.retryAt - now);
      now = refused.retryAt;
    }
    assert.deepEqual(periods, [60_000, 100_000, 100_000, 100_000]);
  });

  it('caps the open period at 10 minutes by default and resets it once closed', () => {
    const breakers = tripped();
    let now = T0 + 30_000;
    const periods: number[] = [];
    for (let i = 0; i < 6; i++) {
      breakers.allow('ep', now);
      breakers.record('ep', false, now);
      const refused = breakers.allow('ep', now);
      assert.ok(!refused.allowed);
      periods.push(refused.retryAt - now);
      now = refused.retryAt;
    }
    assert.deepEqual(periods, [60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
    breakers.allow('ep', now);
    breakers.record('ep', true, now);
    fail(breakers, 'ep', 10, now);
    const refused = breakers.allow('ep', now);
    assert.deepEqual(refused, { allowed: false, retryAt: now + 30_000 });
  });

  it('ignores late outcomes while open', () => {
    const breakers = tripped();
    breakers.record('ep', true, T0 + 1000);
    assert.equal(breakers.state('ep'), 'open');
  });

  it('slides old outcomes out of the window', () => {
    const breakers = new CircuitBreakers(); // 60 s in 10 buckets of 6 s
    fail(breakers, 'ep', 9, T0);
    fail(breakers, 'ep', 1, T0 + 60_000); // the first 9 have left the window
    assert.equal(breakers.state('ep'), 'closed');
    fail(breakers, 'ep', 8, T0 + 61_000);
    assert.equal(breakers.state('ep'), 'closed'); // 9 in the window
    fail(breakers, 'ep', 1, T0 + 62_000);
    assert.equal(breakers.state('ep'), 'open');
  });

  it('counts outcomes across buckets within the window', () => {
    const breakers = new CircuitBreakers();
    for (let i = 0; i < 10; i++) breakers.record('ep', false, T0 + i * 5_000); // over 45 s
    assert.equal(breakers.state('ep'), 'open');
  });

  it('reports state changes and counts per state', () => {
    const changes: StateChange[] = [];
    const breakers = new CircuitBreakers({ onStateChange: (change) => changes.push(change) });
    fail(breakers, 'a', 10, T0);
    fail(breakers, 'b', 10, T0);
    succeed(breakers, 'c', 1, T0);
    breakers.allow('b', T0 + 30_000);
    assert.deepEqual(breakers.counts(), { closed: 1, open: 1, halfOpen: 1 });
    breakers.record('b', true, T0 + 30_000);
    assert.deepEqual(breakers.counts(), { closed: 2, open: 1, halfOpen: 0 });
    assert.deepEqual(
      changes.map(({ key, from, to }) => `${key}:${from}->${to}`),
      ['a:closed->open', 'b:closed->open', 'b:open->half-open', 'b:half-open->closed'],
    );
    assert.equal(changes[0].retryAt, T0 + 30_000);
  });

  it('evicts closed keys whose window has emptied', () => {
    const breakers = new CircuitBreakers();
    for (let i = 0; i < 100; i++) breakers.record(`ep${i}`, true, T0);
    fail(breakers, 'dead', 10, T0);
    assert.equal(breakers.size, 101);
    breakers.allow('x', T0 + 120_000); // any call sweeps, at most once per window
    assert.equal(breakers.size, 1);
    assert.equal(breakers.state('dead'), 'open'); // open breakers are kept
    assert.equal(breakers.state('ep1'), 'closed');
  });

  it('keeps at most maxKeys keys, dropping the least recently used', () => {
    const breakers = new CircuitBreakers({ maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) breakers.record(key, false, T0);
    breakers.record('a', false, T0); // a is now the most recent
    breakers.record('d', false, T0);
    assert.equal(breakers.size, 3);
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((key) => breakers.state(key)),
      ['closed', 'closed', 'closed', 'closed'],
    );
    // b was dropped: it starts again from an empty window
    fail(breakers, 'b', 9, T0);
    assert.equal(breakers.state('b'), 'closed');
  });

  it('rejects nonsensical options', () => {
    assert.throws(() => new CircuitBreakers({ failureRatio: 0 }), RangeError);
    assert.throws(() => new CircuitBreakers({ failureRatio: 1.5 }), RangeError);
    assert.throws(() => new CircuitBreakers({ windowMs: 0 }), RangeError);
  });
});
