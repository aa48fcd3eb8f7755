/**
 * End-to-end smoke test of the Gumroad licences example, on this machine only:
 *
 *   node --import tsx examples/gumroad-licences/smoke.ts      (npm run example:gumroad)
 *
 * Starts a local SMTP server (smtp-server), the licence service (receiver.ts) and Switchboard
 * itself (src/main.ts, with switchboard.yaml and a temporary data directory), then plays
 * Gumroad: a wrong URL, a sale, the same sale again, an unknown product, a sale while the mail
 * server refuses mail. Prints PASS/FAIL per check and exits 1 when any check failed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const work = mkdtempSync(join(tmpdir(), 'gumroad-licences-'));

const ingestToken = randomBytes(32).toString('base64url');
const receiverSecret = `whsec_${randomBytes(32).toString('base64')}`;
const adminToken = `smoke_${randomBytes(12).toString('hex')}`;

// --- what happened, for the summary ---

const results: { name: string; ok: boolean; detail?: string }[] = [];
function check(name: string, ok: boolean, detail?: string): void {
  results.push({ name, ok, detail });
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${ok || !detail ? '' : `\n      ${detail}`}`);
}

async function until<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined || Date.now() > deadline) return value;
    await sleep(100);
  }
}

// --- a local mail server that keeps what it receives (or refuses it, on demand) ---

interface Mail {
  to: string[];
  text: string;
}
const mails: Mail[] = [];
let refuseMail = false;
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  onRcptTo(_address, _session, callback) {
    if (!refuseMail) return callback();
    const error = new Error('mailbox unavailable (refused by the smoke test)') as Error & {
      responseCode: number;
    };
    error.responseCode = 550;
    callback(error);
  },
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      mails.push({
        to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
        text: Buffer.concat(chunks).toString('utf8'),
      });
      callback();
    });
  },
});

// --- child processes ---

const children: ChildProcess[] = [];
const logs = new Map<string, string>();

/** Spawns `node --import tsx script` and resolves with the first match of `ready` in stdout. */
async function startChild(
  name: string,
  script: string,
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray; log: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  logs.set(name, '');
  const append = (chunk: Buffer) => logs.set(name, (logs.get(name) ?? '') + chunk.toString());
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = once(child, 'exit');
  const match = await Promise.race([
    until(async () => ready.exec(logs.get(name) ?? '') ?? undefined, 30_000),
    exited.then(() => undefined),
  ]);
  if (!match) throw new Error(`${name} did not start:\n${logs.get(name)}`);
  return { child, match, log: () => logs.get(name) ?? '' };
}

