import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, spawnChild } from './proc.js';

export interface BaselineRedis {
  url: string;
  /** Set when the harness started this Redis for the run: stops it. */
  stop?: () => Promise<void>;
}

/** Whether a Redis answers PING at `url` within a second. */
export function pingRedis(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * The Redis the BullMQ baseline runs on: the configured one when it answers; otherwise, when
 * the default address was not overridden and `redis-server` is installed, a private one on a
 * free port for this run (nothing kept on disk), stopped afterwards. On a fresh machine,
 * `npm run bench:setup` installs `redis-server` (Debian's package).
 */
export async function baselineRedis(url: string, overridden: boolean): Promise<BaselineRedis> {
  if (await pingRedis(url)) return { url };
  if (overridden) {
    throw new Error(
      `no Redis answers at ${url} (SWITCHBOARD_BENCH_REDIS_URL): start it there, or unset the variable to let the harness start a private one`,
    );
  }
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      `no Redis answers at ${url} and redis-server is not installed: run \`npm run bench:setup\` (Debian/Ubuntu: apt-get install redis-server)`,
    );
  }
  const port = await freePort();
  const child = spawnChild('redis-server', 'redis-server', [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  const privateUrl = `redis://127.0.0.1:${port}`;
  for (let waited = 0; !(await pingRedis(privateUrl)); waited += 50) {
    if (child.proc.exitCode !== null || waited > 10_000) {
      await child.stop(1_000);
      throw new Error(`redis-server did not start on port ${port}: ${child.output().slice(-500)}`);
    }
    await sleep(50);
  }
  return {
    url: privateUrl,
    stop: async () => {
      await child.stop(5_000);
    },
  };
}
