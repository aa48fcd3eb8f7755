/**
 * The request bodies of the emit load generator (bench/loadgen-emit.ts), apart from it so that
 * they can be unit-tested (test/unit/bench-emit-body.test.ts):
 *
 * - `messageBody(seq, payloadBytes)`: one create-message body (Switchboard's
 *   `POST /api/v1/app/{app}/msg`, the BullMQ baseline's `POST /msg`), `payloadBytes` long,
 *   its payload starting with `"emittedAt":<epoch ms>` read when the body is built;
 * - `batchBody(first, size, payloadBytes)`: `{"messages":[…]}` with `size` such bodies, seq
 *   `first`…`first + size - 1`, each with its own `emittedAt` (the batch endpoints:
 *   `POST /api/v1/app/{app}/msg/batch`, the baseline's `POST /msg/batch`);
 * - `batches(count, batchSize)`: how `count` messages split into requests (the last smaller).
 */
import { nowMs } from './stats.js';

/** One message body; the whole body is `payloadBytes` long (the delivered payload ~30 less). */
export function messageBody(seq: number, payloadBytes: number): string {
  const emittedAt = nowMs();
  const head = `{"eventType":"bench.event","payload":{"emittedAt":${emittedAt},"seq":${seq},"kind":"invoice.paid","data":{"id":"inv_${seq}","amount":4200,"currency":"eur"},"pad":"`;
  const pad = Math.max(0, payloadBytes - head.length - 3);
  return `${head}${'x'.repeat(pad)}"}}`;
}

/** A batch-emit body: `{"messages":[…]}` with messages `first` … `first + size - 1`. */
export function batchBody(first: number, size: number, payloadBytes: number): string {
  const messages: string[] = new Array(size);
  for (let i = 0; i < size; i++) messages[i] = messageBody(first + i, payloadBytes);
  return `{"messages":[${messages.join(',')}]}`;
}

/** The requests `count` messages make at `batchSize` per request: [first seq, size] each. */
export function batches(count: number, batchSize: number): [first: number, size: number][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchSize must be a whole number ≥ 1 (got ${batchSize})`);
  }
  const out: [number, number][] = [];
  for (let first = 0; first < count; first += batchSize) {
    out.push([first, Math.min(batchSize, count - first)]);
  }
  return out;
}
