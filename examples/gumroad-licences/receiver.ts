/**
 * The licence service of the Gumroad example: receives the sales Switchboard forwards, mints
 * one licence per sale and emails it.
 *
 *   RECEIVER_SECRET=whsec_… node --import tsx examples/gumroad-licences/receiver.ts
 *
 * Environment:
 *   RECEIVER_SECRET  the endpoint secret declared in switchboard.yaml (required)
 *   PORT             port to listen on (default 4000; 0 = any free port)
 *   HOST             address to listen on (default 127.0.0.1)
 *   LICENCE_DB       SQLite file of the licences (default ./licences.db)
 *   SMTP_URL         e.g. smtp://user:pass@smtp.example.com:587; unset = print emails instead
 *   MAIL_FROM        sender address (default licences@example.com)
 *
 * POST /gumroad  a forwarded sale ({saleId, email, tier, productId}, signed by Switchboard)
 * GET  /licences the licences minted (for you and for smoke.ts)
 * GET  /healthz  200 when up
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
// Switchboard's own Standard Webhooks verifier. Outside this repository use the
// `standardwebhooks` (or `svix`) package: `new Webhook(secret).verify(body, headers)`.
import { verifyWebhook, WebhookVerificationError } from '../../src/outbound/signing.js';

interface Sale {
  saleId: string;
  email: string;
  tier: string;
  productId: string;
}

interface Licence {
  source: string;
  orderId: string;
  email: string;
  tier: string;
  productId: string;
  licenceKey: string;
  createdAt: string;
  /** null while the licence email has not gone out (it failed: see the log). */
  emailedAt: string | null;
}

interface Mailer {
  send(mail: { to: string; subject: string; text: string }): Promise<void>;
}

const secret = process.env.RECEIVER_SECRET;
if (!secret?.startsWith('whsec_')) {
  console.error('receiver: set RECEIVER_SECRET to the whsec_… secret of switchboard.yaml');
  process.exit(2);
}
const from = process.env.MAIL_FROM ?? 'licences@example.com';

// --- licences: one row per (source, order), whatever happens to the webhook ---

const db = new Database(process.env.LICENCE_DB ?? 'licences.db');
db.pragma('journal_mode = WAL');
db.exec(`
  CREATE TABLE IF NOT EXISTS licences (
    source      TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    email       TEXT NOT NULL,
    tier        TEXT NOT NULL,
    product_id  TEXT NOT NULL,
    licence_key TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    emailed_at  TEXT,
    UNIQUE (source, order_id)
  )
`);
const insertLicence = db.prepare(
  `INSERT INTO licences (source, order_id, email, tier, product_id, licence_key, created_at)
   VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, order_id) DO NOTHING`,
);
const findLicence = db.prepare(
  `SELECT source, order_id AS orderId, email, tier, product_id AS productId,
          licence_key AS licenceKey, created_at AS createdAt, emailed_at AS emailedAt
   FROM licences WHERE source = ? AND order_id = ?`,
);
const allLicences = db.prepare(
  `SELECT source, order_id AS orderId, email, tier, product_id AS productId,
          licence_key AS licenceKey, created_at AS createdAt, emailed_at AS emailedAt
   FROM licences ORDER BY created_at, order_id`,
);
const markEmailed = db.prepare(
  'UPDATE licences SET emailed_at = ? WHERE source = ? AND order_id = ?',
);

function newLicenceKey(): string {
  const hex = randomBytes(8).toString('hex').toUpperCase();
  return `LIC-${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}-${hex.slice(12)}`;
}

/** Mints the licence of an order once: a retried or replayed webhook finds it already there. */
function mint(sale: Sale): { licence: Licence; minted: boolean } {
  const result = insertLicence.run(
    'gumroad',
    sale.saleId,
    sale.email,
    sale.tier,
    sale.productId,
    newLicenceKey(),
    new Date().toISOString(),
  );
  const licence = findLicence.get('gumroad', sale.saleId) as Licence;
  return { licence, minted: result.changes === 1 };
}

// --- email: SMTP when SMTP_URL is set, else printed ---

function createMailer(): Mailer {
  const url = process.env.SMTP_URL;
  if (!url) {
    return {
      async send(mail) {
        console.log(
          `[mail] (logging mailer) to=${mail.to} subject=${JSON.stringify(mail.subject)}`,
        );
        console.log(mail.text);
      },
    };
  }
  const transport = nodemailer.createTransport(url);
  return {
    async send(mail) {
      await transport.sendMail({ from, ...mail });
      console.log(`[mail] sent to=${mail.to} subject=${JSON.stringify(mail.subject)}`);
    },
  };
}
const mailer = createMailer();

async function emailLicence(licence: Licence): Promise<void> {
  try {
    await mailer.send({
      to: licence.email,
      subject: `Your ${licence.tier} licence`,
      text: `Thank you for your purchase.\n\nLicence key: ${licence.licenceKey}\nOrder: ${licence.orderId}\n`,
    });
    markEmailed.run(new Date().toISOString(), licence.source, licence.orderId);
  } catch (error) {
    // The licence stays; emailed_at stays null so it can be re-sent. The webhook still
    // succeeds: failing it would make Switchboard retry a sale that is already done.
    console.error(
      `[mail] email failed for order ${licence.orderId}: ${(error as Error).message} (licence kept)`,
    );
  }
}

// --- HTTP ---

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 1024 * 1024) req.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function parseSale(body: string): Sale | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  const sale = value as Partial<Record<keyof Sale, unknown>>;
  const fields = ['saleId', 'email', 'tier', 'productId'] as const;
  if (fields.some((field) => typeof sale?.[field] !== 'string' || sale[field] === '')) {
    return undefined;
  }
  return sale as Sale;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://receiver').pathname;
  if (req.method === 'GET' && path === '/healthz') return send(res, 200, { ok: true });
  if (req.method === 'GET' && path === '/licences') return send(res, 200, allLicences.all());
  if (req.method !== 'POST' || path !== '/gumroad') return send(res, 404, { error: 'not found' });

  const body = await readBody(req);
  try {
    // Signature, and a timestamp within 5 minutes: a replayed capture is refused.
    verifyWebhook(secret as string, req.headers as Record<string, string>, body);
  } catch (error) {
    if (error instanceof WebhookVerificationError) {
      return send(res, 401, { error: 'invalid signature' });
    }
    throw error;
  }
  const sale = parseSale(body);
  // 4xx: Switchboard does not retry it (a malformed payload stays malformed); it is logged.
  if (!sale) return send(res, 422, { error: 'expected {saleId, email, tier, productId}' });

  const { licence, minted } = mint(sale);
  if (minted) {
    console.log(
      `[licence] minted ${licence.licenceKey} (${licence.tier}) for order ${sale.saleId}`,
    );
    await emailLicence(licence);
  } else {
    console.log(`[licence] order ${sale.saleId} already has a licence: nothing to do`);
  }
  send(res, 200, { orderId: sale.saleId, licenceKey: licence.licenceKey, minted });
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    console.error('[receiver] request failed:', error);
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
    else res.destroy();
  });
});
server.listen(Number(process.env.PORT ?? 4000), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`receiver listening on http://${address}:${port}`);
});

function stop(): void {
  server.close(() => {
    db.close();
    process.exit(0);
  });
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
