import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { encodeBase62, idTimestampMs, newId } from '../../src/core/ids.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The original BigInt encoder: the reference the number-based one must equal. */
function referenceEncode(bytes: Buffer): string {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (value > 0n) {
    out = BASE62[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out.padStart(27, '0');
}

describe('id encoding', () => {
  it('equals the BigInt base62 encoding on random inputs', () => {
    for (let i = 0; i < 20_000; i++) {
      const bytes = randomBytes(20);
      assert.equal(encodeBase62(bytes), referenceEncode(bytes), bytes.toString('hex'));
    }
  });

  it('equals it on the edges: zeros, ones, single bytes, runs of 0xff', () => {
    const cases: Buffer[] = [Buffer.alloc(20), Buffer.alloc(20, 0xff)];
    for (let i = 0; i < 20; i++) {
      for (const byte of [1, 0x7f, 0x80, 0xff]) {
        const one = Buffer.alloc(20);
        one[i] = byte;
        cases.push(one);
        const run = Buffer.alloc(20, 0xff);
        run[i] = byte - 1;
        cases.push(run);
      }
    }
    for (const bytes of cases) {
      assert.equal(encodeBase62(bytes), referenceEncode(bytes), bytes.toString('hex'));
    }
  });

  it('keeps ids strictly increasing across many pool refills', () => {
    const now = Date.now() + 120_000;
    let previous = newId('event', now);
    for (let i = 0; i < 5_000; i++) {
      const id = newId('event', now + Math.floor(i / 100));
      assert.ok(id > previous, `${id} > ${previous}`);
      previous = id;
    }
  });

  it('decode back to their time', () => {
    const at = Date.now() + 240_000 + 123;
    assert.ok(Math.abs((idTimestampMs(newId('message', at)) ?? 0) - at) < 4);
  });
});
