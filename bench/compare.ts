/**
 * `npm run bench:compare -- <git ref> [--runs 2] [bench options, e.g. --full --only outbound]`
 *
 * Paired runs, the way changes are judged in docs/benchmarks.md: the same benchmark for the code
 * at <git ref> (checked out into a temporary git worktree) and for this checkout, alternated
 * ref, this, this, ref, … so that a machine whose speed drifts from minute to minute weighs on
 * both alike. Prints every run's figures and the median of each side, and writes them to
 * bench/results/compare-<timestamp>.json. The worktree is removed at the end.
 *
 * Every numeric Switchboard figure of the table is compared, by scenario and metric: the
 * single-emit `deliveries/s` and the batch-emit `deliveries/s, batch emit (N per request)` of the
 * outbound scenario alike. A run whose figure is `failed…` (e.g. a batch-emit run against a
 * server without the batch endpoint) is counted as failed, not as a figure; a metric one side
 * does not have at all (older code) has an empty column there.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib/proc.js';
import type { Row } from './lib/types.js';

export type Side = 'ref' | 'this';

/** ABBA: ref, this, this, ref, ref, this, … — each side runs first as often as second. */
export function runOrder(rounds: number): Side[] {
  const order: Side[] = [];
  for (let round = 0; round < rounds; round++) {
    order.push(...((round % 2 === 0 ? ['ref', 'this'] : ['this', 'ref']) as Side[]));
  }
  return order;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export interface ComparedMetric {
  scenario: string;
  metric: string;
  ref: number[];
  this: number[];
  /** The ratio against the in-run baseline (BullMQ, bare server), per run, where there is one. */
  refRatio: number[];
  thisRatio: number[];
  /** Runs whose figure for this metric failed (a `failed…` cell, e.g. `failed†`). */
  refFailed: number;
  thisFailed: number;
}

/** A cell that says the run behind it failed (`failed*`, `failed†`), not an informative text. */
function isFailedCell(value: Row['switchboard']): boolean {
  return typeof value === 'string' && value.startsWith('failed');
}

/**
 * Every numeric Switchboard figure of the runs, by scenario and metric, in run order, and how
 * many runs failed to measure it.
 */
export function compareRuns(runs: { side: Side; rows: Row[] }[]): ComparedMetric[] {
  const byKey = new Map<string, ComparedMetric>();
  for (const { side, rows } of runs) {
    for (const row of rows) {
      const failed = isFailedCell(row.switchboard);
      if (typeof row.switchboard !== 'number' && !failed) continue;
      const metric = sameAcrossRuns(row.metric);
      const key = `${row.scenario}\u0000${metric}`;
      let entry = byKey.get(key);
      if (entry === undefined) {
        entry = {
          scenario: row.scenario,
          metric,
          ref: [],
          this: [],
          refRatio: [],
          thisRatio: [],
          refFailed: 0,
          thisFailed: 0,
        };
        byKey.set(key, entry);
      }
      if (typeof row.switchboard !== 'number') {
        if (side === 'ref') entry.refFailed++;
        else entry.thisFailed++;
        continue;
      }
      entry[side].push(row.switchboard);
      if (typeof row.ratio === 'number') {
        (side === 'ref' ? entry.refRatio : entry.thisRatio).push(row.ratio);
      }
    }
  }
  return [...byKey.values()];
}

/**
 * A metric's name without the count some names carry ("acknowledged but not stored (of
 * 413580)"), so that every run's figure lands in one row.
 */
export function sameAcrossRuns(metric: string): string {
  return metric.replace(/\(of \d+\)/, '(of N)');
}

function figure(value: number | null): string {
  if (value === null) return '';
  return Math.abs(value) >= 100 ? String(Math.round(value)) : String(Math.round(value * 100) / 100);
}

export function formatComparison(metrics: ComparedMetric[], ref: string): string {
  const header = [
    'scenario',
    'metric',
    `${ref} (runs)`,
    'this (runs)',
    `median ${ref}`,
    'median this',
    'this / ref',
    'vs baseline',
  ];
  const lines = metrics.map((m) => {
    const a = median(m.ref);
    const b = median(m.this);
    const times = (value: number | null) => (value === null ? '–' : `${figure(value)}×`);
    const ratios =
      m.refRatio.length > 0 || m.thisRatio.length > 0
        ? `${times(median(m.refRatio))} → ${times(median(m.thisRatio))}`
        : '';
    const runs = (values: number[], failed: number) =>
      [...values.map(figure), ...Array.from({ length: failed }, () => 'failed')].join(' / ');
    return [
      m.scenario,
      m.metric,
      runs(m.ref, m.refFailed),
      runs(m.this, m.thisFailed),
      figure(a),
      figure(b),
      a !== null && b !== null && a !== 0 ? `${figure(b / a)}×` : '',
      ratios,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [format(header), rule, ...lines.map(format)].join('\n');
}

function git(args: string[], cwd = ROOT): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

let running: ChildProcess | undefined;

/** One `bench/run.ts` in `dir`; resolves to its rows (a failed scenario still has its row). */
function benchIn(dir: string, args: string[]): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    running = child;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      running = undefined;
      const file = /^results: (.+)$/m.exec(output)?.[1];
      if (file === undefined || !existsSync(file)) {
        reject(new Error(`the benchmark in ${dir} wrote no results (exit code ${code})`));
        return;
      }
      resolve((JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] }).rows);
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let runs = 2;
  let ref: string | undefined;
  const benchArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--runs') runs = Number(argv[++i]);
    else if (arg.startsWith('--runs=')) runs = Number(arg.slice('--runs='.length));
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        'npm run bench:compare -- <git ref> [--runs 2] [--full] [--only outbound] [other bench options]\n',
      );
      return;
    } else if (ref === undefined && !arg.startsWith('-')) ref = arg;
    else benchArgs.push(arg);
  }
  if (ref === undefined)
    throw new Error('which code to compare with? e.g. npm run bench:compare -- main');
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a whole number ≥ 1');
  const commit = git(['rev-parse', '--verify', `${ref}^{commit}`]);

  const dir = mkdtempSync(join(os.tmpdir(), 'switchboard-compare-'));
  const removeWorktree = () => {
    try {
      git(['worktree', 'remove', '--force', dir]);
    } catch {
      // already gone
    }
  };
  process.on('SIGINT', () => {
    running?.kill('SIGINT');
    removeWorktree();
    process.exit(130);
  });
  git(['worktree', 'add', '--detach', dir, commit]);
  try {
    // Same lockfile: the dependencies installed here serve both; otherwise install them there.
    const sameLock = git(['diff', '--name-only', commit, '--', 'package-lock.json']) === '';
    if (sameLock) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    else {
      process.stderr.write(`[compare] ${ref} has other dependencies: npm ci in its worktree\n`);
      execFileSync('npm', ['ci'], { cwd: dir, stdio: 'inherit' });
    }
    const results: { side: Side; rows: Row[] }[] = [];
    for (const [index, side] of runOrder(runs).entries()) {
      process.stderr.write(
        `[compare] run ${index + 1} of ${2 * runs}: ${side === 'ref' ? ref : 'this checkout'}\n`,
      );
      results.push({ side, rows: await benchIn(side === 'ref' ? dir : ROOT, benchArgs) });
    }
    const metrics = compareRuns(results);
    const table = formatComparison(metrics, ref);
    process.stdout.write(
      `\nPaired runs: ${ref} (${commit.slice(0, 7)}) against this checkout, ${runs} each, alternated\n\n${table}\n`,
    );
    const file = join(
      ROOT,
      'bench',
      'results',
      `compare-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
    writeFileSync(
      file,
      `${JSON.stringify({ ref, commit, benchArgs, runs: results, metrics }, null, 2)}\n`,
    );
    process.stdout.write(`\nresults: ${file}\n`);
  } finally {
    removeWorktree();
  }
}

if (process.argv[1]?.endsWith('compare.ts')) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench:compare: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
