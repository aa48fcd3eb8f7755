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
    /** Messages per request in the batch-emit run (the batch endpoints). */
    batchSize: number;
    /** Messages of the batch-emit run (saturated, like `messages`). */
    batchMessages: number;
    /** Longest wait for all deliveries of one run to arrive. */
    drainTimeoutMs: number;
  };
  backlog: { messages: number; drainTimeoutMs: number };
  redisUrl: string;
}

/** What the two modes share: the load's shape (connections, endpoints, sizes, rates). */
const SHAPE = {
  connections: 64,
  bodyBytes: 1024,
  endpoints: 4,
  concurrency: 16,
  payloadBytes: 512,
  workerConcurrency: 64,
  unsaturatedRate: 50,
  batchSize: 50,
  redisUrl: process.env.SWITCHBOARD_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
};

/** Quick and full differ only in how long and how much. */
function settings(
  mode: 'quick' | 'full',
  size: {
    warmupSec: number;
    durationSec: number;
    messages: number;
    warmupMessages: number;
    unsaturatedMessages: number;
    batchMessages: number;
    drainTimeoutMs: number;
    backlogMessages: number;
    backlogDrainTimeoutMs: number;
  },
): Settings {
  return {
    mode,
    inbound: {
      connections: SHAPE.connections,
      warmupSec: size.warmupSec,
      durationSec: size.durationSec,
      bodyBytes: SHAPE.bodyBytes,
    },
    outbound: {
      messages: size.messages,
      endpoints: SHAPE.endpoints,
      concurrency: SHAPE.concurrency,
      payloadBytes: SHAPE.payloadBytes,
      warmupMessages: size.warmupMessages,
      workerConcurrency: SHAPE.workerConcurrency,
      unsaturatedRate: SHAPE.unsaturatedRate,
      unsaturatedMessages: size.unsaturatedMessages,
      batchSize: SHAPE.batchSize,
      batchMessages: size.batchMessages,
      drainTimeoutMs: size.drainTimeoutMs,
    },
    backlog: { messages: size.backlogMessages, drainTimeoutMs: size.backlogDrainTimeoutMs },
    redisUrl: SHAPE.redisUrl,
  };
}

export const SETTINGS: Record<'quick' | 'full', Settings> = {
  quick: settings('quick', {
    warmupSec: 1,
    durationSec: 5,
    messages: 2000,
    warmupMessages: 200,
    unsaturatedMessages: 200,
    batchMessages: 2000,
    drainTimeoutMs: 180_000,
    backlogMessages: 50_000,
    backlogDrainTimeoutMs: 600_000,
  }),
  full: settings('full', {
    warmupSec: 5,
    durationSec: 30,
    messages: 20_000,
    warmupMessages: 1000,
    unsaturatedMessages: 1000,
    batchMessages: 20_000,
    drainTimeoutMs: 900_000,
    backlogMessages: 1_000_000,
    backlogDrainTimeoutMs: 3_600_000,
  }),
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