async function main(): Promise<void> {
  smtp.listen(0, '127.0.0.1');
  await once(smtp.server, 'listening');
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  const receiver = await startChild(
    'receiver',
    'examples/gumroad-licences/receiver.ts',
    {
      PORT: '0',
      HOST: '127.0.0.1',
      RECEIVER_SECRET: receiverSecret,
      LICENCE_DB: join(work, 'licences.db'),
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    },
    /receiver listening on (http:\/\/[\d.]+:\d+)/,
  );
  const receiverUrl = receiver.match[1] as string;

  const switchboard = await startChild(
    'switchboard',
    'src/main.ts',
    {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATABASE_URL: `sqlite:${join(work, 'switchboard.db')}`,
      SWITCHBOARD_DATA_DIR: work,
      SWITCHBOARD_ADMIN_TOKEN: adminToken,
      SWITCHBOARD_CONFIG: join(here, 'switchboard.yaml'),
      // The receiver runs on this machine: allow deliveries to loopback.
      SWITCHBOARD_ALLOWED_NETWORKS: '127.0.0.0/8',
      SWITCHBOARD_RETRY_SCHEDULE: '0,1,2',
      GUMROAD_INGEST_TOKEN: ingestToken,
      RECEIVER_SECRET: receiverSecret,
      RECEIVER_URL: receiverUrl,
    },
    /Server listening at (http:\/\/127\.0\.0\.1:\d+)/,
  );
  const sb = switchboard.match[1] as string;

  const api = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${sb}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${adminToken}`, ...init.headers },
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };
  const gumroad = (token: string, fields: Record<string, string>) =>
    fetch(`${sb}/in/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  const sale = (saleId: string, productId: string, email = 'buyer@example.com') => ({
    sale_id: saleId,
    product_id: productId,
    product_name: 'Example app',
    email,
    seller_id: 'seller-example',
    price: '2900',
    currency: 'usd',
    sale_timestamp: new Date().toISOString(),
    test: 'true',
  });
  type Event = { id: string; eventId: string | null; status: string; error: string | null };
  const events = async (): Promise<Event[]> =>
    (await api('/ingest/api/v1/source/gumroad/event?limit=250')).json.data;
  const licences = async (): Promise<{ orderId: string; emailedAt: string | null }[]> =>
    (await fetch(`${receiverUrl}/licences`)).json() as Promise<
      { orderId: string; emailedAt: string | null }[]
    >;

  const source = await api('/ingest/api/v1/source/gumroad');
  check(
    'switchboard.yaml applied: the gumroad source has the fixed ingest URL',
    source.status === 200 && String(source.json?.ingestUrl).endsWith(`/in/${ingestToken}`),
    JSON.stringify(source.json),
  );

  // 1. A prober: wrong token → 404 and nothing stored.
  const probe = await gumroad(randomBytes(32).toString('base64url'), sale('S-0', 'prod_pro'));
  const afterProbe = await events();
  check(
    'wrong token → 404, nothing stored',
    probe.status === 404 && afterProbe.length === 0,
    `status ${probe.status}, ${afterProbe.length} events`,
  );

  // 2. A sale → one licence, one email.
  const first = await gumroad(ingestToken, sale('S-1001', 'prod_pro'));
  check('a sale → 200 for Gumroad', first.status === 200, `status ${first.status}`);
  const minted = await until(async () => {
    const rows = await licences();
    return rows.length === 1 && mails.length === 1 ? rows : undefined;
  });
  check(
    'a sale → one licence and one email (to the buyer, with the key)',
    minted !== undefined &&
      mails[0]?.to.join() === 'buyer@example.com' &&
      /Licence key: LIC-/.test(mails[0]?.text ?? ''),
    `licences ${JSON.stringify(await licences())}, mails ${mails.length}`,
  );
  const routed = await until(async () => {
    const [event] = await events();
    return event?.status === 'routed' ? event : undefined;
  });
  check(
    'the sale is routed in the event log',
    routed !== undefined,
    JSON.stringify(await events()),
  );

  // 3. Gumroad retries the same ping → recorded as a duplicate, nothing more happens.
  const again = await gumroad(ingestToken, sale('S-1001', 'prod_pro'));
  await sleep(1500);
  const afterRetry = await events();
  const rowsAfterRetry = await licences();
  check(
    'the same sale_id again → 200, recorded as duplicate; still one licence, one email',
    again.status === 200 &&
      afterRetry.filter((event) => event.eventId === 'S-1001').length === 2 &&
      afterRetry.some((event) => event.eventId === 'S-1001' && event.status === 'duplicate') &&
      rowsAfterRetry.length === 1 &&
      mails.length === 1,
    `status ${again.status}, events ${JSON.stringify(afterRetry)}, licences ${rowsAfterRetry.length}, mails ${mails.length}`,
  );

  // 3b. A replay from Switchboard delivers the sale to the receiver again: it mints nothing.
  const original = afterRetry.find(
    (event) => event.eventId === 'S-1001' && event.status === 'routed',
  );
  const replay = await api(`/ingest/api/v1/source/gumroad/event/${original?.id}/replay`, {
    method: 'POST',
  });
  const replayed = await until(async () =>
    (logs.get('receiver') ?? '').includes('order S-1001 already has a licence') ? true : undefined,
  );
  check(
    'a replayed sale reaches the receiver and mints nothing (UNIQUE(source, order_id))',
    replay.status < 300 &&
      replayed === true &&
      (await licences()).length === 1 &&
      mails.length === 1,
    `replay ${replay.status} ${JSON.stringify(replay.json)}, licences ${(await licences()).length}, mails ${mails.length}`,
  );

  // 4. A product missing from the tier table → the event fails with the lookup error.
  const unmapped = await gumroad(ingestToken, sale('S-1002', 'prod_unknown'));
  const failed = await until(async () =>
    (await events()).find((event) => event.eventId === 'S-1002' && event.status === 'failed'),
  );
  const health = await fetch(`${sb}/healthz`);
  check(
    'an unmapped product → 200 for Gumroad, event failed with the lookup error, server healthy',
    unmapped.status === 200 &&
      /lookup tier: no entry for product_id/.test(failed?.error ?? '') &&
      health.status === 200 &&
      (await licences()).length === 1,
    `status ${unmapped.status}, event ${JSON.stringify(failed)}, healthz ${health.status}`,
  );
  if (failed) console.log(`      event log: ${failed.status}: ${failed.error}`);

  // 5. The mail server refuses: the licence is kept, the webhook still succeeds.
  refuseMail = true;
  const refused = await gumroad(ingestToken, sale('S-1003', 'prod_basic', 'second@example.com'));
  const kept = await until(async () => {
    const row = (await licences()).find((licence) => licence.orderId === 'S-1003');
    return row && (logs.get('receiver') ?? '').includes('email failed for order S-1003')
      ? row
      : undefined;
  });
  const delivered = await until(async () => {
    const event = (await events()).find((e) => e.eventId === 'S-1003');
    if (!event) return undefined;
    const detail = (await api(`/ingest/api/v1/source/gumroad/event/${event.id}`)).json;
    return detail?.destinations?.[0]?.status === 'success' ? detail : undefined;
  });
  check(
    'an email failure keeps the licence (not marked emailed) and the receiver answers 2xx',
    refused.status === 200 &&
      kept !== undefined &&
      kept.emailedAt === null &&
      delivered !== undefined &&
      mails.length === 1,
    `licence ${JSON.stringify(kept)}, delivery ${JSON.stringify(delivered?.destinations)}`,
  );
  refuseMail = false;
}

async function shutdown(): Promise<void> {
  for (const child of children) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }
  await new Promise<void>((done) => smtp.close(() => done()));
  rmSync(work, { recursive: true, force: true });
}

let crashed: unknown;
try {
  await main();
} catch (error) {
  crashed = error;
}
const failures = results.filter((result) => !result.ok);
if (crashed || failures.length > 0) {
  for (const [name, log] of logs) {
    console.log(`\n--- ${name} output (last 4000 characters) ---\n${log.slice(-4000)}`);
  }
}
await shutdown();
if (crashed) console.log(`\nFAIL  the smoke test stopped: ${(crashed as Error).stack ?? crashed}`);
console.log(
  `\n${crashed || failures.length > 0 ? 'FAIL' : 'PASS'}: ${results.length - failures.length} of ${results.length} checks passed${crashed ? ' (stopped early)' : ''}`,
);
process.exit(crashed || failures.length > 0 ? 1 : 0);
