import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApi } from './api/server.js';
import { systemClock } from './core/time.js';
import { applyConfigFile, describeSummary } from './declarative/apply.js';
import { parseConfigFile } from './declarative/config-file.js';
import { Dispatcher, type DispatcherOptions } from './outbound/dispatcher.js';
import { OperationalEvents } from './outbound/operational-events.js';
import { type Sender, WebhookSender } from './outbound/sender.js';
import { ThreadedSender } from './outbound/sender-thread.js';
import { parseAllowedNetworks } from './outbound/ssrf.js';
import type { Mailer } from './outbound/transports/email.js';
import { createTransports, type Transports } from './outbound/transports/index.js';
import { Authenticator, bootstrapAdminKey } from './platform/auth.js';
import type { Config } from './platform/config.js';
import type { ServiceContext } from './platform/context.js';
import { loggerOptions } from './platform/logger.js';
import { Metrics } from './platform/metrics.js';
import { QueueSignal } from './platform/queue-signal.js';
import { loadOrCreateMasterKey, SecretBox } from './platform/secret-box.js';
import { queueStats } from './store/deliveries.js';
import { openDatabase } from './store/open.js';
import { type Listener, listen, notify, QUEUE_CHANNEL } from './store/postgres/notify.js';

export const VERSION = '0.1.0';

export interface Switchboard {
  ctx: ServiceContext;
  http: FastifyInstance;
  dispatcher: Dispatcher | undefined;
  /** `http://host:port` the server listens on. */
  url: string;
  /** Printed once by the caller: the admin key created at first start, if one was. */
  createdAdminToken: string | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: boolean;
  dispatcher?: DispatcherOptions;
  /** Injected DNS for SSRF tests (e.g. a rebinding resolver). */
  lookup?: ConstructorParameters<typeof WebhookSender>[0]['lookup'];
  /** Replaces the mailer chosen from the configuration (SMTP, Postmark or logging). */
  mailer?: Mailer;
}

/**
 * The composition root: opens the store, builds the services and starts what the role asks
 * for. `main.ts` calls it for the real process; tests call it to get a server on a free port.
 */
