import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AttemptOutcome,
  decideRetry,
  firstAttemptDelayMs,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  type RetryInput,
} from '../../src/outbound/retry-policy.js';

const SCHEDULE = [0, 30, 300, 1800, 21600, 86400];
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const middle = () => 0.5; // jitter factor exactly 1

function decide(outcome: AttemptOutcome, overrides: Partial<RetryInput> = {}) {
  return decideRetry({
    outcome,
    attempt: 1,
    trigger: 'scheduled',
    schedule: SCHEDULE,
    now: NOW,
    random: middle,
    ...overrides,
  });
}

const status = (code: number, retryAfter?: string): AttemptOutcome => ({
  kind: 'response',
  status: code,
  retryAfter,
});

describe('retry policy', () => {
  it('retries a 503 after the next scheduled delay, then succeeds', () => {
    const first = decide(status(503));
    assert.deepEqual(first, {
      action: 'retry',
      at: NOW + 30_000,
      delayMs: 30_000,
      disableEndpoint: false,
    });
    const second = decide(status(200), {
      attempt: 2,
      now: first.action === 'retry' ? first.at : 0,
    });
    assert.deepEqual(second, { action: 'success', disableEndpoint: false });
  });

  it('uses the delay between attempt n and n + 1 for each step', () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) => {
      const decision = decide(status(500), { attempt });
      assert.equal(decision.action, 'retry');
      return decision.action === 'retry' ? decision.delayMs : -1;
    });
    assert.deepEqual(delays, [30_000, 300_000, 1_800_000, 21_600_000, 86_400_000]);
  });

  it('treats every 2xx as success', () => {
    for (const code of [200, 201, 202, 204, 299]) {
      assert.equal(decide(status(code)).action, 'success');
    }
  });

  it('does not retry a 400 (or another plain 4xx)', () => {
    for (const code of [400, 401, 403, 404, 422]) {
      assert.deepEqual(decide(status(code)), {
        action: 'give-up',
        reason: 'not-retryable',
        disableEndpoint: false,
      });
    }
  });

  it('gives up on 410 Gone and disables the endpoint, even with retryNon2xx', () => {
    const expected = { action: 'give-up', reason: 'not-retryable', disableEndpoint: true };
    assert.deepEqual(decide(status(410)), expected);
    assert.deepEqual(decide(status(410), { endpoint: { retryNon2xx: true } }), expected);
    assert.deepEqual(decide(status(410), { trigger: 'manual' }), {
      action: 'give-up',
      reason: 'manual',
      disableEndpoint: true,
    });
  });

  it('retries 408, 429 and every 5xx', () => {
    for (const code of [408, 429, 500, 502, 503, 504, 599]) {
      assert.equal(decide(status(code)).action, 'retry', `status ${code}`);
    }
  });

  it('counts a 3xx as a failure that is not retried (redirects are not followed)', () => {
    for (const code of [301, 302, 307, 308]) {
      assert.deepEqual(decide(status(code)), {
        action: 'give-up',
        reason: 'not-retryable',
        disableEndpoint: false,
      });
    }
    assert.equal(decide(status(302), { endpoint: { retryNon2xx: true } }).action, 'retry');
  });

  it('makes a 404 retryable with retryNon2xx', () => {
    assert.equal(decide(status(404), { endpoint: { retryNon2xx: true } }).action, 'retry');
    assert.equal(decide(status(404), { endpoint: { retryNon2xx: false } }).action, 'give-up');
  });

  it('retries timeouts and network errors', () => {
    for (const kind of ['timeout', 'network-error'] as const) {
      const decision = decide({ kind, message: 'boom' });
      assert.equal(decision.action, 'retry', kind);
      assert.equal(decision.action === 'retry' && decision.delayMs, 30_000);
    }
  });

  it('does not retry an SSRF refusal (it will not change)', () => {
    assert.deepEqual(decide({ kind: 'refused', message: 'refused: 10.0.0.5 is private' }), {
      action: 'give-up',
      reason: 'not-retryable',
      disableEndpoint: false,
    });
  });

  it('never retries a manual attempt', () => {
    for (const outcome of [status(503), status(429, '5'), { kind: 'timeout', message: 't' }]) {
      assert.deepEqual(decide(outcome as AttemptOutcome, { trigger: 'manual' }), {
        action: 'give-up',
        reason: 'manual',
        disableEndpoint: false,
      });
    }
    assert.equal(decide(status(200), { trigger: 'manual' }).action, 'success');
  });

  it('is exhausted after the last scheduled attempt', () => {
    assert.equal(decide(status(503), { attempt: 5 }).action, 'retry');
    assert.deepEqual(decide(status(503), { attempt: 6 }), {
      action: 'give-up',
      reason: 'exhausted',
      disableEndpoint: false,
    });
    // a schedule shrunk by a restart must not resurrect attempts
    assert.equal(decide(status(503), { attempt: 9 }).action, 'give-up');
    // a one-value schedule means a single attempt
    assert.deepEqual(decide(status(503), { schedule: [0] }), {
      action: 'give-up',
      reason: 'exhausted',
      disableEndpoint: false,
    });
  });

  it('does not add attempts for a Retry-After on the last attempt', () => {
    const decision = decide(status(429, '10'), { attempt: 6 });
    assert.equal(decision.action === 'give-up' && decision.reason, 'exhausted');
  });

  it('applies ±20 % jitter: random 0 → −20 %, random 1 → +20 %', () => {
    const low = decide(status(500), { random: () => 0 });
    const high = decide(status(500), { random: () => 1 });
    assert.equal(low.action === 'retry' && low.delayMs, 24_000);
    assert.equal(high.action === 'retry' && high.delayMs, 36_000);
    assert.equal(low.action === 'retry' && low.at, NOW + 24_000);
    for (let i = 0; i < 200; i++) {
      const decision = decide(status(500), { attempt: 2, random: Math.random });
      assert.ok(decision.action === 'retry');
      assert.ok(decision.delayMs >= 240_000 && decision.delayMs <= 360_000);
    }
  });

  it('waits at least a Retry-After of 120 s on a 429', () => {
    const decision = decide(status(429, '120'), { random: () => 1 });
    assert.equal(decision.action, 'retry');
    assert.equal(decision.action === 'retry' && decision.delayMs, 120_000);
    assert.equal(decision.action === 'retry' && decision.at, NOW + 120_000);
  });

  it('keeps the scheduled delay when Retry-After asks for less', () => {
    const decision = decide(status(503, '1'), { attempt: 2 });
    assert.equal(decision.action === 'retry' && decision.delayMs, 300_000);
  });

  it('honours an HTTP-date Retry-After', () => {
    const at = new Date(NOW + 3_600_000).toUTCString(); // "Wed, 15 Jan 2025 13:00:00 GMT"
    const decision = decide(status(503, at));
    assert.equal(decision.action === 'retry' && decision.at, NOW + 3_600_000);
  });

  it('caps a huge Retry-After at 24 h', () => {
    for (const header of ['99999999', '9'.repeat(400), 'Fri, 01 Jan 2100 00:00:00 GMT']) {
      const decision = decide(status(429, header));
      assert.equal(decision.action === 'retry' && decision.delayMs, MAX_RETRY_AFTER_MS, header);
    }
    assert.equal(MAX_RETRY_AFTER_MS, 86_400_000);
  });

  it('ignores a garbled Retry-After', () => {
    const decision = decide(status(503, 'soon, please'));
    assert.equal(decision.action === 'retry' && decision.delayMs, 30_000);
  });

  it('rejects a bad attempt number or schedule', () => {
    assert.throws(() => decide(status(500), { attempt: 0 }), RangeError);
    assert.throws(() => decide(status(500), { schedule: [] }), RangeError);
    assert.throws(() => decide(status(500), { schedule: [0, -1] }), RangeError);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter('120', NOW), 120_000);
    assert.equal(parseRetryAfter(' 0 ', NOW), 0);
  });

  it('reads the three HTTP-date forms, in UTC', () => {
    const now = Date.UTC(1994, 10, 6, 8, 49, 0);
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 37_000);
    assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now), 37_000);
    assert.equal(parseRetryAfter('Sun Nov  6 08:49:37 1994', now), 37_000);
  });

  it('gives 0 for a date in the past', () => {
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), 0);
  });

  it('ignores missing and malformed values', () => {
    for (const value of [undefined, null, '', '-5', '1.5', 'tomorrow', '2025-01-15T13:00:00Z']) {
      assert.equal(parseRetryAfter(value, NOW), undefined, String(value));
    }
  });
});

describe('firstAttemptDelayMs and isRetryableStatus', () => {
  it('uses the first schedule value, unjittered', () => {
    assert.equal(firstAttemptDelayMs(SCHEDULE), 0);
    assert.equal(firstAttemptDelayMs([5, 10]), 5_000);
    assert.throws(() => firstAttemptDelayMs([]), RangeError);
  });

  it('classifies statuses', () => {
    assert.equal(isRetryableStatus(503), true);
    assert.equal(isRetryableStatus(404), false);
    assert.equal(isRetryableStatus(404, true), true);
    assert.equal(isRetryableStatus(410, true), false);
    assert.equal(isRetryableStatus(200, true), false);
  });
});
