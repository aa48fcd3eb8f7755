import { connect, type NatsConnection, headers as natsHeaders } from 'nats';
import type { Logger } from 'pino';
import { DestinationError, parseDestination } from './destination.js';
import { type NatsFailure, natsAcked, natsFailure } from './outcomes.js';
import {
  correlationId,
  type Delivery,
  refusedOutcome,
  type SendResult,
  type Transport,
  timed,
  unanswered,
} from './types.js';

export interface NatsTransportOptions {
  /** NATS_URL; undefined = not configured (every attempt fails, and is retried). */
  url: string | undefined;
  log: Logger;
  /** How long to wait for the PubAck. */
  timeoutMs?: number;
}

/**
 * `nats:SUBJECT` endpoints: a JetStream publish on the server at NATS_URL. The message id
 * (`Nats-Msg-Id`) is the inbound event's id (the message's id for other messages), so a retry
 * after a lost PubAck, or a replay, is de-duplicated by the stream within its duplicate window.
 *
 * One connection per process, opened at the first publish, reconnecting for ever (publishes
 * during an outage time out and are retried by the engine), drained by {@link close}.
 */
export class NatsTransport implements Transport {
  private connection: Promise<NatsConnection> | undefined;
  private closed = false;
  private readonly timeoutMs: number;

  constructor(private readonly options: NatsTransportOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  send({ target, message }: Delivery): Promise<SendResult> {
    return timed(async () => {
      let subject: string;
      try {
        const destination = parseDestination(target.url);
        if (destination.kind !== 'nats') throw new DestinationError('not a nats: URL');
        subject = destination.subject;
      } catch (error) {
        return refusedOutcome(`invalid NATS endpoint URL: ${(error as Error).message}`);
      }
      if (this.options.url === undefined) {
        return unanswered(
          'network-error',
          `NATS_URL is not set: cannot publish to "${subject}" (set NATS_URL; the attempt is retried on the schedule)`,
        );
      }
      if (this.closed) return unanswered('network-error', 'NATS connection is shutting down');
      try {
        const nc = await this.connect();
        const h = natsHeaders();
        for (const [name, value] of Object.entries(target.headers)) h.set(name, value);
        const id = correlationId(message);
        h.set('Correlation-Id', id);
        h.set('Switchboard-Message-Id', message.id);
        h.set('Switchboard-Event-Type', message.eventType);
        const ack = await nc.jetstream().publish(subject, Buffer.from(message.payload, 'utf8'), {
          msgID: id,
          headers: h,
          timeout: this.timeoutMs,
        });
        return natsAcked(ack);
      } catch (error) {
        return natsFailure(subject, error as NatsFailure);
      }
    });
  }

  private connect(): Promise<NatsConnection> {
    if (this.connection) return this.connection;
    const { log } = this.options;
    const opening = connect({
      servers: this.options.url,
      name: 'switchboard',
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      timeout: 5_000,
    }).then(
      (nc) => {
        log.info({ server: nc.getServer() }, 'NATS connected');
        void (async () => {
          for await (const status of nc.status()) {
            if (status.type === 'disconnect' || status.type === 'error') {
              log.warn({ status: status.type, data: String(status.data) }, 'NATS connection lost');
            } else if (status.type === 'reconnect') {
              log.info({ server: String(status.data) }, 'NATS reconnected');
            }
          }
        })().catch(() => {});
        // A connection closed for good (not by us) is replaced at the next publish.
        void nc.closed().then((err) => {
          if (err) log.warn({ err }, 'NATS connection closed');
          if (this.connection === opening) this.connection = undefined;
        });
        return nc;
      },
      (error: unknown) => {
        // Not cached: the next attempt tries again (the engine's schedule is the backoff).
        if (this.connection === opening) this.connection = undefined;
        throw error;
      },
    );
    this.connection = opening;
    return opening;
  }

  /** Drains the connection (pending publishes finish), if one was opened. */
  async close(): Promise<void> {
    this.closed = true;
    const opening = this.connection;
    this.connection = undefined;
    if (!opening) return;
    try {
      const nc = await opening;
      if (!nc.isClosed()) await nc.drain();
    } catch (error) {
      this.options.log.warn({ err: error }, 'NATS drain failed');
    }
  }
}
