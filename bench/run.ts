/**
 * `npm run bench [-- --quick|--full] [--only inbound,outbound,backlog,postgres] [--profile]`
 *
 * Runs the benchmark scenarios (see docs/benchmarks.md), prints one table and writes every
 * figure, with a description of the machine, to bench/results/<timestamp>.json. Every server,
 * receiver and load generator runs in a process of its own; all of them are stopped when the
 * harness exits, including on Ctrl-C. A scenario that fails is shown as failed in the table,
 * with its reason; the others still run.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { interrupted, ROOT } from './lib/proc.js';
import { type Row, type RunContext, type ScenarioOutcome, SETTINGS } from './lib/types.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { runBacklog } from './scenarios/backlog.js';
import { runInbound } from './scenarios/inbound.js';
import { runOutbound } from './scenarios/outbound.js';
import { runPostgres } from './scenarios/postgres.js';

const SCENARIOS = ['inbound', 'outbound', 'backlog', 'postgres'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

interface Cli {
  mode: 'quick' | 'full';
  only: ScenarioName[];
  profile: boolean;
  serverNodeOptions: string | undefined;
}

function parseArgs(argv: string[]): Cli {
  let mode: 'quick' | 'full' = 'quick';
  let only: ScenarioName[] = [...SCENARIOS];
  let profile = false;
  let serverNodeOptions: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') mode = 'quick';
    else if (arg === '--full') mode = 'full';
    else if (arg === '--profile') profile = true;
    else if (arg === '--server-node-options' || arg.startsWith('--server-node-options=')) {
      serverNodeOptions = arg.includes('=')
        ? arg.slice('--server-node-options='.length)
        : argv[++i];
    } else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice('--only='.length) : argv[++i];
      if (!value) throw new Error('--only needs a list, e.g. --only inbound,outbound');
      only = value.split(',').map((name) => {
        const trimmed = name.trim() as ScenarioName;
        if (!SCENARIOS.includes(trimmed)) {
          throw new Error(`unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`);
        }
        return trimmed;
      });
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        'npm run bench -- [--quick|--full] [--only inbound,outbound,backlog,postgres] [--profile] [--server-node-options "--max-old-space-size=128"]\n',
      );
      process.exit(0);
    } else throw new Error(`unknown argument "${arg}" (try --help)`);
  }
  return { mode, only, profile, serverNodeOptions };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    ramBytes: os.totalmem(),
    ramGB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} (${os.platform()} ${os.arch()})`,
    hostname: os.hostname(),
    loadAverageAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    return Math.abs(value) >= 100
      ? String(Math.round(value))
      : String(Math.round(value * 100) / 100);
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'NO';
  return String(value);
}

/** The one table: scenario, metric, Switchboard, baseline, ratio, target, met?. */
export function formatTable(rows: Row[]): string {
  const header = ['scenario', 'metric', 'Switchboard', 'baseline', 'ratio', 'target', 'met?'];
  const lines = rows.map((row) => [
    row.scenario,
    row.metric,
    cell(row.switchboard),
    cell(row.baseline),
    row.ratio === null ? '' : `${cell(row.ratio)}×`,
    row.target,
    row.met === null ? '' : row.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const numeric = new Set([2, 3, 4]);
  const format = (cells: string[]) =>
    `| ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [format(header), rule, ...lines.map(format)].join('\n');
}

function failedRow(name: string, status: 'failed' | 'skipped'): Row {
  return {
    scenario: name,
    metric: status === 'failed' ? 'FAILED (see below)' : 'skipped (see below)',
    switchboard: null,
    baseline: null,
    ratio: null,
    target: '',
    met: status === 'failed' ? false : null,
  };
}

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2));
  const settings = SETTINGS[cli.mode];
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(ROOT, 'bench', 'results');
  const profileDir = cli.profile ? join(resultsDir, 'profiles', stamp) : undefined;
  mkdirSync(resultsDir, { recursive: true });
  const started = Date.now();
  const log = (line: string) => {
    const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    process.stderr.write(`[bench ${t}s] ${line}\n`);
  };
  const ctx: RunContext = {
    settings,
    profileDir,
    serverNodeOptions: cli.serverNodeOptions,
    baselines: {},
    profileWindows: [],
    log,
  };
  const info = machine();
  log(
    `${cli.mode} mode, scenarios: ${cli.only.join(', ')}${cli.profile ? ', profiling Switchboard' : ''}${cli.serverNodeOptions ? `, Switchboard NODE_OPTIONS=${cli.serverNodeOptions}` : ''}`,
  );
  log(`${info.cpuModel}, ${info.cores} cores, ${info.ramGB} GB, Node ${info.node}, ${info.os}`);

  const outcomes: ScenarioOutcome[] = [];
  const run = async (name: string, fn: () => Promise<ScenarioOutcome | ScenarioOutcome[]>) => {
    const signal = interrupted();
    if (signal) {
      outcomes.push({
        name,
        status: 'skipped',
        reason: `interrupted (${signal})`,
        rows: [],
        data: {},
      });
      return;
    }
    const t0 = Date.now();
    try {
      const result = await fn();
      for (const outcome of Array.isArray(result) ? result : [result]) outcomes.push(outcome);
    } catch (error) {
      const reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`${name} FAILED: ${reason}`);
      const signal = interrupted();
      const message = error instanceof Error ? error.message : String(error);
      outcomes.push({
        name,
        status: 'failed',
        reason: signal ? `interrupted (${signal}): ${message}` : message,
        rows: [],
        data: {},
      });
    }
    log(`${name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };

  for (const name of cli.only) {
    if (name === 'inbound') await run('inbound', () => runInbound(ctx, 'sqlite'));
    if (name === 'outbound') await run('outbound', () => runOutbound(ctx, 'sqlite'));
    if (name === 'backlog') await run('backlog', () => runBacklog(ctx));
    if (name === 'postgres') await run('postgres', () => runPostgres(ctx));
  }

  const rows: Row[] = [];
  const notes: string[] = [];
  for (const outcome of outcomes) {
    rows.push(...outcome.rows);
    notes.push(...(outcome.notes ?? []));
    if (outcome.status !== 'ok') {
      rows.push(failedRow(outcome.name, outcome.status));
      notes.push(`${outcome.name}: ${outcome.status}: ${(outcome.reason ?? '').split('\n')[0]}`);
    }
  }

  let profiles: Record<string, unknown> | undefined;
  if (profileDir) {
    profiles = {};
    let files: string[] = [];
    try {
      files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    } catch {
      files = [];
    }
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (the
    // others are tsx's module loader); only the measured window of the run is summarised.
    for (const file of files) {
      const [, pid, thread] = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\./.exec(file) ?? [];
      if (thread !== '0') continue;
      const window = ctx.profileWindows.find((w) => String(w.pid) === pid);
      const summary = summarizeProfile(join(profileDir, file), {
        top: 25,
        fromMs: window?.fromMs,
        toMs: window?.toMs,
      });
      profiles[file] = { label: window?.label, ...summary };
      process.stdout.write(
        `\nCPU profile of Switchboard, ${window?.label ?? 'whole process'}: ${join(profileDir, file)}\n${formatSummary(summary)}\n`,
      );
    }
    if (files.length === 0) log(`no .cpuprofile written to ${profileDir}`);
  }

  const table = formatTable(rows);
  process.stdout.write(
    `\nSwitchboard benchmarks — ${cli.mode} mode${cli.mode === 'quick' ? ' (small N: indicative only)' : ''}${cli.profile ? ', Switchboard under --cpu-prof (figures distorted)' : ''}${cli.serverNodeOptions ? `, Switchboard NODE_OPTIONS="${cli.serverNodeOptions}"` : ''}\n` +
      `${info.cpuModel}, ${info.cores} cores, ${info.ramGB} GB RAM, Node ${info.node}, ${info.os}\n\n${table}\n` +
      (notes.length > 0 ? `\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''),
  );
  const file = join(resultsDir, `${stamp}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        startedAt: new Date(started).toISOString(),
        durationSec: Math.round((Date.now() - started) / 1000),
        mode: cli.mode,
        profile: cli.profile,
        serverNodeOptions: cli.serverNodeOptions,
        scenarios: cli.only,
        machine: { ...info, loadAverageAtEnd: os.loadavg().map((v) => Math.round(v * 100) / 100) },
        settings,
        rows,
        notes,
        outcomes,
        profiles,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`\nresults: ${file}\n`);
  process.exitCode = interrupted() ? 130 : outcomes.some((o) => o.status === 'failed') ? 1 : 0;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
