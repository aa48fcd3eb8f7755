import type { Logger } from 'pino';
import type { ServiceContext } from '../../platform/context.js';
import type { Sender } from '../sender.js';
import { AppTransport } from './app.js';
import { schemeOf } from './destination.js';
import { createMailer, EmailTransport, type Mailer } from './email.js';
import { HttpTransport } from './http.js';
import { NatsTransport } from './nats.js';
import { type Delivery, refusedOutcome, type SendResult, type Transport } from './types.js';

export type { Delivery, SendResult, Transport } from './types.js';

/** Every transport of a process, chosen by the endpoint URL's scheme (the one place that does). */
export class Transports {
  private readonly byScheme: ReadonlyMap<string, Transport>;

  constructor(
    private readonly transports: {
      http: Transport;
      nats: Transport;
      email: Transport;
      app: Transport;
    },
  ) {
    this.byScheme = new Map([
      ['http', transports.http],
      ['https', transports.http],
      ['nats', transports.nats],
      ['mailto', transports.email],
      ['app', transports.app],
    ]);
  }

  /** The transport of a URL, or undefined for a scheme no transport carries. */
  forUrl(url: string): Transport | undefined {
    const scheme = schemeOf(url);
    return scheme === undefined ? undefined : this.byScheme.get(scheme);
  }

  async send(delivery: Delivery): Promise<SendResult> {
    const transport = this.forUrl(delivery.target.url);
    if (!transport) {
      const reason = `refused: no transport for the URL scheme of "${delivery.target.url}"`;
      return { ...refusedOutcome(reason), durationMs: 0 };
    }
    return transport.send(delivery);
  }

  /** Closes every transport (drains the NATS connection); errors are logged by each. */
  async close(): Promise<void> {
    await Promise.allSettled(Object.values(this.transports).map((t) => t.close?.()));
  }
}

export interface TransportsOptions {
  ctx: ServiceContext;
  sender: Sender;
  log: Logger;
  /** Overrides the mailer chosen from the configuration (tests). */
  mailer?: Mailer;
}

/** The process's transports, from its configuration. */
export function createTransports({ ctx, sender, log, mailer }: TransportsOptions): Transports {
  const { config } = ctx;
  return new Transports({
    http: new HttpTransport(sender),
    nats: new NatsTransport({ url: config.natsUrl, log }),
    email: new EmailTransport(mailer ?? createMailer(config, log), config.emailFrom),
    app: new AppTransport(ctx),
  });
}
