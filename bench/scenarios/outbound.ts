/**
 * The outbound scenario (docs/benchmarks.md), run by bench/run.ts (`--only outbound`: SQLite) and
 * bench/scenarios/postgres.ts (`outbound (pg)`): Switchboard and the BullMQ baseline
 * (bench/baselines/bullmq-dispatcher.ts) under the same emit load, each in turn:
 *
 * 1. a warm-up;
 * 2. the saturated run: `messages` single-message emits, `concurrency` in flight — deliveries/s,
 *    latencies, and the CPU figures of the table (measured over this run only);
 * 3. with `batchEmit` (the SQLite scenario and its baseline, not PostgreSQL's), the saturated
 *    batch-emit run: `batchMessages` messages, `batchSize` per request, to the batch endpoint
 *    (`…/msg/batch`) — deliveries/s and latencies; when it fails (e.g. 404 from a server without
 *    the endpoint) its rows say `failed†` and the notes why, and the other runs go on;
 * 4. the unsaturated run: `unsaturatedMessages` at `unsaturatedRate`/s.
 *
 * RSS is sampled over runs 2–4. Every figure goes to the scenario's `data` (the JSON results).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, whenReady } from '../lib/ipc.js';
import {
  type Child,
  CpuMeter,
  interrupted,
  MB,
  RssSampler,
  round,
  spawnNode,
} from '../lib/proc.js';
import { baselineRedis } from '../lib/redis.js';
import type { LatencySummary } from '../lib/stats.js';
import {
  ADMIN_TOKEN,
  createAppWithEndpoints,
  createPostgresDatabase,
  type SwitchboardProcess,
  startSwitchboard,
  tempDataDir,
} from '../lib/switchboard.js';
import { type Row, type RunContext, ratio, type ScenarioOutcome } from '../lib/types.js';
import type { EmitArgs, EmitResult } from '../loadgen-emit.js';

export interface ReceiverStats {
  count: number;
  distinct?: number;
  duplicates?: number;
  withoutId: number;
  firstAt: number;
  lastAt: number;
  latency: LatencySummary;
}

export interface Receiver {
  child: Child;
  url: string;
  reset(trackIds?: boolean): Promise<void>;
  count(): Promise<number>;
  stats(): Promise<ReceiverStats>;
  /** Waits until `expected` requests arrived; throws with what did arrive after `ms`. */
  waitFor(expected: number, ms: number, what: string): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const child = spawnNode('receiver', 'bench/receiver.ts', [], { ipc: true });
  const info = await whenReady<{ url: string }>(child);
  const receiver: Receiver = {
    child,
    url: info.url,
    async reset(trackIds = true) {
      await call(child, 'reset', { trackIds });
    },
    async count() {
      return (await call<{ count: number }>(child, 'count')).count;
    },
    stats: () => call<ReceiverStats>(child, 'stats'),
    async waitFor(expected, ms, what) {
      const deadline = Date.now() + ms;
      let seen = 0;
      while (Date.now() < deadline) {
        seen = await receiver.count();
        if (seen >= expected) return;
        await sleep(50);
      }
      throw new Error(
        `timed out after ${Math.round(ms / 1000)} s waiting for ${what}: ${seen} of ${expected} deliveries arrived`,
      );
    },
  };
  return receiver;
}

export interface OutboundRun {
  emit: EmitResult;
  received: ReceiverStats;
  expected: number;
  deliveriesPerSec: number;
  lost: number;
}

/** The saturated batch-emit run: its figures, or why it failed. */
export interface BatchEmitFigures {
  /** Messages per request. */
  batchSize: number;
  /** Absent when the run failed (`error`). */
  run?: OutboundRun;
  error?: string;
  /** CPU over the batch run alone (not in the table: the CPU row is the single-emit run's). */
  cpuPercent?: number;
  cpuSeconds?: number;
  helperCpuPercent?: number;
}

export interface OutboundFigures {
  warmup: OutboundRun;
  saturated: OutboundRun;
  /** Present when the batch-emit run was asked for (`batchEmit`), failed or not. */
  batch?: BatchEmitFigures;
  unsaturated: OutboundRun;
  /** CPU over the saturated single-emit run. */
  cpuPercent: number;
  cpuSeconds: number;
  /** CPU of helpers the system needs (Redis for the baseline), % of one core. */
  helperCpuPercent?: number;
  /** Over the saturated, batch-emit and unsaturated runs. */
  rssPeakMB: number;
  /** Date.now() at the start of the saturated run and the end of the unsaturated one. */
  window: { start: number; end: number };
}

