import type { Child } from './proc.js';

/**
 * A tiny request/response protocol over the IPC channel of the bench's own children
 * (receiver, load generators, baselines): the child announces `{type:'ready', info}`, the
 * parent sends `{type:'call', id, cmd, args}`, the child answers `{type:'reply', id, …}`.
 */
interface CallMessage {
  type: 'call';
  id: number;
  cmd: string;
  args: unknown;
}
interface ReplyMessage {
  type: 'reply';
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
interface ReadyMessage {
  type: 'ready';
  info: unknown;
}

export type Handlers = Record<string, (args: never) => unknown>;

/** In a child: answer calls with `handlers`, then say ready with `info`. */
export function serveIpc(handlers: Handlers, info: unknown = {}): void {
  if (!process.send) throw new Error('this script is run by bench/run.ts (no IPC channel)');
  process.on('message', (raw: unknown) => {
    const message = raw as CallMessage;
    if (message?.type !== 'call') return;
    const handler = handlers[message.cmd] as ((args: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${message.cmd}`);
        return handler(message.args);
      })
      .then(
        (result) => reply({ type: 'reply', id: message.id, ok: true, result }),
        (error: unknown) =>
          reply({
            type: 'reply',
            id: message.id,
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          }),
      );
  });
  // The parent going away (Ctrl-C, crash) ends us too.
  process.on('disconnect', () => process.exit(0));
  reply({ type: 'ready', info });
}

function reply(message: ReplyMessage | ReadyMessage): void {
  process.send?.(message);
}

/** In the parent: the child's `ready` info, or a clear error if it dies or is late. */
export function whenReady<T>(child: Child, ms = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${child.name} not ready after ${ms / 1000} s:\n${child.output()}`));
    }, ms);
    const onMessage = (raw: unknown) => {
      const message = raw as ReadyMessage;
      if (message?.type !== 'ready') return;
      clearTimeout(timer);
      child.proc.off('message', onMessage);
      resolve(message.info as T);
    };
    child.proc.on('message', onMessage);
    child.exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${child.name} exited (${code}) before it was ready: ${lastLine(child.output())}\n${child.output()}`,
        ),
      );
    });
  });
}

/** The last non-empty line a child wrote: usually the reason it failed. */
export function lastLine(output: string): string {
  const lines = output.trim().split('\n');
  return lines.at(-1)?.trim() ?? '';
}

let nextId = 1;

/** In the parent: calls `cmd` in the child; rejects on the child's error, exit or timeout. */
export function call<T>(child: Child, cmd: string, args: unknown = {}, ms = 60_000): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(timer);
      child.proc.off('message', onMessage);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`${child.name}: '${cmd}' timed out after ${Math.round(ms / 1000)} s`));
    }, ms);
    const onMessage = (raw: unknown) => {
      const message = raw as ReplyMessage;
      if (message?.type !== 'reply' || message.id !== id) return;
      finish();
      if (message.ok) resolve(message.result as T);
      else reject(new Error(`${child.name}: ${cmd} failed: ${message.error}`));
    };
    child.proc.on('message', onMessage);
    child.exited.then((code) => {
      if (done) return;
      finish();
      reject(new Error(`${child.name} exited (${code}) during '${cmd}':\n${child.output()}`));
    });
    child.proc.send({ type: 'call', id, cmd, args } satisfies CallMessage);
  });
}
