import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { call, whenReady } from '../lib/ipc.js';
import { CpuMeter, MB, RssSampler, round, spawnNode } from '../lib/proc.js';
import { api, createPostgresDatabase, startSwitchboard, tempDataDir } from '../lib/switchboard.js';
import { type Row, type RunContext, ratio, type ScenarioOutcome } from '../lib/types.js';
import type { InboundLoadArgs, InboundLoadResult } from '../loadgen-inbound.js';

const SECRET = "It's a Secret to Everybody";

export interface InboundFigures {
  rps: number;
  latencyMs: InboundLoadResult['latencyMs'];
  cpuPercent: number;
  cpuSeconds: number;
  rssPeakMB: number;
  load: InboundLoadResult;
  warmup: InboundLoadResult;
  /** Date.now() at the start and end of the measured run. */
  window: { start: number; end: number };
}

/** Warm-up run, then the measured run, against `url`, measuring the server process `pid`. */
async function drive(
  ctx: RunContext,
  url: string,
  pids: number[],
  ackDir?: string,
): Promise<InboundFigures> {
  const { connections, warmupSec, durationSec, bodyBytes } = ctx.settings.inbound;
  const loadgen = spawnNode('inbound load generator', 'bench/loadgen-inbound.ts', [], {
    ipc: true,
  });
  try {
    await whenReady(loadgen);
    const args = (durationSec: number, ackFile?: string): InboundLoadArgs => ({
      url,
      connections,
      durationSec,
      secret: SECRET,
      bodyBytes,
      ackFile,
    });
    const timeout = (sec: number) => (sec + 60) * 1000;
    const warmup = await call<InboundLoadResult>(
      loadgen,
      'run',
      args(warmupSec, ackDir && join(ackDir, 'acked-warmup.txt')),
      timeout(warmupSec),
    );
    const cpu = new CpuMeter(pids);
    const rss = new RssSampler(pids);
    const start = Date.now();
    const load = await call<InboundLoadResult>(
      loadgen,
      'run',
      args(durationSec, ackDir && join(ackDir, 'acked.txt')),
      timeout(durationSec),
    );
    const end = Date.now();
    const cpuUse = cpu.stop();
    const memory = rss.stop();
    return {
      window: { start, end },
      rps: round(load.rps, 0),
      latencyMs: load.latencyMs,
      cpuPercent: cpuUse.cpuPercent,
      cpuSeconds: cpuUse.cpuSeconds,
      rssPeakMB: round(memory.peakBytes / MB, 1),
      load,
      warmup,
    };
  } finally {
    await loadgen.stop(2000);
  }
}

/** The bare node:http server under the same load: measured once per run. */
export function bareBaseline(ctx: RunContext): Promise<InboundFigures> {
  ctx.baselines.bare ??= (async () => {
    ctx.log('inbound baseline: bare node:http server');
    const bare = spawnNode('bare-http baseline', 'bench/baselines/bare-http.ts', [], { ipc: true });
    try {
      const info = await whenReady<{ url: string; pid: number }>(bare);
      const figures = await drive(ctx, `${info.url}/in/bench`, [bare.pid]);
      return figures as unknown as Record<string, unknown>;
    } finally {
      await bare.stop(2000);
    }
  })();
  return ctx.baselines.bare as unknown as Promise<InboundFigures>;
}

/** Ids of stored events (the GitHub delivery ids), read after the server stopped. */
async function storedDeliveryIds(databaseUrl: string): Promise<string[]> {
  const query = 'SELECT provider_event_id AS id FROM inbound_events';
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new Database(databaseUrl.slice('sqlite:'.length), { readonly: true });
    try {
      return (db.prepare(query).all() as { id: string }[]).map((row) => row.id);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<{ id: string }>(query)).rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}

function readIds(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return text === '' ? [] : text.split('\n');
}

