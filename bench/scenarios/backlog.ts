import { setTimeout as sleep } from 'node:timers/promises';
import { CpuMeter, MB, RssSampler, round, spawnNode, withTimeout } from '../lib/proc.js';
import { createAppWithEndpoints, startSwitchboard, tempDataDir } from '../lib/switchboard.js';
import type { Row, RunContext, ScenarioOutcome } from '../lib/types.js';
import { startReceiver } from './outbound.js';

const PEAK_RSS_TARGET_MB = 300;
const GROWTH_TARGET_MB = 50;

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Heap and RSS from the server's own /metrics (prom-client default metrics), MB. */
async function scrapeMemory(base: string): Promise<Record<string, number>> {
  const text = await (
    await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  const read = (name: string) => {
    const match = new RegExp(`^switchboard_${name} ([0-9.e+]+)$`, 'm').exec(text);
    return match ? round(Number(match[1]) / MB, 1) : Number.NaN;
  };
  return {
    rss: read('process_resident_memory_bytes'),
    heapUsed: read('nodejs_heap_size_used_bytes'),
    heapTotal: read('nodejs_heap_size_total_bytes'),
    external: read('nodejs_external_memory_bytes'),
  };
}

/**
 * A backlog of N messages (one endpoint each) written into a fresh SQLite database while the
 * server is down, then drained by one Switchboard process: deliveries/s every second (the
 * receiver's counter) and the server's RSS every 250 ms.
 */
export async function runBacklog(ctx: RunContext): Promise<ScenarioOutcome> {
  const scenario = 'backlog';
  const { messages, drainTimeoutMs } = ctx.settings.backlog;
  const receiver = await startReceiver();
  const data = tempDataDir('backlog');
  try {
    // 1. The application and its endpoint, through the API.
    const setup = await startSwitchboard({
      nodeOptions: ctx.serverNodeOptions,
      databaseUrl: data.sqliteUrl,
      dataDir: data.dir,
      name: 'switchboard(backlog setup)',
    });
    let appId: string;
    let endpointId: string;
    try {
      const created = await createAppWithEndpoints(setup.url, receiver.url, 1);
      appId = created.appId;
      endpointId = created.endpointIds[0];
    } finally {
      await setup.stop();
    }

    // 2. The backlog, written with the server down.
    ctx.log(`backlog: writing ${messages} messages + deliveries`);
    const fill = spawnNode('backlog fill', 'bench/backlog-fill.ts', [
      JSON.stringify({ databaseUrl: data.sqliteUrl, appId, endpointId, count: messages }),
    ]);
    let lastProgress = 0;
    fill.proc.stdout?.on('data', (chunk: Buffer) => {
      const match = /progress (\d+)\n(?![\s\S]*progress)/.exec(chunk.toString());
      if (match && Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        ctx.log(`backlog: written ${match[1]} / ${messages}`);
      }
    });
    const fillCode = await withTimeout(fill.exited, Math.max(300_000, messages), 'backlog fill');
    const done = /done (\d+) (\d+)/.exec(fill.output());
    if (fillCode !== 0 || !done) {
      throw new Error(`backlog fill exited with ${fillCode}:\n${fill.output().slice(-2000)}`);
    }
    const fillMs = Number(done[2]);
    const fillRate = round((messages / fillMs) * 1000, 0);
    ctx.log(`backlog: written in ${(fillMs / 1000).toFixed(1)} s (${fillRate} messages/s)`);

    // 3. Drain.
    await receiver.reset(true);
    let rss: RssSampler | undefined;
    const t0 = Date.now();
    const sb = await startSwitchboard({
      nodeOptions: ctx.serverNodeOptions,
      databaseUrl: data.sqliteUrl,
      dataDir: data.dir,
      name: 'switchboard(backlog drain)',
      onSpawn: (pid) => {
        rss = new RssSampler([pid], 250);
      },
    });
    const cpu = new CpuMeter([sb.child.pid]);
    const perSecond: { t: number; count: number }[] = [];
    let memory: { peakBytes: number; lastBytes: number } | undefined;
    let heap: Record<string, number> | undefined;
    let cpuUse: { cpuSeconds: number; cpuPercent: number } | undefined;
    let count = 0;
    try {
      let lastLog = Date.now();
      while (count < messages) {
        if (Date.now() - t0 > drainTimeoutMs) {
          throw new Error(
            `backlog: drain not finished after ${drainTimeoutMs / 1000} s (${count} of ${messages} delivered)`,
          );
        }
        if (sb.child.proc.exitCode !== null) {
          throw new Error(
            `Switchboard exited during the drain:\n${sb.child.output().slice(-2000)}`,
          );
        }
        await sleep(1000);
        count = await receiver.count();
        perSecond.push({ t: Math.round((Date.now() - t0) / 1000), count });
        if (Date.now() - lastLog >= 5000) {
          lastLog = Date.now();
          const last = perSecond.at(-6)?.count ?? 0;
          const mb = round((rss?.samples.at(-1)?.rss ?? 0) / MB, 0);
          ctx.log(
            `backlog: ${count} / ${messages} delivered, ~${Math.round((count - last) / 5)}/s, RSS ${mb} MB`,
          );
        }
      }
      // Where the memory is once drained (one scrape: the queue-depth gauge it evaluates is
      // cheap on an empty queue, but would not be during the drain).
      heap = await scrapeMemory(sb.url).catch(() => undefined);
    } finally {
      memory = rss?.stop();
      cpuUse = cpu.stop(); // before the process is gone
      await sb.stop();
    }
    const received = await receiver.stats();
    const drainSec = (received.lastAt - received.firstAt) / 1000;
    const rates = perSecond
      .map((s, i) => s.count - (i === 0 ? 0 : perSecond[i - 1].count))
      .slice(1, -1)
      .filter((r) => r > 0);
    // "Flat": the RSS late in the drain against the RSS early in it (after warm-up).
    const samples = rss?.samples ?? [];
    const end = samples.at(-1)?.t ?? 0;
    const window = (from: number, to: number) =>
      samples.filter((s) => s.t >= from * end && s.t <= to * end).map((s) => s.rss);
    const earlyMB = round(median(window(0.2, 0.3)) / MB, 1);
    const lateMB = round(median(window(0.9, 1)) / MB, 1);
    const peakMB = round((memory?.peakBytes ?? 0) / MB, 1);
    const growthMB = round(lateMB - earlyMB, 1);
    const lost = messages - (received.distinct ?? received.count);
    const rows: Row[] = [
      {
        scenario,
        metric: `enqueue (server down), messages/s`,
        switchboard: fillRate,
        baseline: null,
        ratio: null,
        target: '',
        met: null,
      },
      {
        scenario,
        metric: `drain of ${messages}, deliveries/s (mean)`,
        switchboard: round(received.count / drainSec, 0),
        baseline: null,
        ratio: null,
        target: '',
        met: null,
      },
      {
        scenario,
        metric: 'drain, deliveries/s (min–max of 1 s)',
        switchboard: rates.length ? `${Math.min(...rates)}–${Math.max(...rates)}` : '',
        baseline: null,
        ratio: null,
        target: '',
        met: null,
      },
      {
        scenario,
        metric: 'server CPU during drain (% of 1 core)',
        switchboard: cpuUse?.cpuPercent ?? null,
        baseline: null,
        ratio: null,
        target: '',
        met: null,
      },
      {
        scenario,
        metric: 'server RSS peak (MB)',
        switchboard: peakMB,
        baseline: null,
        ratio: null,
        target: `< ${PEAK_RSS_TARGET_MB} MB`,
        met: peakMB < PEAK_RSS_TARGET_MB,
      },
      {
        scenario,
        metric: 'server RSS growth, 20–30% → 90–100% of drain (MB)',
        switchboard: growthMB,
        baseline: null,
        ratio: null,
        target: `flat (< ${GROWTH_TARGET_MB} MB)`,
        met: growthMB < GROWTH_TARGET_MB,
      },
      {
        scenario,
        metric: 'V8 heap used / total at end (MB)',
        switchboard: heap ? `${heap.heapUsed} / ${heap.heapTotal}` : 'n/a',
        baseline: null,
        ratio: null,
        target: '',
        met: null,
      },
      {
        scenario,
        metric: 'lost deliveries',
        switchboard: lost,
        baseline: null,
        ratio: null,
        target: '= 0',
        met: lost === 0,
      },
    ];
    return {
      name: scenario,
      status: 'ok',
      rows,
      data: {
        messages,
        fillMs,
        fillRate,
        drainSec: round(drainSec, 1),
        received,
        cpu: cpuUse,
        rss: { peakMB, earlyMB, lateMB, growthMB, samples },
        memoryAtEndMB: heap,
        perSecond,
      },
    };
  } finally {
    await receiver.child.stop(2000);
    data.remove();
  }
}
