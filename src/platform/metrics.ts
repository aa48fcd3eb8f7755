import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per running server (tests start several in one process), holding every
 * Switchboard metric. Modules receive it rather than importing a global.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status_class'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly deliveryAttempts: Counter<'outcome' | 'status_class'>;
  readonly deliveryDuration: Histogram;
  readonly deliveryLatency: Histogram;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
    }
    this.httpRequests = new Counter({
      name: 'switchboard_http_requests_total',
      help: 'HTTP requests answered, by route and status class',
      labelNames: ['method', 'route', 'status_class'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'switchboard_http_request_duration_seconds',
      help: 'Time to answer an HTTP request',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.deliveryAttempts = new Counter({
      name: 'switchboard_delivery_attempts_total',
      help: 'Outbound delivery attempts, by outcome and response status class (or error kind)',
      labelNames: ['outcome', 'status_class'],
      registers: [this.registry],
    });
    this.deliveryDuration = new Histogram({
      name: 'switchboard_delivery_attempt_duration_seconds',
      help: 'Time from sending a webhook to the end of its response',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
      registers: [this.registry],
    });
    this.deliveryLatency = new Histogram({
      name: 'switchboard_delivery_latency_seconds',
      help: 'Time from accepting a message to its first successful delivery (first-try successes)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [this.registry],
    });
  }

  /** A gauge whose value is read when Prometheus scrapes (queue depth, breaker states…). */
  gauge(
    name: string,
    help: string,
    read: () => Promise<number | Record<string, number>>,
    labelName?: string,
  ): void {
    new Gauge({
      name,
      help,
      labelNames: labelName ? [labelName] : [],
      registers: [this.registry],
      async collect() {
        const value = await read();
        if (typeof value === 'number') this.set(value);
        else
          for (const [label, v] of Object.entries(value))
            this.set({ [labelName ?? 'state']: label }, v);
      },
    });
  }
}
