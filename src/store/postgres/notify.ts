import pg from 'pg';
import type { Sql } from '../sql.js';

/**
 * The channel on which "new deliveries are due" is announced between processes that share one
 * PostgreSQL database (NOTIFY is scoped to the database, so separate installations never meet).
 */
export const QUEUE_CHANNEL = 'switchboard_queue';

export interface Listener {
  /** Stops listening, cancels any pending reconnect and closes the connection. */
  close(): Promise<void>;
}

/** Enough of a logger (pino fits) to say when the connection is lost and regained. */
export interface ListenLogger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
}

export interface ListenOptions {
  /** First delay before reconnecting, ms; doubled per failed try (with jitter). Default 100. */
  minBackoffMs?: number;
  /** Longest delay between reconnection tries, ms. Default 5 000. */
  maxBackoffMs?: number;
  /**
   * How often an idle connection is checked with `SELECT 1`, ms. A connection that silently
   * died (a NAT or firewall dropped it) would otherwise go unnoticed, and notifications with
   * it. Default 30 000; 0 disables.
   */
  heartbeatMs?: number;
  /** A heartbeat not answered within this long counts as a lost connection. Default 10 000. */
  heartbeatTimeoutMs?: number;
  log?: ListenLogger;
}

/**
 * LISTENs on `channel` over a dedicated connection (a pooled one cannot hold a LISTEN) and calls
 * `onNotify` for each notification. The connection is re-established with exponential backoff
 * whenever it drops; nothing here ever throws or rejects into the caller, so a database restart
 * cannot crash the process.
 *
 * Notifications sent while the connection was down are lost, so `onNotify` is also called after
 * every successful (re)connection: the listener's job is only to say "look now", and the caller
 * (the delivery loop) finds the work in the table itself.
 */
export function listen(
  connectionString: string,
  channel: string,
  onNotify: () => void,
  options: ListenOptions = {},
): Listener {
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = Math.max(minBackoff, options.maxBackoffMs ?? 5_000);
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 10_000;
  const log = options.log;
  const statement = `LISTEN ${pg.escapeIdentifier(channel)}`;

  let closed = false;
  let client: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  const fire = () => {
    try {
      onNotify();
    } catch (error) {
      log?.warn({ err: error }, 'queue notification handler failed');
    }
  };

  const connect = async (): Promise<void> => {
    retryTimer = undefined;
    if (closed) return;
    const current = new pg.Client({
      connectionString,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    client = current;
    let heartbeat: NodeJS.Timeout | undefined;
    let lost = false;

    const onLost = (error?: unknown) => {
      if (lost) return;
      lost = true;
      clearInterval(heartbeat);
      current.removeAllListeners('notification');
      current.end().catch(() => {});
      if (client === current) client = undefined;
      if (closed) return;
      failures++;
      const base = Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures - 1, 20));
      const delay = Math.round(base * (0.5 + Math.random() / 2));
      log?.warn(
        { err: error, channel, retryInMs: delay },
        'queue notification connection lost; reconnecting',
      );
      retryTimer = setTimeout(() => void connect(), delay);
      retryTimer.unref();
    };

    // An 'error' on a client without a listener would be thrown: it must never reach the process.
    current.on('error', onLost);
    current.on('end', () => onLost(new Error('connection ended')));
    current.on('notification', (message) => {
      if (message.channel === channel) fire();
    });
    try {
      await current.connect();
      await current.query(statement);
    } catch (error) {
      onLost(error);
      return;
    }
    if (lost || closed) return;
    if (failures > 0) log?.info({ channel }, 'queue notification connection restored');
    failures = 0;
    if (heartbeatMs > 0) {
      heartbeat = setInterval(() => {
        const deadline = setTimeout(
          () => onLost(new Error(`no answer to a heartbeat within ${heartbeatTimeoutMs} ms`)),
          heartbeatTimeoutMs,
        );
        deadline.unref();
        current.query('SELECT 1').then(
          () => clearTimeout(deadline),
          (error: unknown) => {
            clearTimeout(deadline);
            onLost(error);
          },
        );
      }, heartbeatMs);
      heartbeat.unref();
    }
    // Whatever was announced while we were not listening is in the table: look now.
    fire();
  };

  void connect();

  return {
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      const current = client;
      client = undefined;
      if (current) {
        current.removeAllListeners('notification');
        await current.end().catch(() => {});
      }
    },
  };
}

/**
 * Announces on `channel` to every listening process (and to this one's own listener). Outside a
 * transaction it is delivered at once; inside one, when it commits — so call it after the rows
 * it announces are committed, or inside their transaction.
 */
export async function notify(db: Sql, channel: string): Promise<void> {
  await db.run("SELECT pg_notify(?, '')", [channel]);
}
