import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/lib/ → ../..). Children run with it as their cwd. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every child we started, so that none outlives the harness (exit, Ctrl-C, crash). */
const children = new Set<ChildProcess>();
let hooked = false;
let interruptedBy: NodeJS.Signals | undefined;

/** The signal that interrupted the run (Ctrl-C), if one did: run no further scenarios. */
export function interrupted(): NodeJS.Signals | undefined {
  return interruptedBy;
}

function killAll(signal: NodeJS.Signals): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => killAll('SIGKILL'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interruptedBy) process.exit(130); // a second Ctrl-C: leave now (exit kills children)
      interruptedBy = signal;
      process.stderr.write(`\nbench: ${signal}, stopping ${children.size} child process(es)\n`);
      killAll('SIGTERM');
      // The current scenario fails, the table is printed; if that takes too long, leave.
      setTimeout(() => process.exit(130), 10_000).unref();
    });
  }
}

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** Everything the child wrote (stdout and stderr interleaved, capped). */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  /** Extra node flags before `--import tsx` (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
  /** Open an IPC channel (for the bench's own children). */
  ipc?: boolean;
  /** Echo the child's stderr to ours as it arrives. */
  echo?: boolean;
}

const OUTPUT_CAP = 64 * 1024;

/** `node [flags] --import tsx <script> [args]` as a child process of its own. */
export function spawnNode(
  name: string,
  script: string,
  args: string[] = [],
  options: SpawnOptions = {},
): Child {
  return spawnChild(
    name,
    process.execPath,
    [...(options.nodeFlags ?? []), '--import', 'tsx', script, ...args],
    options,
  );
}

/** Any program as a child process of the harness: stopped with it, output kept. */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  options: Omit<SpawnOptions, 'nodeFlags'> = {},
): Child {
  hookExit();
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env } as NodeJS.ProcessEnv,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${name}`);
  children.add(proc);
  let out = '';
  const append = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > OUTPUT_CAP) out = out.slice(-OUTPUT_CAP / 2);
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', (chunk: Buffer) => {
    append(chunk);
    if (options.echo) process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code) => {
      children.delete(proc);
      resolve(code);
    });
  });
  const pid = proc.pid;
  return {
    name,
    proc,
    pid,
    output: () => out,
    exited,
    async stop(graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Rejects with `what` after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${Math.round(ms / 1000)} s: ${what}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `url` until it answers below 500, or fails when the child exits or `ms` passes. Used
 * for Switchboard, which logs "Server listening at" only at LOG_LEVEL=info (the bench runs it at
 * warn so that request logging does not distort the figures), so the harness picks the port.
 */
export async function waitForHttp(child: Child, url: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  let exited = false;
  child.exited.then(() => {
    exited = true;
  });
  let last = '';
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`${child.name} exited before it answered ${url}:\n${child.output()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status < 500) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(50);
  }
  throw new Error(
    `${child.name} did not answer ${url} within ${ms / 1000} s (${last}):\n${child.output()}`,
  );
}

// ---------------------------------------------------------------------------------------------
// /proc sampling: CPU time and RSS of any child, without its cooperation.

const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux (x86-64 and arm64)

/** User + system CPU seconds the process has used so far (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Resident set size in bytes (0 when the process is gone). */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples RSS every `everyMs` until stopped: peak, last and the series. */
export class RssSampler {
  readonly samples: { t: number; rss: number }[] = [];
  private timer: NodeJS.Timeout;
  private readonly started = Date.now();

  constructor(
    private readonly pids: number[],
    everyMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    let total = 0;
    for (const pid of this.pids) total += rssBytes(pid);
    if (total > 0) this.samples.push({ t: Date.now() - this.started, rss: total });
  }

  stop(): { peakBytes: number; lastBytes: number } {
    clearInterval(this.timer);
    this.sample();
    let peak = 0;
    for (const s of this.samples) peak = Math.max(peak, s.rss);
    return { peakBytes: peak, lastBytes: this.samples.at(-1)?.rss ?? 0 };
  }
}

/** CPU used by a set of processes over an interval, as seconds and % of one core. */
export class CpuMeter {
  private readonly startCpu: number;
  private readonly startWall = performance.now();

  constructor(private readonly pids: number[]) {
    this.startCpu = this.total();
  }

  private total(): number {
    let sum = 0;
    for (const pid of this.pids) sum += cpuSeconds(pid);
    return sum;
  }

  stop(): { cpuSeconds: number; cpuPercent: number } {
    const cpu = this.total() - this.startCpu;
    const wall = (performance.now() - this.startWall) / 1000;
    return { cpuSeconds: round(cpu, 2), cpuPercent: round((100 * cpu) / wall, 1) };
  }
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const MB = 1024 * 1024;