/** Emits `count` messages and waits until every delivery has arrived. */
async function emitAndDrain(
  ctx: RunContext,
  loadgen: Child,
  receiver: Receiver,
  args: EmitArgs,
  what: string,
): Promise<OutboundRun> {
  const { endpoints, drainTimeoutMs } = ctx.settings.outbound;
  await receiver.reset();
  const emit = await call<EmitResult>(loadgen, 'run', args, drainTimeoutMs);
  if (emit.ok === 0) throw new Error(`${what}: no message was accepted (${emit.firstError})`);
  const expected = emit.ok * endpoints;
  await receiver.waitFor(expected, drainTimeoutMs, what);
  // A short grace period so that late duplicates (if any) are counted.
  await sleep(200);
  const received = await receiver.stats();
  const seconds = (received.lastAt - emit.firstEmitAt) / 1000;
  return {
    emit,
    received,
    expected,
    deliveriesPerSec: round(received.count / seconds, 0),
    lost: expected - (received.distinct ?? received.count),
  };
}

/**
 * The saturated batch-emit run: `batchMessages` messages, `batchSize` per request, to
 * `${emitUrl}/batch`, with its own CPU meter. A failure (e.g. a server without the batch
 * endpoint: 404) is returned as `error`, not thrown, unless the harness was interrupted.
 */
async function measureBatch(
  ctx: RunContext,
  loadgen: Child,
  receiver: Receiver,
  args: Pick<EmitArgs, 'url' | 'headers' | 'payloadBytes'>,
  pids: number[],
  helperPids: number[],
  label: string,
): Promise<BatchEmitFigures> {
  const o = ctx.settings.outbound;
  ctx.log(
    `${label}: saturated, batch emit (${o.batchMessages} messages, ${o.batchSize} per request, × ${o.endpoints} endpoints)`,
  );
  const cpu = new CpuMeter(pids);
  const helperCpu = helperPids.length > 0 ? new CpuMeter(helperPids) : undefined;
  try {
    const run = await emitAndDrain(
      ctx,
      loadgen,
      receiver,
      {
        ...args,
        url: `${args.url}/batch`,
        count: o.batchMessages,
        concurrency: o.concurrency,
        batchSize: o.batchSize,
      },
      `${label} batch emit`,
    );
    const use = cpu.stop();
    return {
      batchSize: o.batchSize,
      run,
      cpuPercent: use.cpuPercent,
      cpuSeconds: use.cpuSeconds,
      helperCpuPercent: helperCpu?.stop().cpuPercent,
    };
  } catch (error) {
    if (interrupted()) throw error;
    const message = error instanceof Error ? error.message : String(error);
    ctx.log(`${label}: batch emit FAILED (the other runs go on): ${message}`);
    return { batchSize: o.batchSize, error: message };
  }
}

/**
 * Warm-up, the saturated run (CPU measured), with `batchEmit` the saturated batch-emit run
 * (CPU measured apart), and the unsaturated run; RSS sampled over all but the warm-up.
 */
async function measure(
  ctx: RunContext,
  receiver: Receiver,
  emitUrl: string,
  headers: Record<string, string>,
  pids: number[],
  helperPids: number[],
  label: string,
  options: { batchEmit: boolean },
): Promise<OutboundFigures> {
  const o = ctx.settings.outbound;
  const loadgen = spawnNode('emit load generator', 'bench/loadgen-emit.ts', [], { ipc: true });
  try {
    await whenReady(loadgen);
    const base = { url: emitUrl, headers, payloadBytes: o.payloadBytes };
    ctx.log(`${label}: warm-up (${o.warmupMessages} messages)`);
    const warmup = await emitAndDrain(
      ctx,
      loadgen,
      receiver,
      { ...base, count: o.warmupMessages, concurrency: o.concurrency },
      `${label} warm-up`,
    );
    ctx.log(`${label}: saturated (${o.messages} messages × ${o.endpoints} endpoints)`);
    const start = Date.now();
    const cpu = new CpuMeter(pids);
    const helperCpu = helperPids.length > 0 ? new CpuMeter(helperPids) : undefined;
    const rss = new RssSampler(pids);
    const saturated = await emitAndDrain(
      ctx,
      loadgen,
      receiver,
      { ...base, count: o.messages, concurrency: o.concurrency },
      `${label} saturated`,
    );
    const cpuUse = cpu.stop();
    const helperUse = helperCpu?.stop();
    const batch = options.batchEmit
      ? await measureBatch(ctx, loadgen, receiver, base, pids, helperPids, label)
      : undefined;
    ctx.log(`${label}: unsaturated (${o.unsaturatedMessages} messages at ${o.unsaturatedRate}/s)`);
    const unsaturated = await emitAndDrain(
      ctx,
      loadgen,
      receiver,
      {
        ...base,
        count: o.unsaturatedMessages,
        concurrency: o.concurrency,
        ratePerSec: o.unsaturatedRate,
      },
      `${label} unsaturated`,
    );
    const memory = rss.stop();
    return {
      window: { start, end: Date.now() },
      warmup,
      saturated,
      batch,
      unsaturated,
      cpuPercent: cpuUse.cpuPercent,
      cpuSeconds: cpuUse.cpuSeconds,
      helperCpuPercent: helperUse?.cpuPercent,
      rssPeakMB: round(memory.peakBytes / MB, 1),
    };
  } finally {
    await loadgen.stop(2000);
  }
}

