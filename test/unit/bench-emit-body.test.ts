/**
 * The request bodies of the outbound benchmark's emit load generator (bench/lib/emit-body.ts):
 * one create-message body per request, or batches of them for the batch endpoints.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchBody, batches, messageBody } from '../../bench/lib/emit-body.js';

const SINGLE =
  /^\{"eventType":"bench\.event","payload":\{"emittedAt":\d+(\.\d+)?,"seq":7,"kind":"invoice\.paid","data":\{"id":"inv_7","amount":4200,"currency":"eur"\},"pad":"x*"\}\}$/;

describe('bench emit bodies', () => {
  it('builds one create-message body, payloadBytes long, emittedAt first in the payload', () => {
    const before = performance.timeOrigin + performance.now();
    const text = messageBody(7, 512);
    assert.match(text, SINGLE);
    assert.equal(Buffer.byteLength(text), 512);
    const parsed = JSON.parse(text) as { payload: { emittedAt: number } };
    assert.ok(parsed.payload.emittedAt >= before - 1);
    assert.ok(parsed.payload.emittedAt <= performance.timeOrigin + performance.now() + 1);
  });

  it('builds a batch body of consecutive messages, each like a single one', () => {
    const text = batchBody(10, 3, 512);
    const parsed = JSON.parse(text) as {
      messages: { eventType: string; payload: { seq: number; emittedAt: number } }[];
    };
    assert.deepEqual(Object.keys(parsed), ['messages']);
    assert.deepEqual(
      parsed.messages.map((m) => m.payload.seq),
      [10, 11, 12],
    );
    for (const message of parsed.messages) {
      assert.equal(message.eventType, 'bench.event');
      assert.equal(typeof message.payload.emittedAt, 'number');
      assert.equal(Buffer.byteLength(JSON.stringify(message)), 512);
    }
    assert.equal(text.length, '{"messages":[]}'.length + 3 * 512 + 2);
  });

  it('splits count messages into requests of batchSize, the last one smaller', () => {
    assert.deepEqual(batches(5, 1), [
      [0, 1],
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
    assert.deepEqual(batches(120, 50), [
      [0, 50],
      [50, 50],
      [100, 20],
    ]);
    assert.deepEqual(batches(100, 50), [
      [0, 50],
      [50, 50],
    ]);
    assert.deepEqual(batches(0, 50), []);
    assert.throws(() => batches(10, 0), /batchSize must be a whole number ≥ 1/);
    assert.throws(() => batches(10, 2.5), /batchSize/);
  });
});
