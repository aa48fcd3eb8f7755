/**
 * Fills a Switchboard database with a backlog, with the server NOT running: `count` messages
 * of one application, each with one delivery to `endpointId`, due now. Written through the
 * store's own functions (insertMessage, insertDeliveries — multi-row INSERTs of 500) in large
 * transactions, so the rows are exactly what the API would have written.
 *
 *   backlog-fill.ts '{"databaseUrl":"sqlite:…","appId":"app_…","endpointId":"ep_…","count":1000000}'
 *
 * Prints `progress <n>` lines and a final `done <n> <ms>` line on stdout.
 */
import { type AppId, type EndpointId, newId } from '../src/core/ids.js';
import { newDeliveries } from '../src/outbound/messages.js';
import { type DeliveryRecord, insertDeliveries, TriggerType } from '../src/store/deliveries.js';
import { insertMessage, type MessageRecord } from '../src/store/messages.js';
import { openDatabase } from '../src/store/open.js';

interface Args {
  databaseUrl: string;
  appId: string;
  endpointId: string;
  count: number;
  chunk?: number;
  payloadBytes?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const chunk = args.chunk ?? 10_000;
const pad = 'x'.repeat(Math.max(0, (args.payloadBytes ?? 256) - 120));
const RETENTION_MS = 90 * 24 * 3_600_000;

const db = await openDatabase(args.databaseUrl);
const started = performance.now();
const endpointIds = [args.endpointId as EndpointId];
let written = 0;
let lastReport = started;
while (written < args.count) {
  const n = Math.min(chunk, args.count - written);
  const now = Date.now();
  await db.transaction(async (tx) => {
    const deliveries: DeliveryRecord[] = [];
    for (let i = 0; i < n; i++) {
      const seq = written + i;
      const message: MessageRecord = {
        id: newId('message', now),
        appId: args.appId as AppId,
        eventId: null,
        eventType: 'bench.backlog',
        payload: `{"seq":${seq},"kind":"invoice.paid","data":{"id":"inv_${seq}","amount":4200,"currency":"eur"},"pad":"${pad}"}`,
        channels: null,
        tags: null,
        createdAt: now,
        payloadExpiresAt: now + RETENTION_MS,
      };
      await insertMessage(tx, message);
      deliveries.push(...newDeliveries(message, endpointIds, TriggerType.Scheduled, now, now));
    }
    await insertDeliveries(tx, deliveries);
  });
  written += n;
  if (performance.now() - lastReport > 2000 || written === args.count) {
    lastReport = performance.now();
    process.stdout.write(`progress ${written}\n`);
  }
}
await db.close();
process.stdout.write(`done ${written} ${Math.round(performance.now() - started)}\n`);
