/**
 * The outbound hot path's SQL alone, on a file database through the real driver and store
 * functions: groups of `--group` message creates (one message and four deliveries each, as
 * the emit API writes them), plus, in the same group commit, the success batch of the previous
 * group's deliveries (their completion and attempt rows, as the dispatcher writes them).
 * Prints the event loop's busy time and the process's CPU per message. Used for the seventh
 * round's index and page-size findings (docs/benchmarks.md); not part of `npm run bench`.
 *
 *   node --import tsx bench/sql-hot-path.ts [--group 5] [--messages 20000] [--variant base]
 *
 * Variants (combinable with `+`): `base`; `no-endpoint-indexes` (drops the three indexes that
 * lead with the endpoint id); `no-deliveries-endpoint`, `no-attempts-endpoint`,
 * `no-open-index` (one of them); `one-endpoint` (all four deliveries to the same endpoint);
 * `page-<bytes>` (a database created with that page size); `merged-inserts` (a group's
 * messages and deliveries written by one item with multi-row INSERTs, as a batch create does).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import {
  type AppId,
  type AttemptId,
  type DeliveryId,
  type EndpointId,
  type MessageId,
  newId,
} from '../src/core/ids.js';
import { type AttemptRecord, insertAttempts } from '../src/store/attempts.js';
import {
  completeDeliveries,
  type DeliveryRecord,
  insertDeliveries,
  MessageStatus,
  TriggerType,
} from '../src/store/deliveries.js';
import { insertMessage, insertMessages, type MessageRecord } from '../src/store/messages.js';
import { openDatabase } from '../src/store/open.js';

const { values } = parseArgs({
  options: {
    group: { type: 'string', default: '5' },
    messages: { type: 'string', default: '20000' },
    variant: { type: 'string', default: 'base' },
  },
});
const group = Number(values.group);
const total = Number(values.messages);
const variant = new Set(values.variant.split('+'));
const WORKER = 'wk_bench';
const APP = 'app_bench' as AppId;

const dir = mkdtempSync(join(tmpdir(), 'sb-sql-hot-path-'));
const file = join(dir, 'db.sqlite');
const pageSize = [...variant].find((name) => name.startsWith('page-'))?.slice('page-'.length);
if (pageSize !== undefined) {
  // The page size is fixed when the first table is created.
  const raw = new BetterSqlite3(file);
  raw.pragma(`page_size = ${Number(pageSize)}`);
  raw.exec('CREATE TABLE page_size_set (x)');
  raw.close();
}
const db = await openDatabase(`sqlite:${file}`);
await db.run(
  "INSERT INTO applications (id, name, metadata, created_at, updated_at) VALUES (?, 'bench', '{}', 0, 0)",
  [APP],
);
const endpoints: EndpointId[] = [];
for (let i = 0; i < 4; i++) {
  const id = newId('endpoint') as EndpointId;
  endpoints.push(id);
  await db.run(
    "INSERT INTO endpoints (id, app_id, url, description, metadata, headers, secret, created_at, updated_at) VALUES (?, ?, 'http://127.0.0.1/hook', '', '{}', '{}', 'sealed', 0, 0)",
    [id, APP],
  );
}
const drops: Record<string, string[]> = {
  'no-endpoint-indexes': ['deliveries_endpoint', 'deliveries_endpoint_open', 'attempts_endpoint'],
  'no-deliveries-endpoint': ['deliveries_endpoint'],
  'no-attempts-endpoint': ['attempts_endpoint'],
  'no-open-index': ['deliveries_endpoint_open'],
};
for (const [name, indexes] of Object.entries(drops)) {
  if (variant.has(name)) await db.exec(indexes.map((index) => `DROP INDEX ${index};`).join(' '));
}
const targets = variant.has('one-endpoint') ? endpoints.map(() => endpoints[0]) : endpoints;
const payload = JSON.stringify({ kind: 'invoice.paid', pad: 'x'.repeat(450) });

function created(now: number): { message: MessageRecord; deliveries: DeliveryRecord[] } {
  const message: MessageRecord = {
    id: newId('message', now) as MessageId,
    appId: APP,
    eventId: null,
    eventType: 'bench.event',
    payload,
    channels: null,
    tags: null,
    createdAt: now,
    payloadExpiresAt: now + 86_400_000,
  };
  const deliveries = targets.map(
    (endpointId): DeliveryRecord => ({
      id: newId('delivery', now) as DeliveryId,
      msgId: message.id,
      appId: APP,
      endpointId,
      status: MessageStatus.Pending,
      triggerType: TriggerType.Scheduled,
      attemptCount: 0,
      nextAttemptAt: now + 60_000,
      leaseUntil: now + 60_000,
      leasedBy: WORKER,
      createdAt: now,
      updatedAt: now,
    }),
  );
  return { message, deliveries };
}

function attemptOf(delivery: DeliveryRecord, now: number): AttemptRecord {
  return {
    id: newId('attempt', now) as AttemptId,
    msgId: delivery.msgId,
    endpointId: delivery.endpointId,
    appId: delivery.appId,
    deliveryId: delivery.id,
    url: 'http://127.0.0.1:40000/hook?ep=0',
    response: '{}',
    responseStatusCode: 200,
    responseDurationMs: 1,
    status: MessageStatus.Success,
    triggerType: TriggerType.Scheduled,
    error: null,
    createdAt: now,
  };
}

let previous: DeliveryRecord[] = [];
const elu = performance.eventLoopUtilization();
const cpu = process.cpuUsage();
const started = performance.now();
for (let done = 0; done < total; done += group) {
  const now = Date.now();
  const writes: Promise<unknown>[] = [];
  const current: DeliveryRecord[] = [];
  if (variant.has('merged-inserts')) {
    // What a coalescing of concurrent creates would write: one item, multi-row statements.
    const messages: MessageRecord[] = [];
    for (let i = 0; i < group; i++) {
      const { message, deliveries } = created(now);
      messages.push(message);
      current.push(...deliveries);
    }
    writes.push(
      db.batch(async (tx) => {
        await insertMessages(tx, messages);
        await insertDeliveries(tx, current);
      }),
    );
  } else {
    for (let i = 0; i < group; i++) {
      const { message, deliveries } = created(now);
      current.push(...deliveries);
      writes.push(
        db.batch(async (tx) => {
          await insertMessage(tx, message);
          await insertDeliveries(tx, deliveries);
        }),
      );
    }
  }
  const succeeded = previous;
  if (succeeded.length > 0) {
    writes.push(
      db.batch(async (tx) => {
        await completeDeliveries(
          tx,
          succeeded.map((delivery) => delivery.id),
          now,
          WORKER,
        );
        await insertAttempts(
          tx,
          succeeded.map((delivery) => attemptOf(delivery, now)),
        );
      }),
    );
  }
  previous = current;
  await Promise.all(writes);
}
const seconds = (performance.now() - started) / 1000;
const busy = performance.eventLoopUtilization(elu);
const used = process.cpuUsage(cpu);
process.stdout.write(
  `${JSON.stringify({
    variant: values.variant,
    group,
    messages: total,
    messagesPerSec: Math.round(total / seconds),
    eventLoopUsPerMessage: Math.round((busy.active * 1000) / total),
    cpuUsPerMessage: Math.round((used.user + used.system) / total),
  })}\n`,
);
await db.close();
rmSync(dir, { recursive: true, force: true });