export async function runInbound(
  ctx: RunContext,
  backend: 'sqlite' | 'postgres',
): Promise<ScenarioOutcome> {
  const scenario = backend === 'sqlite' ? 'inbound' : 'inbound (pg)';
  const baseline = await bareBaseline(ctx);
  ctx.log(`${scenario}: Switchboard`);
  const data = tempDataDir('inbound');
  const pgDb = backend === 'postgres' ? await createPostgresDatabase() : undefined;
  const databaseUrl = pgDb ? pgDb.url : data.sqliteUrl;
  const ackDir = join(tmpdir(), `switchboard-bench-acks-${process.pid}-${Date.now()}`);
  try {
    const sb = await startSwitchboard({
      nodeOptions: ctx.serverNodeOptions,
      databaseUrl,
      dataDir: data.dir,
      profileDir: ctx.profileDir,
      name: `switchboard(inbound, ${backend})`,
    });
    let figures: InboundFigures;
    try {
      const source = await api<{ ingestUrl: string }>(sb.url, 'POST', '/ingest/api/v1/source', {
        name: 'GitHub bench',
        type: 'github',
        config: { secret: SECRET },
      });
      const ingest = new URL(source.ingestUrl);
      mkdirSync(ackDir, { recursive: true });
      figures = await drive(ctx, `${sb.url}${ingest.pathname}`, [sb.child.pid], ackDir);
      if (ctx.profileDir) {
        ctx.profileWindows.push({
          pid: sb.child.pid,
          label: `${scenario} (measured run)`,
          fromMs: figures.window.start - sb.spawnedAt,
          toMs: figures.window.end - sb.spawnedAt,
        });
      }
    } finally {
      const code = await sb.stop();
      if (code !== 0) ctx.log(`${scenario}: Switchboard exited with ${code}`);
    }
    // Every acknowledged webhook (warm-up and measured) must be stored. Requests still in
    // flight when the load generator stopped may be stored without having been acknowledged.
    const acked = [
      ...readIds(join(ackDir, 'acked-warmup.txt')),
      ...readIds(join(ackDir, 'acked.txt')),
    ];
    const stored = new Set(await storedDeliveryIds(databaseUrl));
    let missing = 0;
    for (const id of acked) if (!stored.has(id)) missing++;
    const checks = {
      acknowledged: acked.length,
      stored: stored.size,
      missing,
      storedNotAcknowledged: stored.size - (acked.length - missing),
    };
    ctx.log(`${scenario}: ${JSON.stringify(checks)}`);
    const rows: Row[] = [
      {
        scenario,
        metric: 'acknowledged req/s',
        switchboard: figures.rps,
        baseline: baseline.rps,
        ratio: ratio(figures.rps, baseline.rps),
        target: '≥ 0.5× bare',
        met: figures.rps >= 0.5 * baseline.rps,
      },
      {
        scenario,
        metric: 'latency p50 (ms)',
        switchboard: figures.latencyMs.p50,
        baseline: baseline.latencyMs.p50,
        ratio: ratio(figures.latencyMs.p50, baseline.latencyMs.p50),
        target: '',
        met: null,
      },
      {
        scenario,
        metric: 'latency p99 (ms)',
        switchboard: figures.latencyMs.p99,
        baseline: baseline.latencyMs.p99,
        ratio: ratio(figures.latencyMs.p99, baseline.latencyMs.p99),
        target: '≤ 2× bare',
        met: figures.latencyMs.p99 <= 2 * baseline.latencyMs.p99,
      },
      {
        scenario,
        metric: 'server CPU (% of 1 core)',
        switchboard: figures.cpuPercent,
        baseline: baseline.cpuPercent,
        ratio: ratio(figures.cpuPercent, baseline.cpuPercent),
        target: '',
        met: null,
      },
      {
        scenario,
        metric: 'server RSS peak (MB)',
        switchboard: figures.rssPeakMB,
        baseline: baseline.rssPeakMB,
        ratio: ratio(figures.rssPeakMB, baseline.rssPeakMB),
        target: '',
        met: null,
      },
      {
        scenario,
        metric: 'non-2xx + errors',
        switchboard: figures.load.non2xx + figures.load.errors + figures.load.timeouts,
        baseline: baseline.load.non2xx + baseline.load.errors + baseline.load.timeouts,
        ratio: null,
        target: '= 0',
        met: figures.load.non2xx + figures.load.errors + figures.load.timeouts === 0,
      },
      {
        scenario,
        metric: `acknowledged but not stored (of ${acked.length})`,
        switchboard: missing,
        baseline: null,
        ratio: null,
        target: '= 0',
        met: missing === 0 && acked.length > 0,
      },
    ];
    return {
      name: scenario,
      status: 'ok',
      rows,
      data: { backend, switchboard: figures, baseline, storage: checks },
    };
  } finally {
    rmSync(ackDir, { recursive: true, force: true });
    await pgDb?.drop().catch(() => {});
    data.remove();
  }
}