/**
 * The BullMQ + undici dispatcher under the same load: measured once per run, by the first
 * scenario that asks (its receiver; with the batch-emit run when it asks for `batchEmit`).
 */
export function bullmqBaseline(
  ctx: RunContext,
  receiver: Receiver,
  batchEmit: boolean,
): Promise<OutboundFigures> {
  ctx.baselines.bullmq ??= (async () => {
    const o = ctx.settings.outbound;
    const queue = `bench_${randomBytes(6).toString('hex')}`;
    const endpoints = Array.from({ length: o.endpoints }, (_, i) => ({
      url: `${receiver.url}?ep=${i}`,
      secret: `whsec_${randomBytes(32).toString('base64')}`,
    }));
    const redis = await baselineRedis(
      ctx.settings.redisUrl,
      process.env.SWITCHBOARD_BENCH_REDIS_URL !== undefined,
    );
    if (redis.stop) ctx.log(`outbound baseline (BullMQ): started a private Redis at ${redis.url}`);
    const child = spawnNode(
      'bullmq baseline',
      'bench/baselines/bullmq-dispatcher.ts',
      [
        JSON.stringify({
          redisUrl: redis.url,
          queue,
          concurrency: o.workerConcurrency,
          endpoints,
        }),
      ],
      { ipc: true },
    );
    try {
      const info = await whenReady<{ url: string }>(child, 20_000);
      const redisPid = await call<number | null>(child, 'redisPid').catch(() => null);
      const figures = await measure(
        ctx,
        receiver,
        info.url,
        {},
        [child.pid],
        redisPid ? [redisPid] : [],
        'outbound baseline (BullMQ)',
        { batchEmit },
      );
      await call(child, 'close', {}, 30_000).catch((error: Error) =>
        ctx.log(`bullmq baseline: close failed: ${error.message}`),
      );
      return figures as unknown as Record<string, unknown>;
    } finally {
      await child.stop(5000);
      await redis.stop?.();
    }
  })();
  return ctx.baselines.bullmq as unknown as Promise<OutboundFigures>;
}

/** A batch-emit run that failed, in the table (the reason is in the notes, marked †). */
const FAILED_BATCH = 'failed†';

/**
 * The table's rows. The batch-emit rows are there when Switchboard's figures have a batch run
 * (failed or not); a failed run shows as FAILED_BATCH, its reason in outboundNotes.
 */
