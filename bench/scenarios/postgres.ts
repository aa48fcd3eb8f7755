import { probePostgres } from '../lib/switchboard.js';
import type { RunContext, ScenarioOutcome } from '../lib/types.js';
import { runInbound } from './inbound.js';
import { runOutbound } from './outbound.js';

/**
 * The inbound and outbound scenarios on PostgreSQL (a fresh database per run), outbound with
 * one `api` process and two `worker` processes. Skipped, with the reason, when PostgreSQL is
 * not reachable.
 */
export async function runPostgres(ctx: RunContext): Promise<ScenarioOutcome[]> {
  const unreachable = await probePostgres();
  if (unreachable) {
    ctx.log(`postgres: skipped: ${unreachable}`);
    return [{ name: 'postgres', status: 'skipped', reason: unreachable, rows: [], data: {} }];
  }
  const outcomes: ScenarioOutcome[] = [];
  for (const [name, fn] of [
    ['inbound (pg)', () => runInbound(ctx, 'postgres')],
    ['outbound (pg)', () => runOutbound(ctx, 'postgres', 2)],
  ] as const) {
    try {
      outcomes.push(await fn());
    } catch (error) {
      ctx.log(`${name} FAILED: ${(error as Error).stack ?? error}`);
      outcomes.push({
        name,
        status: 'failed',
        reason: (error as Error).message,
        rows: [],
        data: {},
      });
    }
  }
  return outcomes;
}
