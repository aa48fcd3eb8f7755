/**
 * The outbound benchmark's table rows (bench/scenarios/outbound.ts): the batch-emit rows beside
 * the single-emit ones, and a failed batch-emit run shown as failed without hiding the rest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Row } from '../../bench/lib/types.js';
import {
  type OutboundFigures,
  type OutboundRun,
  outboundNotes,
  outboundRows,
} from '../../bench/scenarios/outbound.js';

function run(deliveriesPerSec: number, p50: number, lost = 0, duplicates = 0): OutboundRun {
  const latency = { count: 1, mean: p50, p50, p90: p50, p99: p50 * 2, max: p50 * 3 };
  return {
    emit: {
      ok: 1,
      failed: 0,
      requests: 1,
      statuses: { 202: 1 },
      firstEmitAt: 0,
      lastEmitAt: 0,
      lastAckAt: 0,
      ackLatency: latency,
    },
    received: { count: 4, duplicates, withoutId: 0, firstAt: 0, lastAt: 0, latency },
    expected: 4,
    deliveriesPerSec,
    lost,
  };
}

function figures(rate: number, batch?: OutboundFigures['batch']): OutboundFigures {
  return {
    warmup: run(rate, 5),
    saturated: run(rate, 20),
    batch,
    unsaturated: run(50, 3),
    cpuPercent: 100,
    cpuSeconds: 10,
    rssPeakMB: 100,
    window: { start: 0, end: 1 },
  };
}

const byMetric = (rows: Row[]) => new Map(rows.map((r) => [r.metric, r]));
const BATCH = 'deliveries/s, batch emit (50 per request)';

describe('bench outbound rows', () => {
  it('adds the batch-emit rows after the saturated ones, keeping deliveries/s as it was', () => {
    const sb = figures(6000, { batchSize: 50, run: run(24000, 40, 1, 2) });
    const base = figures(3500, { batchSize: 50, run: run(10000, 60) });
    const rows = outboundRows('outbound', sb, base, undefined);
    const metrics = rows.map((r) => r.metric);
    assert.equal(metrics[0], 'deliveries/s');
    assert.deepEqual(metrics.slice(4, 6), [BATCH, 'end-to-end p50 (ms), batch emit']);
    const m = byMetric(rows);
    assert.deepEqual(m.get('deliveries/s'), {
      scenario: 'outbound',
      metric: 'deliveries/s',
      switchboard: 6000,
      baseline: 3500,
      ratio: 1.71,
      target: '≥ 2× BullMQ',
      met: false,
    });
    assert.deepEqual(m.get(BATCH), {
      scenario: 'outbound',
      metric: BATCH,
      switchboard: 24000,
      baseline: 10000,
      ratio: 2.4,
      target: '≥ 2× BullMQ',
      met: true,
    });
    assert.equal(m.get('end-to-end p50 (ms), batch emit')?.switchboard, 40);
    assert.equal(m.get('end-to-end p50 (ms), batch emit')?.baseline, 60);
    assert.equal(m.get('lost deliveries')?.switchboard, 1, 'the batch run counts');
    assert.equal(m.get('lost deliveries')?.met, false);
    assert.equal(m.get('duplicate deliveries')?.switchboard, 2);
    assert.deepEqual(outboundNotes('outbound', sb, base, undefined), []);
  });

  it('shows a failed batch-emit run as failed, with its reason, and keeps the other rows', () => {
    const sb = figures(6000, { batchSize: 50, error: 'outbound batch emit: HTTP 404' });
    const base = figures(3000, { batchSize: 50, run: run(10000, 60) });
    const rows = outboundRows('outbound', sb, base, undefined);
    const m = byMetric(rows);
    assert.equal(m.get('deliveries/s')?.switchboard, 6000);
    assert.equal(m.get('deliveries/s')?.met, true);
    assert.deepEqual(m.get(BATCH), {
      scenario: 'outbound',
      metric: BATCH,
      switchboard: 'failed†',
      baseline: 10000,
      ratio: null,
      target: '≥ 2× BullMQ',
      met: false,
    });
    assert.equal(m.get('end-to-end p50 (ms), batch emit')?.switchboard, 'failed†');
    assert.deepEqual(outboundNotes('outbound', sb, base, undefined), [
      "outbound: † Switchboard's batch-emit run failed: outbound batch emit: HTTP 404",
    ]);
  });

  it('gives CPU per delivery, the baseline with its Redis', () => {
    const sb = figures(8000, { batchSize: 50, run: run(10000, 40), cpuPercent: 120 });
    const base = {
      ...figures(5000, { batchSize: 50, run: run(6000, 60), cpuPercent: 96, helperCpuPercent: 54 }),
      cpuPercent: 95,
      helperCpuPercent: 50,
    };
    const m = byMetric(outboundRows('outbound', { ...sb, cpuPercent: 136 }, base, undefined));
    const saturated = m.get('CPU per delivery (µs), saturated (BullMQ: + Redis)');
    assert.equal(saturated?.switchboard, 170, '136 % of a core for 8 000 deliveries/s');
    assert.equal(saturated?.baseline, 290, '(95 + 50) % for 5 000/s');
    const batch = m.get('CPU per delivery (µs), batch emit');
    assert.equal(batch?.switchboard, 120);
    assert.equal(batch?.baseline, 250);
  });

  it('marks the baseline failed, and has no batch-emit rows where none was run', () => {
    const sb = figures(6000, { batchSize: 50, run: run(24000, 40) });
    const failed = outboundRows('outbound', sb, undefined, 'no Redis\nstack');
    assert.equal(byMetric(failed).get(BATCH)?.baseline, 'failed*');
    assert.equal(byMetric(failed).get(BATCH)?.met, false);
    assert.deepEqual(outboundNotes('outbound', sb, undefined, 'no Redis\nstack'), [
      'outbound: * the BullMQ baseline failed: no Redis',
    ]);

    const pg = outboundRows(
      'outbound (pg)',
      figures(6000),
      figures(3000, { batchSize: 50, run: run(10000, 60, 5) }),
      undefined,
    );
    assert.ok(!pg.some((r) => r.metric.includes('batch emit')));
    assert.equal(byMetric(pg).get('lost deliveries')?.baseline, 0, 'only runs both sides had');
  });
});