export function outboundRows(
  scenario: string,
  sb: OutboundFigures,
  base: OutboundFigures | undefined,
  baseError: string | undefined,
): Row[] {
  const b = base;
  const failedBase = baseError ? 'failed*' : null;
  const row = (
    metric: string,
    mine: number,
    theirs: number | undefined,
    target = '',
    met: boolean | null = null,
  ): Row => ({
    scenario,
    metric,
    switchboard: mine,
    baseline: theirs ?? failedBase,
    ratio: ratio(mine, theirs),
    target,
    met,
  });
  const rate = sb.saturated.deliveriesPerSec;
  const baseRate = b?.saturated.deliveriesPerSec;
  /** Deliveries/s and p50 of the batch-emit runs, either side possibly failed. */
  const batchRows = (): Row[] => {
    if (sb.batch === undefined) return [];
    const mine = sb.batch.run;
    const theirs = b?.batch?.run;
    const theirsFailed = b?.batch?.error !== undefined ? FAILED_BATCH : failedBase;
    const figures = (pick: (run: OutboundRun) => number) => {
      const m = mine === undefined ? undefined : pick(mine);
      const t = theirs === undefined ? undefined : pick(theirs);
      return {
        switchboard: m ?? FAILED_BATCH,
        baseline: t ?? theirsFailed,
        ratio: ratio(m, t),
        m,
        t,
      };
    };
    const perSec = figures((run) => run.deliveriesPerSec);
    const p50 = figures((run) => run.received.latency.p50);
    return [
      {
        scenario,
        metric: `deliveries/s, batch emit (${sb.batch.batchSize} per request)`,
        switchboard: perSec.switchboard,
        baseline: perSec.baseline,
        ratio: perSec.ratio,
        target: '≥ 2× BullMQ',
        met: perSec.m !== undefined && perSec.t !== undefined && perSec.m >= 2 * perSec.t,
      },
      {
        scenario,
        metric: 'end-to-end p50 (ms), batch emit',
        switchboard: p50.switchboard,
        baseline: p50.baseline,
        ratio: p50.ratio,
        target: '',
        met: null,
      },
    ];
  };
  /**
   * The measured runs whose deliveries are checked for duplicates (and, with the warm-up, for
   * losses); a batch-emit run on both sides only when this scenario has one.
   */
  const measured = (f: OutboundFigures) => [
    f.saturated,
    f.unsaturated,
    ...(sb.batch !== undefined && f.batch?.run !== undefined ? [f.batch.run] : []),
  ];
  const lost = (f: OutboundFigures) =>
    [f.warmup, ...measured(f)].reduce((sum, run) => sum + run.lost, 0);
  const duplicates = (f: OutboundFigures) =>
    measured(f).reduce((sum, run) => sum + (run.received.duplicates ?? 0), 0);
  return [
    row(
      'deliveries/s',
      rate,
      baseRate,
      '≥ 2× BullMQ',
      baseRate === undefined ? false : rate >= 2 * baseRate,
    ),
    row(
      'end-to-end p50 (ms), saturated',
      sb.saturated.received.latency.p50,
      b?.saturated.received.latency.p50,
    ),
    row(
      'end-to-end p99 (ms), saturated',
      sb.saturated.received.latency.p99,
      b?.saturated.received.latency.p99,
    ),
    row(
      'emit API p99 (ms), saturated',
      sb.saturated.emit.ackLatency.p99,
      b?.saturated.emit.ackLatency.p99,
    ),
    ...batchRows(),
    row(
      'end-to-end p50 (ms), unsaturated',
      sb.unsaturated.received.latency.p50,
      b?.unsaturated.received.latency.p50,
      '< 10 ms',
      sb.unsaturated.received.latency.p50 < 10,
    ),
    row(
      'end-to-end p99 (ms), unsaturated',
      sb.unsaturated.received.latency.p99,
      b?.unsaturated.received.latency.p99,
    ),
    row('server CPU (% of 1 core)', sb.cpuPercent, b === undefined ? undefined : b.cpuPercent),
    ...(b?.helperCpuPercent !== undefined
      ? [
          {
            ...row('+ Redis CPU (% of 1 core)', 0, b.helperCpuPercent),
            switchboard: null,
            ratio: null,
          },
        ]
      : []),
    row(
      'CPU per delivery (µs), saturated (BullMQ: + Redis)',
      cpuPerDelivery(sb.cpuPercent, undefined, rate),
      b === undefined || baseRate === undefined
        ? undefined
        : cpuPerDelivery(b.cpuPercent, b.helperCpuPercent, baseRate),
    ),
    ...(sb.batch?.run !== undefined && sb.batch.cpuPercent !== undefined
      ? [
          row(
            'CPU per delivery (µs), batch emit',
            cpuPerDelivery(sb.batch.cpuPercent, undefined, sb.batch.run.deliveriesPerSec),
            b?.batch?.run === undefined || b.batch.cpuPercent === undefined
              ? undefined
              : cpuPerDelivery(
                  b.batch.cpuPercent,
                  b.batch.helperCpuPercent,
                  b.batch.run.deliveriesPerSec,
                ),
          ),
        ]
      : []),
    row('server RSS peak (MB)', sb.rssPeakMB, b?.rssPeakMB),
    row('lost deliveries', lost(sb), b === undefined ? undefined : lost(b), '= 0', lost(sb) === 0),
    row('duplicate deliveries', duplicates(sb), b === undefined ? undefined : duplicates(b)),
  ];
}

/**
 * CPU time per delivery, µs: the server's (every thread) plus its helper's (Redis for the
 * baseline), from the run's mean CPU use and its delivery rate. Both sides share the machine
 * with the receiver and the load generator, so this says how much of it each leaves to them.
 */
export function cpuPerDelivery(
  cpuPercent: number,
  helperCpuPercent: number | undefined,
  deliveriesPerSec: number,
): number {
  return round(((cpuPercent + (helperCpuPercent ?? 0)) * 10_000) / deliveriesPerSec, 0);
}

