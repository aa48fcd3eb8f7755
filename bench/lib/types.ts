/** One line of the results table. */
export interface Row {
  scenario: string;
  metric: string;
  switchboard: number | string | null;
  baseline: number | string | null;
  /** switchboard ÷ baseline, when both are numbers. */
  ratio: number | null;
  target: string;
  /** null: no target for this metric (informative). */
  met: boolean | null;
}

export interface ScenarioOutcome {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
  rows: Row[];
  /** Printed under the table (e.g. why a baseline failed). */
  notes?: string[];
  /** Everything measured, for the JSON file. */
  data: Record<string, unknown>;
}

export interface Settings {
  mode: 'quick' | 'full';
  inbound: { connections: number; warmupSec: number; durationSec: number; bodyBytes: number };
  outbound: {
    messages: number;
    endpoints: number;
    concurrency: number;
    payloadBytes: number;
    warmupMessages: number;
    workerConcurrency: number;
    unsaturatedRate: number;
    unsaturatedMessages: number;
    /** Longest wait for all deliveries of one run to arrive. */
    drainTimeoutMs: number;
  };
  backlog: { messages: number; drainTimeoutMs: number };
  redisUrl: string;
}

export const SETTINGS: Record<'quick' | 'full', Settings> = {
  quick: {
    mode: 'quick',
    inbound: { connections: 64, warmupSec: 1, durationSec: 5, bodyBytes: 1024 },
    outbound: {
      messages: 2000,
      endpoints: 4,
      concurrency: 16,
      payloadBytes: 512,
      warmupMessages: 200,
      workerConcurrency: 64,
      unsaturatedRate: 50,
      unsaturatedMessages: 200,
      drainTimeoutMs: 180_000,
    },
    backlog: { messages: 50_000, drainTimeoutMs: 600_000 },
    redisUrl: process.env.SWITCHBOARD_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  },
  full: {
    mode: 'full',
    inbound: { connections: 64, warmupSec: 5, durationSec: 30, bodyBytes: 1024 },
    outbound: {
      messages: 20_000,
      endpoints: 4,
      concurrency: 16,
      payloadBytes: 512,
      warmupMessages: 1000,
      workerConcurrency: 64,
      unsaturatedRate: 50,
      unsaturatedMessages: 1000,
      drainTimeoutMs: 900_000,
    },
    backlog: { messages: 1_000_000, drainTimeoutMs: 3_600_000 },
    redisUrl: process.env.SWITCHBOARD_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  },
};

/** What scenarios share within one run: baselines measured once, the profile directory. */
export interface RunContext {
  settings: Settings;
  profileDir: string | undefined;
  /** NODE_OPTIONS for every Switchboard process (e.g. `--max-old-space-size=128`). */
  serverNodeOptions: string | undefined;
  baselines: {
    bare?: Promise<Record<string, unknown>>;
    bullmq?: Promise<Record<string, unknown>>;
  };
  /** Under --profile: which window of which process's profile is the measured load. */
  profileWindows: { pid: number; label: string; fromMs: number; toMs: number }[];
  log(line: string): void;
}

export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return null;
  return Math.round((a / b) * 100) / 100;
}