export async function startSwitchboard(
  config: Config,
  options: StartOptions = {},
): Promise<Switchboard> {
  const log = pino(
    options.logger === false
      ? { level: 'silent' }
      : (loggerOptions(config.logLevel) as pino.LoggerOptions),
  );
  const allowList = parseAllowedNetworks(config.allowedNetworks);
  // SWITCHBOARD_CONFIG is read and checked before anything opens (a bad file stops the start),
  // and applied below, before the server listens, by the roles that serve the API.
  const declared =
    config.configFile && config.role !== 'worker' ? parseConfigFile(config.configFile) : undefined;
  const db = await openDatabase(config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    // PostgreSQL: a delivery-only process keeps one group transaction at a time (see the driver).
    groupTransactions: config.role === 'worker' ? 1 : undefined,
  });
  const box = new SecretBox(loadOrCreateMasterKey(config.masterKey, config.dataDir));
  const queue = new QueueSignal();
  if (db.dialect === 'postgres') {
    // Deliveries queued here wake the workers of every process on this database (LISTEN below).
    queue.relayTo(() => {
      notify(db, QUEUE_CHANNEL).catch((error: unknown) => {
        log.warn({ err: error }, 'queue NOTIFY failed; workers will find the work by polling');
      });
    });
  }
  const ctx: ServiceContext = { db, box, clock: systemClock, config, log, queue };
  const metrics = new Metrics();
  const operational = new OperationalEvents(ctx, () => queue.notify());
  const createdAdminToken = await bootstrapAdminKey(db, ctx.clock, config.adminToken);
  const auth = new Authenticator(db, ctx.clock, config.adminToken);

  let dispatcher: Dispatcher | undefined;
  let transports: Transports | undefined;
  if (config.role !== 'api') {
    const userAgent = `Switchboard/${VERSION}`;
    // An injected resolver (tests) is a function of this thread: it cannot cross to another.
    const inProcess = () => new WebhookSender({ allowList, userAgent, lookup: options.lookup });
    const sender: Sender =
      config.senderThread && options.lookup === undefined
        ? new ThreadedSender(
            { allowedNetworks: config.allowedNetworks, userAgent },
            inProcess,
            (error, fellBack) =>
              log.error(
                { err: error },
                fellBack
                  ? 'sender thread could not start; webhooks are sent from the event loop'
                  : 'sender thread failed; a new one starts at the next delivery',
              ),
          )
        : inProcess();
    // http(s), nats:, mailto: and app: endpoints; the NATS connection opens at first use.
    transports = createTransports({ ctx, sender, log, mailer: options.mailer });
    dispatcher = new Dispatcher(ctx, transports, queue, metrics, operational, {
      leaseMs: config.leaseMs,
      idlePollMs: config.idlePollMs,
      disableAfterFailures: config.disableAfterFailures,
      ...options.dispatcher,
    });
    const running = dispatcher;
    ctx.handoff = dispatcher;
    metrics.gauge(
      'switchboard_endpoint_breakers',
      'Per-endpoint circuit breakers of this worker, by state',
      async () => running.breakerCounts(),
      'state',
    );
  }
  metrics.gauge(
    'switchboard_delivery_queue_depth',
    'Deliveries due now',
    async () => (await queueStats(db, ctx.clock())).due,
  );
  metrics.gauge(
    'switchboard_delivery_oldest_due_age_seconds',
    'Age of the oldest delivery that is due and not being sent',
    async () => (await queueStats(db, ctx.clock())).oldestDueAgeMs / 1000,
  );

  // A process that delivers must keep its queue moving: readiness fails when the oldest due
  // delivery has waited longer than a few leases (workers stuck, or far too few of them).
  const stuckAfterMs = Math.max(5 * 60_000, 3 * config.leaseMs);
  const readinessChecks = dispatcher
    ? [
        async () => {
          const { oldestDueAgeMs } = await queueStats(db, ctx.clock());
          if (oldestDueAgeMs > stuckAfterMs) {
            throw new Error(
              `oldest due delivery has waited ${Math.round(oldestDueAgeMs / 1000)} s`,
            );
          }
        },
      ]
    : [];
  const http = await buildApi({
    ctx,
    auth,
    metrics,
    operational,
    logger: log,
    readinessChecks,
    // SWITCHBOARD_ROLE=worker delivers only: it serves probes and metrics, not the API.
    managementApi: config.role !== 'worker',
  });
  let address: string;
  try {
    if (declared) {
      const summary = await applyConfigFile(ctx, declared);
      log.info({ file: declared.file }, `configuration file applied: ${describeSummary(summary)}`);
    }
    address = await http.listen({ port: config.port, host: config.host });
  } catch (error) {
    await db.close();
    throw error;
  }
  let listener: Listener | undefined;
  if (dispatcher && db.dialect === 'postgres') {
    listener = listen(config.databaseUrl, QUEUE_CHANNEL, () => queue.wakeLocal(), { log });
  }
  if (dispatcher) {
    dispatcher.start();
    // Says which process holds which claims (`deliveries.leased_by`).
    log.info({ worker: dispatcher.workerId, role: config.role }, 'delivery worker started');
  }
  const port = new URL(address).port;
  let closing: Promise<void> | undefined;
  return {
    ctx,
    http,
    dispatcher,
    url: `http://127.0.0.1:${port}`,
    createdAdminToken,
    close() {
      // Stop taking work, let what is in flight finish, then flush and close the store.
      closing ??= (async () => {
        await http.close();
        await dispatcher?.stop();
        await listener?.close();
        // Closes the HTTP pools and drains the NATS connection (publishes in flight finish).
        await transports?.close();
        await db.close();
      })();
      return closing;
    },
  };
}