/** What the table's marks stand for: * the baseline failed, † a batch-emit run failed. */
export function outboundNotes(
  scenario: string,
  sb: OutboundFigures,
  base: OutboundFigures | undefined,
  baseError: string | undefined,
): string[] {
  const first = (reason: string) => reason.split('\n')[0];
  const notes: string[] = [];
  if (baseError) notes.push(`${scenario}: * the BullMQ baseline failed: ${first(baseError)}`);
  if (sb.batch?.error !== undefined) {
    notes.push(`${scenario}: † Switchboard's batch-emit run failed: ${first(sb.batch.error)}`);
  }
  if (sb.batch !== undefined && base?.batch?.error !== undefined) {
    notes.push(
      `${scenario}: † the BullMQ baseline's batch-emit run failed: ${first(base.batch.error)}`,
    );
  }
  return notes;
}

/**
 * Outbound on SQLite (one process, role all; with the batch-emit run) or PostgreSQL (one `api`
 * process taking the emits and `workers` `worker` processes delivering; no batch-emit run).
 */
export async function runOutbound(
  ctx: RunContext,
  backend: 'sqlite' | 'postgres',
  workers = 2,
): Promise<ScenarioOutcome> {
  const scenario = backend === 'sqlite' ? 'outbound' : `outbound (pg, api+${workers} workers)`;
  const o = ctx.settings.outbound;
  // The batch-emit run on SQLite only (and for the baseline): the PostgreSQL scenario stays short.
  const batchEmit = backend === 'sqlite';
  const receiver = await startReceiver();
  const data = tempDataDir('outbound');
  let pgDb: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined;
  const processes: SwitchboardProcess[] = [];
  try {
    let base: OutboundFigures | undefined;
    let baseError: string | undefined;
    try {
      base = await bullmqBaseline(ctx, receiver, batchEmit);
    } catch (error) {
      baseError = (error as Error).message;
      ctx.log(`outbound baseline failed: ${baseError}`);
    }

    ctx.log(`${scenario}: Switchboard`);
    if (backend === 'postgres') {
      pgDb = await createPostgresDatabase();
      processes.push(
        await startSwitchboard({
          nodeOptions: ctx.serverNodeOptions,
          databaseUrl: pgDb.url,
          dataDir: data.dir,
          role: 'api',
          profileDir: ctx.profileDir,
          name: 'switchboard(api, pg)',
        }),
      );
      for (let i = 0; i < workers; i++) {
        processes.push(
          await startSwitchboard({
            nodeOptions: ctx.serverNodeOptions,
            databaseUrl: pgDb.url,
            dataDir: data.dir,
            role: 'worker',
            profileDir: ctx.profileDir,
            name: `switchboard(worker ${i + 1}, pg)`,
          }),
        );
      }
    } else {
      processes.push(
        await startSwitchboard({
          nodeOptions: ctx.serverNodeOptions,
          databaseUrl: data.sqliteUrl,
          dataDir: data.dir,
          profileDir: ctx.profileDir,
          name: 'switchboard(outbound, sqlite)',
        }),
      );
    }
    const apiUrl = processes[0].url;
    const { appId } = await createAppWithEndpoints(apiUrl, receiver.url, o.endpoints);
    const figures = await measure(
      ctx,
      receiver,
      `${apiUrl}/api/v1/app/${appId}/msg`,
      { authorization: `Bearer ${ADMIN_TOKEN}` },
      processes.map((p) => p.child.pid),
      [],
      scenario,
      { batchEmit },
    );
    if (ctx.profileDir) {
      for (const p of processes) {
        ctx.profileWindows.push({
          pid: p.child.pid,
          label: `${scenario}, ${p.child.name} (saturated${figures.batch ? ', batch-emit' : ''} + unsaturated runs)`,
          fromMs: figures.window.start - p.spawnedAt,
          toMs: figures.window.end - p.spawnedAt,
        });
      }
    }
    const rows = outboundRows(scenario, figures, base, baseError);
    return {
      name: scenario,
      status: 'ok',
      rows,
      notes: outboundNotes(scenario, figures, base, baseError),
      data: {
        backend,
        processes: processes.map((p) => p.role),
        switchboard: figures,
        baseline: base,
        baselineError: baseError,
      },
    };
  } finally {
    for (const p of processes.reverse()) {
      const code = await p.stop();
      if (code !== 0) ctx.log(`${p.child.name} exited with ${code}`);
    }
    await receiver.child.stop(2000);
    await pgDb?.drop().catch(() => {});
    data.remove();
  }
}
