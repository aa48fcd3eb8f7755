import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprint, RecentKeys } from '../../src/store/recent-keys.js';

describe('RecentKeys', () => {
  const now = 1_800_000_000;

  it('finds what was added, from the given time on, until it expires', () => {
    const keys = new RecentKeys();
    const fp = fingerprint('src_1\nid:a');
    assert.deepEqual(keys.find(fp, 0, now), []);
    keys.add(fp, now, now + 60, now);
    assert.deepEqual(keys.find(fp, now - 10, now), [now]);
    assert.deepEqual(keys.find(fp, now + 1, now), [], 'received before `since`');
    assert.deepEqual(keys.find(fp, 0, now + 59), [now]);
    assert.deepEqual(keys.find(fp, 0, now + 60), [], 'expired');
    assert.deepEqual(keys.find(fingerprint('src_1\nid:b'), 0, now), []);
    assert.deepEqual(keys.find(fingerprint('src_2\nid:a'), 0, now), [], 'the source is part of it');
  });

  it('keeps every entry of a fingerprint: a collision hides nothing', () => {
    const keys = new RecentKeys(16);
    const same = { hi: 7, lo: 3 };
    keys.add(same, now - 5, now + 100, now);
    keys.add(same, now - 2, now + 100, now);
    keys.add({ hi: 8, lo: 3 }, now - 1, now + 100, now); // same slot, other fingerprint
    assert.deepEqual(keys.find(same, 0, now).sort(), [now - 5, now - 2]);
    assert.deepEqual(keys.find({ hi: 8, lo: 3 }, 0, now), [now - 1]);
  });

  it('grows as keys arrive and finds every one of 100 000', () => {
    const keys = new RecentKeys();
    for (let index = 0; index < 100_000; index++) {
      keys.add(fingerprint(`s\nid:${index}`), now, now + 3600, now);
    }
    assert.ok(keys.capacity >= 200_000, `capacity ${keys.capacity}`);
    for (let index = 0; index < 100_000; index += 997) {
      assert.deepEqual(keys.find(fingerprint(`s\nid:${index}`), 0, now), [now], `key ${index}`);
    }
    assert.equal(keys.count(now), 100_000);
  });

  it('stays small when keys expire as fast as they come (expired slots are reused or dropped)', () => {
    const keys = new RecentKeys();
    // One key per second for a day, each kept for a minute: never more than ~60 live.
    for (let second = 0; second < 86_400; second++) {
      keys.add(fingerprint(`s\nid:${second}`), now + second, now + second + 60, now + second);
    }
    assert.ok(keys.capacity <= 1024, `capacity ${keys.capacity}`);
    const last = now + 86_399;
    assert.deepEqual(keys.find(fingerprint('s\nid:86399'), 0, last), [last]);
    assert.deepEqual(keys.find(fingerprint('s\nid:100'), 0, last), [], 'long expired');
    assert.ok(keys.count(last) <= 61);
  });

  it('ignores an entry that is already expired', () => {
    const keys = new RecentKeys();
    const fp = fingerprint('x');
    keys.add(fp, now - 100, now - 1, now);
    assert.deepEqual(keys.find(fp, 0, now - 200), []);
    assert.equal(keys.count(now - 200), 0);
  });

  it('fingerprints are stable 64-bit values that tell close strings apart', () => {
    assert.deepEqual(fingerprint('src_1\nid:a'), fingerprint('src_1\nid:a'));
    const seen = new Set<string>();
    for (let index = 0; index < 50_000; index++) {
      const { hi, lo } = fingerprint(`src_1\nid:${index}`);
      assert.ok(Number.isInteger(hi) && hi >= 0 && hi < 2 ** 32);
      assert.ok(Number.isInteger(lo) && lo >= 0 && lo < 2 ** 32);
      seen.add(`${hi}:${lo}`);
    }
    assert.equal(seen.size, 50_000);
  });
});
