import type { FastifyInstance } from 'fastify';
import { buildApi } from './api/server.js';
import { systemClock } from './core/time.js';
import { Authenticator, bootstrapAdminKey } from './platform/auth.js';
import type { Config } from './platform/config.js';
import type { ServiceContext } from './platform/context.js';
import { Metrics } from './platform/metrics.js';
import { loadOrCreateMasterKey, SecretBox } from './platform/secret-box.js';
import { openDatabase } from './store/open.js';

export interface Switchboard {
  ctx: ServiceContext;
  http: FastifyInstance;
  /** `http://host:port` the server listens on. */
  url: string;
  /** Printed once by the caller: the admin key created at first start, if one was. */
  createdAdminToken: string | undefined;
  close(): Promise<void>;
}

/**
 * The composition root: opens the store, builds the services and starts what the role asks
 * for. `main.ts` calls it for the real process; tests call it to get a server on a free port.
 */
export async function startSwitchboard(
  config: Config,
  options: { logger?: boolean } = {},
): Promise<Switchboard> {
  const db = await openDatabase(config.databaseUrl);
  const box = new SecretBox(loadOrCreateMasterKey(config.masterKey, config.dataDir));
  const ctx: ServiceContext = { db, box, clock: systemClock, config };
  const metrics = new Metrics();
  const createdAdminToken = await bootstrapAdminKey(db, ctx.clock, config.adminToken);
  const auth = new Authenticator(db, ctx.clock, config.adminToken);
  const http = await buildApi({ ctx, auth, metrics, logger: options.logger });
  let address: string;
  try {
    address = await http.listen({ port: config.port, host: config.host });
  } catch (error) {
    await db.close();
    throw error;
  }
  const port = new URL(address).port;
  let closing: Promise<void> | undefined;
  return {
    ctx,
    http,
    url: `http://127.0.0.1:${port}`,
    createdAdminToken,
    close() {
      // Stop accepting requests, let in-flight ones finish, then flush and close the store.
      closing ??= http.close().then(() => db.close());
      return closing;
    },
  };
}
