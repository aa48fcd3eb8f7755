/**
 * The pure parts of `npm run bench:compare`: the order of the paired runs and how their figures
 * are summarised (the runs themselves are benchmarks, not tests).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareRuns, formatComparison, median, runOrder } from '../../bench/compare.js';
import type { Row } from '../../bench/lib/types.js';

function row(
  metric: string,
  switchboard: number | string | null,
  ratio: number | null = null,
): Row {
  return {
    scenario: 'outbound',
    metric,
    switchboard,
    baseline: null,
    ratio,
    target: '',
    met: null,
  };
}

describe('bench:compare', () => {
  it('alternates the two sides so that each runs first as often as second', () => {
    assert.deepEqual(runOrder(1), ['ref', 'this']);
    assert.deepEqual(runOrder(2), ['ref', 'this', 'this', 'ref']);
    assert.deepEqual(runOrder(3), ['ref', 'this', 'this', 'ref', 'ref', 'this']);
  });

  it('takes the median of odd and even counts, and of nothing', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), null);
  });

  it('collects each side’s numeric figures per metric, in run order, with their ratios', () => {
    const metrics = compareRuns([
      { side: 'ref', rows: [row('deliveries/s', 6000, 1.2), row('FAILED (see below)', null)] },
      { side: 'this', rows: [row('deliveries/s', 8000, 1.6)] },
      { side: 'this', rows: [row('deliveries/s', 7000, 1.5)] },
      { side: 'ref', rows: [row('deliveries/s', 7000, 1.4)] },
    ]);
    assert.equal(metrics.length, 1, 'rows without a figure are left out');
    assert.deepEqual(metrics[0], {
      scenario: 'outbound',
      metric: 'deliveries/s',
      ref: [6000, 7000],
      this: [8000, 7000],
      refRatio: [1.2, 1.4],
      thisRatio: [1.6, 1.5],
      refFailed: 0,
      thisFailed: 0,
    });
    const table = formatComparison(metrics, 'main');
    assert.match(
      table,
      /\| outbound \| deliveries\/s \| 6000 \/ 7000 \| 8000 \/ 7000 \| 6500 +\| 7500 +\| 1\.15× +\| 1\.3× → 1\.55× \|/,
    );
  });

  it('puts every run of a metric whose name carries a count in one row', () => {
    const metrics = compareRuns([
      { side: 'ref', rows: [row('acknowledged but not stored (of 359652)', 0)] },
      { side: 'this', rows: [row('acknowledged but not stored (of 413580)', 0)] },
      { side: 'this', rows: [row('acknowledged but not stored (of 393213)', 1)] },
    ]);
    assert.equal(metrics.length, 1);
    assert.equal(metrics[0].metric, 'acknowledged but not stored (of N)');
    assert.deepEqual([metrics[0].ref, metrics[0].this], [[0], [0, 1]]);
  });

  it('compares the batch-emit figures too, counting the runs where that run failed', () => {
    const batch = 'deliveries/s, batch emit (50 per request)';
    const metrics = compareRuns([
      {
        side: 'ref',
        rows: [row('deliveries/s', 6000, 1.2), row(batch, 'failed†'), row('heap (MB)', '40 / 60')],
      },
      { side: 'this', rows: [row('deliveries/s', 6100, 1.3), row(batch, 21000, 2.4)] },
      { side: 'this', rows: [row('deliveries/s', 5900, 1.1), row(batch, 19000, 2.2)] },
      { side: 'ref', rows: [row('deliveries/s', 6200, 1.4), row(batch, 'failed†')] },
    ]);
    assert.deepEqual(
      metrics.map((m) => m.metric),
      ['deliveries/s', batch],
      'informative text is left out, failed cells are not',
    );
    assert.deepEqual(metrics[1], {
      scenario: 'outbound',
      metric: batch,
      ref: [],
      this: [21000, 19000],
      refRatio: [],
      thisRatio: [2.4, 2.2],
      refFailed: 2,
      thisFailed: 0,
    });
    const table = formatComparison(metrics, 'main');
    assert.match(table, /\| outbound \| deliveries\/s +\| 6000 \/ 6200 +\| 6100 \/ 5900 +\| 6100 /);
    assert.match(
      table,
      /\| outbound \| deliveries\/s, batch emit \(50 per request\) \| failed \/ failed +\| 21000 \/ 19000 \| +\| 20000 +\| +\| – → 2\.3× +\|/,
    );
  });
});
