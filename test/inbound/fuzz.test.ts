import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { backends, createPostgresDatabase } from '../helpers/backends.js';
import {
  base64BodyHmac,
  basicAuthorization,
  bodyHmac,
  discordSignature,
  ed25519KeyPair,
  githubSignature,
  hexBodyHmac,
  metaSignature,
  paddleSignature,
  squareSignature,
  standardWebhookSignature,
  stripeSignature,
  twilioSignature,
  v0Signature,
} from '../helpers/inbound-signing.js';
import {
  adminApi,
  listInboundEvents,
  type SpawnedServer,
  spawnServer,
  stopServer,
} from '../helpers/process.js';

// Bad input at the public receiving path `/in/{token}` (SPEC §6 "Bad input gets a clear error
// and changes nothing"): thousands of random and malformed requests, from a seeded PRNG, at
// sources of many provider types, mixed with validly signed ones. Never a 5xx, never a dropped
// connection; invalid requests get a 4xx (handshakes excepted, by design 2xx); exactly the
// validly signed, non-handshake requests are stored; the server stays healthy.

const SEED = 0x5b0a_2d17;
const CONCURRENCY = 16;
const CASES_PER_SOURCE = 190;
const PUBLIC_URL = 'https://hooks.switchboard.test';
const TOKEN = `test_admin_${randomBytes(12).toString('hex')}`;
/** Node's default `--max-http-header-size`. */
const NODE_HEADER_LIMIT = 16 * 1024;

// ---------------------------------------------------------------- deterministic randomness

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** mulberry32: a float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An independent generator seeded from this one. */
  fork(): Rng {
    return new Rng(this.int(0x1_0000_0000));
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
  text(
    length: number,
    alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ): string {
    const letters = Array.from(alphabet); // code points: no lone surrogates
    let out = '';
    for (let i = 0; i < length; i++) out += letters[this.int(letters.length)];
    return out;
  }
  /** Text with spaces, punctuation and non-ASCII characters. */
  prose(length: number): string {
    return this.text(length, 'abc xyz ÄÖü é✓€ 中文 🙂 "\\\'<>&%+=/?#;:,.\t');
  }
  /** Bytes that are not valid UTF-8 (a lone continuation byte somewhere). */
  invalidUtf8(length: number): Buffer {
    const out = this.bytes(Math.max(1, length));
    out[this.int(out.length)] = 0x80 + this.int(0x40);
    return out;
  }
}

// ---------------------------------------------------------------- requests and cases

interface Req {
  method: string;
  /** `/in/{token}` plus any suffix. */
  path: string;
  /** Query parameters (encoded with URLSearchParams); `rawQuery` replaces them when set. */
  query: [string, string][];
  rawQuery?: string;
  headers: [string, string][];
  body: Buffer;
}

const target = (req: Req) => {
  const query = req.rawQuery ?? new URLSearchParams(req.query).toString();
  return query === '' ? req.path : `${req.path}?${query}`;
};
const publicUrl = (req: Req) => `${PUBLIC_URL}${target(req)}`;
const header = (req: Req, name: string) =>
  req.headers.find(([key]) => key.toLowerCase() === name)?.[1];
const setHeader = (req: Req, name: string, value: string | undefined) => {
  req.headers = req.headers.filter(([key]) => key.toLowerCase() !== name);
  if (value !== undefined) req.headers.push([name, value]);
};

/** How a request goes on the wire. */
type Wire =
  | { kind: 'http'; req: Req }
  | {
      kind: 'raw';
      bytes: Buffer /** end the socket after writing (incomplete bodies) */;
      halfClose?: boolean;
    };

type Expect = 'stored' | 'handshake' | 'refused' | 'aborted';

interface Case {
  label: string;
  /** The source's key, for stored events. */
  source?: string;
  expect: Expect;
  /** The exact status where it is documented (else: 2xx for stored/handshake, 4xx refused). */
  status?: number;
  check?: (answer: Answer) => string | undefined;
  make: () => Promise<Wire>;
}

interface Answer {
  status: number;
  body: string;
}

// ---------------------------------------------------------------- providers under test

interface SignOptions {
  /** Sign with a wrong secret / key. */
  wrong?: boolean;
  /** Seconds added to the signed timestamp. */
  skew?: number;
}

interface Kit {
  key: string;
  type: string;
  config: Record<string, unknown>;
  contentType: string;
  /** A payload the provider accepts (made at generation time; stamped at send time). */
  body(rng: Rng, n: number): Buffer;
  /** Provider headers that are not credentials (delivery id, topic…). */
  extraHeaders?(rng: Rng, n: number): [string, string][];
  /** Fills in a timestamp inside the body (Linear signs it in the body). */
  stamp?(body: Buffer, nowMs: number, skew: number): Buffer;
  /** Adds the credentials to the request, over its final URL and body. */
  sign(req: Req, options: SignOptions): Promise<void> | void;
  /** Headers holding credentials (to drop, double, garble). */
  credentialHeaders: string[];
  /** A query parameter holding the credential. */
  credentialQuery?: string;
  /** The credential covers the body bytes. */
  bodySigned: boolean;
  /** Any body bytes can be signed validly. */
  anyBody: boolean;
  /** Signed timestamps, with this tolerance in seconds. */
  tolerance?: number;
  /** The request URL is signed. */
  urlSigned?: boolean;
  /** The content type takes part in verification. */
  contentTypeMatters?: boolean;
  /** Status of a failed verification (401 unless the provider says otherwise). */
  failureStatus?: number;
  /** Only these cases (the size-limit source). */
  only?: string[];
  /** Provider-specific cases (handshakes). */
  extraCases?(kit: Kit, rng: Rng, n: number): Case[];
  /** Filled in once the source exists. */
  path?: string;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function jsonBody(rng: Rng, n: number, fields: Record<string, unknown>): Buffer {
  const data: Record<string, unknown> = { n, note: rng.prose(rng.between(0, 40)) };
  const extra = rng.int(6);
  for (let i = 0; i < extra; i++)
    data[`f_${rng.text(5)}`] = rng.pick([
      rng.int(1e9),
      rng.prose(8),
      null,
      true,
      [1, 'two', { three: 3 }],
      1.5e300,
    ]);
  if (rng.chance(0.05)) data.big = rng.text(rng.between(10_000, 60_000));
  const body = JSON.stringify({ ...fields, data });
  // Sometimes indented or with trailing whitespace: verification is over the exact bytes.
  return Buffer.from(rng.chance(0.2) ? `${JSON.stringify(JSON.parse(body), null, 2)}\n` : body);
}

const eventId = (rng: Rng, prefix: string, n: number) =>
  // One id in ten repeats an earlier one: duplicates are stored too (as `duplicate`).
  rng.chance(0.1) ? `${prefix}repeat${n % 3}` : `${prefix}${n}_${rng.text(10)}`;

const SECRETS = {
  github: 'fuzz github secret',
  githubSmall: 'fuzz github small secret',
  stripe: 'whsec_fuzz_stripe_0123456789abcdef',
  shopify: 'fuzz-shopify-client-secret',
  slack: '8f742231b10e8888abcd99yyyzzz85a5',
  svix: `whsec_${Buffer.from('fuzz svix secret bytes, 24+').toString('base64')}`,
  svixWrong: `whsec_${Buffer.from('another secret entirely!!').toString('base64')}`,
  gumroad: 'gumroad-url-secret-42',
  twilio: '12345fuzztwilioauthtoken',
  paddle: 'pdl_ntfset_01fuzz_secret',
  generic: 'generic hmac secret',
  sharedToken: 'tok_shared_fuzz_0123456789',
  basicUser: 'sender',
  basicPassword: 'correct horse battery staple',
  linear: 'lin_wh_fuzz_secret',
  square: 'square-signature-key-fuzz',
  zoom: 'zoom-secret-token-fuzz',
  meta: 'meta-app-secret-fuzz',
  metaVerify: 'meta-verify-token-fuzz',
  wrong: 'definitely not the secret',
};
const discordKeys = ed25519KeyPair();
const discordWrongKeys = ed25519KeyPair();

/**
 * A `sign` that sets one credential header to `value(secret)`, or to `value(SECRETS.wrong)`
 * for a wrongly signed request: the shape of most providers' schemes.
 */
function headerSigner(
  name: string,
  secret: string,
  value: (secret: string, req: Req) => string | Promise<string>,
): Kit['sign'] {
  return async (req, options) => {
    setHeader(req, name, await value(options.wrong ? SECRETS.wrong : secret, req));
  };
}

/** A `sign` for a credential in the query string (the URL is the secret). */
function querySigner(name: string, secret: string): Kit['sign'] {
  return (req, options) => {
    req.query = req.query.filter(([key]) => key !== name);
    req.query.push([name, options.wrong ? SECRETS.wrong : secret]);
  };
}

/** Slack's scheme, which Zoom copies: `v0=` HMAC of `v0:{timestamp}:{body}`, two headers. */
function v0Signer(prefix: string, secret: string): Kit['sign'] {
  return (req, options) => {
    const ts = String(nowSeconds() + (options.skew ?? 0));
    setHeader(req, `${prefix}-request-timestamp`, ts);
    setHeader(
      req,
      `${prefix}-signature`,
      v0Signature(options.wrong ? SECRETS.wrong : secret, ts, req.body),
    );
  };
}

function githubKit(key: string, secret: string, config: Record<string, unknown> = {}): Kit {
  return {
    key,
    type: 'github',
    config: { secret, ...config },
    contentType: 'application/json',
    body: (rng, n) =>
      jsonBody(rng, n, { action: rng.pick(['opened', 'closed', 'created']), number: n }),
    extraHeaders: (rng, n) => [
      ['x-github-event', rng.pick(['push', 'pull_request', 'issues'])],
      ['x-github-delivery', eventId(rng, 'gh-', n)],
    ],
    sign: headerSigner('x-hub-signature-256', secret, (key, req) => githubSignature(key, req.body)),
    credentialHeaders: ['x-hub-signature-256'],
    bodySigned: true,
    anyBody: true,
  };
}

function slackExtraCases(kit: Kit, rng: Rng, n: number): Case[] {
  const challenge = rng.text(rng.between(1, 60));
  const verification = Buffer.from(
    JSON.stringify({ token: 'x', challenge, type: 'url_verification' }),
  );
  return [
    signedCase(kit, 'url_verification', 'handshake', verification, 'application/json', {
      status: 200,
      check: (answer) =>
        answer.body === JSON.stringify({ challenge })
          ? undefined
          : `challenge not echoed: ${answer.body}`,
    }),
    signedCase(kit, 'url_verification unsigned', 'refused', verification, 'application/json', {
      status: 401,
      unsigned: true,
    }),
    signedCase(
      kit,
      'url_verification without challenge',
      'refused',
      Buffer.from('{"type":"url_verification"}'),
      'application/json',
      { status: 400 },
    ),
    signedCase(
      kit,
      'ssl_check',
      'handshake',
      Buffer.from(`ssl_check=1&token=${n}`),
      'application/x-www-form-urlencoded',
      { status: 200 },
    ),
  ];
}

function zoomExtraCases(kit: Kit, rng: Rng): Case[] {
  const plainToken = rng.text(22);
  const validation = Buffer.from(
    JSON.stringify({
      event: 'endpoint.url_validation',
      payload: { plainToken },
      event_ts: 1_700_000_000_000,
    }),
  );
  const encryptedToken = createHmac('sha256', SECRETS.zoom).update(plainToken).digest('hex');
  return [
    signedCase(kit, 'endpoint.url_validation', 'handshake', validation, 'application/json', {
      status: 200,
      check: (answer) =>
        answer.body === JSON.stringify({ plainToken, encryptedToken })
          ? undefined
          : `bad validation answer: ${answer.body}`,
    }),
    signedCase(
      kit,
      'endpoint.url_validation wrong secret',
      'refused',
      validation,
      'application/json',
      {
        status: 401,
        wrong: true,
      },
    ),
    signedCase(
      kit,
      'endpoint.url_validation without plainToken',
      'refused',
      Buffer.from('{"event":"endpoint.url_validation","payload":{}}'),
      'application/json',
      { status: 400 },
    ),
  ];
}

function discordExtraCases(kit: Kit, rng: Rng, n: number): Case[] {
  return [
    signedCase(
      kit,
      'interaction PING',
      'handshake',
      Buffer.from('{"type":1,"id":"1"}'),
      'application/json',
      {
        status: 200,
        check: (answer) =>
          answer.body === '{"type":1}' ? undefined : `PING answered ${answer.body}`,
      },
    ),
    signedCase(
      kit,
      'webhook event PING',
      'handshake',
      Buffer.from(`{"version":1,"application_id":"${n}","type":0}`),
      'application/json',
      { status: 204 },
    ),
    signedCase(
      kit,
      'PING with a bad signature',
      'refused',
      Buffer.from('{"type":1}'),
      'application/json',
      {
        status: 401,
        wrong: true,
      },
    ),
    signedCase(
      kit,
      'application command',
      'stored',
      Buffer.from(JSON.stringify({ type: 2, id: `cmd-${n}-${rng.text(6)}`, data: { name: 'hi' } })),
      'application/json',
      {
        status: 200,
        check: (answer) =>
          answer.body === '{"type":5}' ? undefined : `command answered ${answer.body}`,
      },
    ),
  ];
}

function metaExtraCases(kit: Kit, rng: Rng): Case[] {
  const challenge = rng.text(rng.between(1, 40), '0123456789');
  const get = (
    label: string,
    query: [string, string][],
    status: number,
    expect: Expect,
    check?: Case['check'],
  ): Case => {
    const method = rng.chance(0.2) ? 'HEAD' : 'GET';
    return {
      label: `${kit.key}/${method} ${label}`,
      source: kit.key,
      expect,
      status,
      check,
      make: async () => ({
        kind: 'http',
        req: { method, path: kit.path ?? '', query, headers: [], body: Buffer.alloc(0) },
      }),
    };
  };
  return [
    get(
      'verification',
      [
        ['hub.mode', 'subscribe'],
        ['hub.verify_token', SECRETS.metaVerify],
        ['hub.challenge', challenge],
      ],
      200,
      'handshake',
      (answer) =>
        answer.body === '' || answer.body === challenge
          ? undefined
          : `challenge not echoed: ${answer.body}`,
    ),
    get(
      'verification, wrong token',
      [
        ['hub.mode', 'subscribe'],
        ['hub.verify_token', SECRETS.wrong],
        ['hub.challenge', challenge],
      ],
      403,
      'refused',
    ),
    get(
      'verification, no challenge',
      [
        ['hub.mode', 'subscribe'],
        ['hub.verify_token', SECRETS.metaVerify],
      ],
      403,
      'refused',
    ),
    get(
      'verification, doubled token',
      [
        ['hub.mode', 'subscribe'],
        ['hub.verify_token', SECRETS.metaVerify],
        ['hub.verify_token', SECRETS.metaVerify],
        ['hub.challenge', challenge],
      ],
      403,
      'refused',
    ),
  ];
}

/** A case of `kit` with a given body, signed (or not, or wrongly) at send time. */
function signedCase(
  kit: Kit,
  label: string,
  expect: Expect,
  body: Buffer,
  contentType: string,
  options: { status?: number; check?: Case['check']; unsigned?: boolean; wrong?: boolean },
): Case {
  return {
    label: `${kit.key}/${label}`,
    source: kit.key,
    expect,
    status: options.status,
    check: options.check,
    async make() {
      const req: Req = {
        method: 'POST',
        path: kit.path ?? '',
        query: [],
        headers: [['content-type', contentType]],
        body,
      };
      if (!options.unsigned) await kit.sign(req, { wrong: options.wrong });
      return { kind: 'http', req };
    },
  };
}

function makeKits(): Kit[] {
  const form = (params: Record<string, string>) =>
    Buffer.from(new URLSearchParams(params).toString());
  return [
    githubKit('github', SECRETS.github),
    {
      ...githubKit('github-small', SECRETS.githubSmall, { maxBodyBytes: 4096 }),
      only: ['too large'],
    },
    {
      key: 'stripe',
      type: 'stripe',
      config: { secret: SECRETS.stripe },
      contentType: 'application/json; charset=utf-8',
      body: (rng, n) =>
        jsonBody(rng, n, {
          id: eventId(rng, 'evt_', n),
          object: 'event',
          type: rng.pick(['charge.succeeded', 'invoice.paid']),
        }),
      sign(req, options) {
        setHeader(
          req,
          'stripe-signature',
          stripeSignature(
            options.wrong ? `${SECRETS.stripe}x` : SECRETS.stripe,
            req.body,
            nowSeconds() + (options.skew ?? 0),
          ),
        );
      },
      credentialHeaders: ['stripe-signature'],
      bodySigned: true,
      anyBody: true,
      tolerance: 300,
    },
    {
      key: 'shopify',
      type: 'shopify',
      config: { secret: SECRETS.shopify },
      contentType: 'application/json',
      body: (rng, n) => jsonBody(rng, n, { id: n, email: 'a@example.com' }),
      extraHeaders: (rng, n) => [
        ['x-shopify-topic', rng.pick(['orders/create', 'app/uninstalled'])],
        ['x-shopify-webhook-id', eventId(rng, 'shop-', n)],
        ['x-shopify-shop-domain', 'fuzz.myshopify.com'],
      ],
      sign: headerSigner('x-shopify-hmac-sha256', SECRETS.shopify, (key, req) =>
        base64BodyHmac(key, req.body),
      ),
      credentialHeaders: ['x-shopify-hmac-sha256'],
      bodySigned: true,
      anyBody: true,
    },
    {
      key: 'slack',
      type: 'slack',
      config: { secret: SECRETS.slack },
      contentType: 'application/json',
      body: (rng, n) =>
        jsonBody(rng, n, {
          type: 'event_callback',
          event_id: eventId(rng, 'Ev', n),
          event: { type: 'message', text: rng.prose(10) },
        }),
      sign: v0Signer('x-slack', SECRETS.slack),
      credentialHeaders: ['x-slack-signature', 'x-slack-request-timestamp'],
      bodySigned: true,
      anyBody: true,
      tolerance: 300,
      extraCases: slackExtraCases,
    },
    {
      key: 'svix',
      type: 'svix',
      config: { secret: SECRETS.svix },
      contentType: 'application/json',
      body: (rng, n) => jsonBody(rng, n, { type: rng.pick(['user.created', 'email.sent']) }),
      extraHeaders: (rng, n) => [
        [rng.chance(0.5) ? 'webhook-id' : 'svix-id', eventId(rng, 'msg_', n)],
      ],
      sign(req, options) {
        const prefix = header(req, 'svix-id') === undefined ? 'webhook' : 'svix';
        const id = header(req, `${prefix}-id`) ?? 'msg_missing';
        const ts = nowSeconds() + (options.skew ?? 0);
        setHeader(req, `${prefix}-timestamp`, String(ts));
        setHeader(
          req,
          `${prefix}-signature`,
          standardWebhookSignature(
            options.wrong ? SECRETS.svixWrong : SECRETS.svix,
            id,
            ts,
            req.body,
          ),
        );
      },
      credentialHeaders: [
        'webhook-signature',
        'svix-signature',
        'webhook-timestamp',
        'svix-timestamp',
      ],
      bodySigned: true,
      anyBody: true,
      tolerance: 300,
    },
    {
      key: 'gumroad',
      type: 'gumroad',
      config: { secret: SECRETS.gumroad },
      contentType: 'application/x-www-form-urlencoded',
      body: (rng, n) =>
        form({
          sale_id: eventId(rng, 'sale-', n),
          product_id: rng.text(8),
          email: 'buyer@example.com',
          price: String(rng.int(10000)),
          'url_params[x]': rng.prose(5),
        }),
      sign: querySigner('secret', SECRETS.gumroad),
      credentialHeaders: [],
      credentialQuery: 'secret',
      bodySigned: false,
      anyBody: true,
      failureStatus: 404,
    },
    {
      key: 'twilio',
      type: 'twilio',
      config: { secret: SECRETS.twilio },
      contentType: 'application/x-www-form-urlencoded',
      body: (rng, n) =>
        form({
          MessageSid: eventId(rng, 'SM', n),
          MessageStatus: rng.pick(['queued', 'sent', 'delivered']),
          From: '+15550001111',
          To: '+15550002222',
          Body: rng.prose(rng.between(1, 30)),
        }),
      sign: headerSigner('x-twilio-signature', SECRETS.twilio, (key, req) => {
        const params: Record<string, string> = {};
        for (const [name, value] of new URLSearchParams(req.body.toString('utf8')))
          params[name] = value;
        return twilioSignature(key, publicUrl(req), params);
      }),
      credentialHeaders: ['x-twilio-signature'],
      bodySigned: true,
      anyBody: false,
      urlSigned: true,
      contentTypeMatters: true,
    },
    {
      key: 'paddle',
      type: 'paddle',
      config: { secret: SECRETS.paddle },
      contentType: 'application/json',
      body: (rng, n) =>
        jsonBody(rng, n, {
          event_id: eventId(rng, 'evt_', n),
          event_type: 'transaction.completed',
        }),
      sign(req, options) {
        setHeader(
          req,
          'paddle-signature',
          paddleSignature(
            options.wrong ? SECRETS.wrong : SECRETS.paddle,
            req.body,
            nowSeconds() + (options.skew ?? 0),
          ),
        );
      },
      credentialHeaders: ['paddle-signature'],
      bodySigned: true,
      anyBody: true,
      tolerance: 5,
    },
    {
      key: 'generic-hmac',
      type: 'generic-hmac',
      config: {
        secret: SECRETS.generic,
        header: 'X-Signature',
        algorithm: 'sha512',
        encoding: 'base64',
        prefix: 'sha512=',
      },
      contentType: 'application/json',
      body: (rng, n) => jsonBody(rng, n, { type: 'thing.happened' }),
      sign: headerSigner(
        'x-signature',
        SECRETS.generic,
        (key, req) => `sha512=${bodyHmac('sha512', key, req.body, 'base64')}`,
      ),
      credentialHeaders: ['x-signature'],
      bodySigned: true,
      anyBody: true,
    },
    {
      key: 'shared-token',
      type: 'shared-token',
      config: {
        secret: SECRETS.sharedToken,
        location: 'header',
        name: 'X-Webhook-Token',
        prefix: 'Bearer ',
      },
      contentType: 'application/json',
      body: (rng, n) => jsonBody(rng, n, { event: 'ping' }),
      sign: headerSigner('x-webhook-token', SECRETS.sharedToken, (token) => `Bearer ${token}`),
      credentialHeaders: ['x-webhook-token'],
      bodySigned: false,
      anyBody: true,
    },
    {
      key: 'shared-token-query',
      type: 'shared-token',
      config: { secret: SECRETS.sharedToken, location: 'query', name: 'token' },
      contentType: 'text/plain',
      body: (rng) => Buffer.from(rng.prose(rng.between(0, 200))),
      sign: querySigner('token', SECRETS.sharedToken),
      credentialHeaders: [],
      credentialQuery: 'token',
      bodySigned: false,
      anyBody: true,
    },
    {
      key: 'basic-auth',
      type: 'basic-auth',
      config: { username: SECRETS.basicUser, password: SECRETS.basicPassword },
      contentType: 'application/json',
      body: (rng, n) => jsonBody(rng, n, { type: 'order.created' }),
      sign: headerSigner('authorization', SECRETS.basicPassword, (password) =>
        basicAuthorization(SECRETS.basicUser, password),
      ),
      credentialHeaders: ['authorization'],
      bodySigned: false,
      anyBody: true,
    },
    {
      key: 'discord',
      type: 'discord',
      config: { publicKey: discordKeys.publicKeyHex, toleranceSeconds: 300 },
      contentType: 'application/json',
      body: (rng, n) =>
        jsonBody(rng, n, {
          version: 1,
          application_id: '1',
          type: 1,
          event: { type: 'APPLICATION_AUTHORIZED', timestamp: '2024-01-01T00:00:00Z' },
          id: eventId(rng, 'dc-', n),
        }),
      sign(req, options) {
        const ts = String(nowSeconds() + (options.skew ?? 0));
        setHeader(req, 'x-signature-timestamp', ts);
        setHeader(
          req,
          'x-signature-ed25519',
          discordSignature(
            options.wrong ? discordWrongKeys.privateKey : discordKeys.privateKey,
            ts,
            req.body,
          ),
        );
      },
      credentialHeaders: ['x-signature-ed25519', 'x-signature-timestamp'],
      bodySigned: true,
      anyBody: true,
      tolerance: 300,
      extraCases: discordExtraCases,
    },
    {
      key: 'linear',
      type: 'linear',
      config: { secret: SECRETS.linear },
      contentType: 'application/json; charset=utf-8',
      body: (rng, n) =>
        jsonBody(rng, n, { action: 'create', type: 'Issue', webhookTimestamp: 1_000_000_000_000 }),
      extraHeaders: (rng, n) => [
        ['linear-delivery', eventId(rng, 'lin-', n)],
        ['linear-event', 'Issue'],
      ],
      stamp: (body, nowMs, skew) =>
        Buffer.from(body.toString('utf8').replace('1000000000000', String(nowMs + skew * 1000))),
      sign: headerSigner('linear-signature', SECRETS.linear, (key, req) =>
        hexBodyHmac(key, req.body),
      ),
      credentialHeaders: ['linear-signature'],
      bodySigned: true,
      anyBody: false,
      tolerance: 60,
    },
    {
      key: 'square',
      type: 'square',
      config: { secret: SECRETS.square },
      contentType: 'application/json',
      body: (rng, n) =>
        jsonBody(rng, n, {
          merchant_id: 'M1',
          type: 'payment.updated',
          event_id: eventId(rng, 'sq-', n),
        }),
      sign: headerSigner('x-square-hmacsha256-signature', SECRETS.square, (key, req) =>
        squareSignature(key, publicUrl(req), req.body),
      ),
      credentialHeaders: ['x-square-hmacsha256-signature'],
      bodySigned: true,
      anyBody: true,
      urlSigned: true,
    },
    {
      key: 'zoom',
      type: 'zoom',
      config: { secret: SECRETS.zoom },
      contentType: 'application/json',
      body: (rng, n) =>
        jsonBody(rng, n, {
          event: 'meeting.started',
          event_ts: 1_700_000_000_000 + n,
          payload: { object: { id: n } },
        }),
      sign: v0Signer('x-zm', SECRETS.zoom),
      credentialHeaders: ['x-zm-signature', 'x-zm-request-timestamp'],
      bodySigned: true,
      anyBody: true,
      tolerance: 300,
      extraCases: zoomExtraCases,
    },
    {
      key: 'meta',
      type: 'meta',
      config: { secret: SECRETS.meta, verifyToken: SECRETS.metaVerify },
      contentType: 'application/json',
      body: (rng, n) => jsonBody(rng, n, { object: 'page', entry: [{ id: String(n), time: 1 }] }),
      sign: headerSigner('x-hub-signature-256', SECRETS.meta, (key, req) =>
        metaSignature(key, req.body),
      ),
      credentialHeaders: ['x-hub-signature-256'],
      bodySigned: true,
      anyBody: true,
      extraCases: metaExtraCases,
    },
  ];
}

// ---------------------------------------------------------------- mutations

/** Content types a sender might get wrong; the signature does not cover them. */
const ODD_CONTENT_TYPES: (string | undefined)[] = [
  undefined,
  '',
  'text/plain',
  'application/octet-stream',
  'application/json; charset=ebcdic',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'application/x-www-form-urlencoded',
  ';;;',
  '/',
  'application/json, text/plain',
  'a b/c',
  '*/*',
  `application/${'x'.repeat(2000)}`,
  'text/html; charset="unterminated',
  'application/json;;charset=utf-8',
];

const ODD_METHODS = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH'];

/** Junk a query string can hold (the signed URL is never touched by it). */
function junkQuery(rng: Rng): string {
  return rng.pick([
    'a=%ZZ&b=%',
    `x=${'y'.repeat(rng.between(100, 4000))}`,
    '&&&=&==&',
    'hub.mode=subscribe',
    'challenge=%00%01',
    '__proto__[polluted]=1&constructor[prototype][x]=1',
    `q=${encodeURIComponent(rng.prose(20))}`,
    'a[]=1&a[]=2&a[x]=3',
    '%E0%A4%A=1',
  ]);
}

/** Credential-shaped junk: the right length in the right alphabet, empty, huge, or odd bytes. */
function junkCredential(rng: Rng, real: string | undefined): string {
  const length = real?.length ?? 40;
  return rng.pick([
    rng.text(length),
    rng.text(length, '0123456789abcdef'),
    real ? `${real.slice(0, -1)}${real.endsWith('0') ? '1' : '0'}` : 'x',
    ' ',
    'x'.repeat(rng.between(1000, 8000)),
    'sha256=',
    't=,v1=',
    'v1,',
    'Basic !!!',
    'Bearer',
    `${real ?? ''}\u00ff\u00fe`,
  ]);
}

function baseRequest(kit: Kit, rng: Rng, n: number): Req {
  const req: Req = {
    method: 'POST',
    path: kit.path ?? '',
    query: [],
    headers: [
      ['content-type', kit.contentType],
      ['user-agent', 'fuzz/1.0'],
      ...(kit.extraHeaders?.(rng, n) ?? []),
    ],
    body: kit.body(rng, n),
  };
  return req;
}

/** Sends `req` signed at send time (timestamps are fresh). */
function signed(kit: Kit, req: Req, options: SignOptions = {}): () => Promise<Wire> {
  return async () => {
    await signNow(kit, req, options);
    return { kind: 'http', req };
  };
}

/** Signs `req` at send time (timestamps are fresh). */
async function signNow(kit: Kit, req: Req, options: SignOptions = {}): Promise<void> {
  if (kit.stamp) req.body = kit.stamp(req.body, Date.now(), options.skew ?? 0);
  await kit.sign(req, options);
}

function chunked(body: Buffer, rng: Rng): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const size = Math.min(body.length - at, rng.between(1, 300));
    parts.push(
      Buffer.from(`${size.toString(16)}${rng.chance(0.2) ? ';ext=1' : ''}\r\n`),
      body.subarray(at, at + size),
      Buffer.from('\r\n'),
    );
    at += size;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** The request as bytes on a socket: `framing` is the body part (with its framing headers). */
function rawBytes(
  port: number,
  req: Req,
  framing: { headers: string[]; body: Buffer },
  extraHead: string[] = [],
): Buffer {
  const lines = [
    `${req.method} ${target(req)} HTTP/1.1`,
    `host: 127.0.0.1:${port}`,
    'connection: close',
    ...req.headers.map(([name, value]) => `${name}: ${value}`),
    ...framing.headers,
    ...extraHead,
  ];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), framing.body]);
}

type Mutation = {
  name: string;
  weight: number;
  applies?: (kit: Kit) => boolean;
  build: (kit: Kit, rng: Rng, n: number, port: () => number) => Case;
};

function refusedStatus(kit: Kit) {
  return kit.failureStatus ?? 401;
}

/** A case of `kit`, labelled with its key; `status`, where set, is the exact answer expected. */
function kitCase(
  kit: Kit,
  label: string,
  expect: Expect,
  status: number | undefined,
  make: Case['make'],
): Case {
  return { label: `${kit.key}/${label}`, source: kit.key, expect, status, make };
}

/** A case of `kit` that must be answered 2xx and stored. */
function storedCase(kit: Kit, label: string, make: Case['make']): Case {
  return kitCase(kit, label, 'stored', undefined, make);
}

/** A case of `kit` that must be refused: with `status`, or any 4xx where it is undefined. */
function refusedCase(
  kit: Kit,
  label: string,
  status: number | undefined,
  make: Case['make'],
): Case {
  return kitCase(kit, label, 'refused', status, make);
}

/** Sends `req` as it is: no credentials added. */
function asIs(req: Req): Case['make'] {
  return async () => ({ kind: 'http', req });
}

/**
 * A mutation whose request stays valid, only in an odd but legal shape: `tweak` changes a fresh
 * request, which is then signed at send time and must be stored.
 */
function stillValid(
  name: string,
  weight: number,
  tweak: (req: Req, rng: Rng) => void,
  options: { applies?: Mutation['applies']; label?: (req: Req) => string } = {},
): Mutation {
  return {
    name,
    weight,
    applies: options.applies,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      tweak(req, rng);
      return storedCase(kit, options.label?.(req) ?? name, signed(kit, req));
    },
  };
}

/** Signs `req` at send time, then spoils it with `tamper` (what was signed is not what is sent). */
function tampered(kit: Kit, req: Req, tamper: (req: Req) => void): Case['make'] {
  return async () => {
    await signNow(kit, req);
    tamper(req);
    return { kind: 'http', req };
  };
}

const MUTATIONS: Mutation[] = [
  stillValid('valid', 8, () => {}),
  stillValid(
    'valid, odd content type',
    3,
    (req, rng) => setHeader(req, 'content-type', rng.pick(ODD_CONTENT_TYPES)),
    {
      applies: (kit) => !kit.contentTypeMatters,
      label: (req) =>
        `valid, content type ${JSON.stringify(header(req, 'content-type'))?.slice(0, 40)}`,
    },
  ),
  stillValid(
    'valid, binary body',
    2,
    (req, rng) => {
      req.body = rng.chance(0.7)
        ? rng.invalidUtf8(rng.between(1, 3000))
        : rng.bytes(rng.between(1, 3000));
    },
    { applies: (kit) => kit.anyBody },
  ),
  stillValid(
    'valid, empty body',
    1,
    (req) => {
      req.body = Buffer.alloc(0);
    },
    { applies: (kit) => kit.anyBody },
  ),
  stillValid('valid, query junk', 1, (req, rng) => {
    for (let i = rng.between(1, 5); i > 0; i--)
      req.query.push([`junk_${rng.text(4)}`, rng.prose(rng.between(0, 30))]);
  }),
  stillValid('valid, trailing slash', 1, (req) => {
    req.path += '/';
  }),
  stillValid('valid, many headers', 1, (req, rng) => {
    for (let i = rng.between(20, 80); i > 0; i--)
      req.headers.push([`x-extra-${rng.text(6).toLowerCase()}`, rng.text(rng.between(0, 40))]);
  }),
  {
    name: 'valid, header block just under the limit',
    weight: 1,
    build: (kit, rng, n, port) => {
      const req = baseRequest(kit, rng, n);
      return storedCase(
        kit,
        `valid, header block just under ${NODE_HEADER_LIMIT} bytes`,
        async () => {
          await signNow(kit, req);
          const head = rawBytes(port(), req, {
            headers: [`content-length: ${req.body.length}`],
            body: Buffer.alloc(0),
          }).length;
          const pad = NODE_HEADER_LIMIT - 1024 - head;
          return {
            kind: 'raw',
            bytes: rawBytes(
              port(),
              req,
              { headers: [`content-length: ${req.body.length}`], body: req.body },
              [`x-padding: ${rng.text(Math.max(1, pad))}`],
            ),
          };
        },
      );
    },
  },
  {
    name: 'valid, chunked',
    weight: 1,
    build: (kit, rng, n, port) => {
      const req = baseRequest(kit, rng, n);
      return storedCase(kit, 'valid, chunked', async () => {
        await signNow(kit, req);
        return {
          kind: 'raw',
          bytes: rawBytes(port(), req, {
            headers: ['transfer-encoding: chunked'],
            body: chunked(req.body, rng),
          }),
        };
      });
    },
  },
  {
    name: 'no credentials',
    weight: 2,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      if (rng.chance(0.3)) req.body = rng.bytes(rng.between(0, 2000));
      return refusedCase(kit, 'no credentials', refusedStatus(kit), asIs(req));
    },
  },
  {
    name: 'wrong secret',
    weight: 2,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      return refusedCase(
        kit,
        'wrong secret',
        refusedStatus(kit),
        signed(kit, req, { wrong: true }),
      );
    },
  },
  {
    name: 'signature of a different body',
    weight: 2,
    applies: (kit) => kit.bodySigned,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      const other = kit.body(rng, n + 1_000_000);
      return refusedCase(kit, 'signature of a different body', refusedStatus(kit), async () => {
        const sent = req.body;
        req.body = other;
        await signNow(kit, req);
        req.body = kit.stamp ? kit.stamp(sent, Date.now(), 0) : sent;
        return { kind: 'http', req };
      });
    },
  },
  {
    name: 'truncated body',
    weight: 2,
    applies: (kit) => kit.bodySigned,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      const keep = rng.next();
      return refusedCase(
        kit,
        'truncated body',
        refusedStatus(kit),
        tampered(kit, req, () => {
          req.body = req.body.subarray(
            0,
            Math.min(req.body.length - 1, Math.floor(req.body.length * keep)),
          );
        }),
      );
    },
  },
  {
    name: 'URL changed after signing',
    weight: 2,
    applies: (kit) => kit.urlSigned === true,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      const slash = rng.chance(0.5);
      return refusedCase(
        kit,
        'URL changed after signing',
        refusedStatus(kit),
        tampered(kit, req, () => {
          if (slash) req.path += '/';
          else req.query.push(['added', rng.text(4)]);
        }),
      );
    },
  },
  {
    name: 'form signed, sent as JSON',
    weight: 1,
    applies: (kit) => kit.contentTypeMatters === true,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      return refusedCase(
        kit,
        'form signed, sent as JSON',
        refusedStatus(kit),
        tampered(kit, req, () => {
          setHeader(req, 'content-type', 'application/json');
        }),
      );
    },
  },
  {
    name: 'stale timestamp',
    weight: 2,
    applies: (kit) => kit.tolerance !== undefined,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      const skew =
        (rng.chance(0.5) ? -1 : 1) * ((kit.tolerance ?? 0) + rng.between(120, 10_000_000));
      return refusedCase(
        kit,
        `timestamp ${skew > 0 ? 'in the future' : 'stale'}`,
        refusedStatus(kit),
        signed(kit, req, { skew }),
      );
    },
  },
  {
    name: 'doubled credential',
    weight: 2,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      const same = rng.chance(0.5);
      return refusedCase(
        kit,
        `doubled credential (${same ? 'same value' : 'junk second value'})`,
        refusedStatus(kit),
        tampered(kit, req, () => {
          if (kit.credentialQuery) {
            const value = req.query.find(([name]) => name === kit.credentialQuery)?.[1] ?? '';
            req.query.push([kit.credentialQuery, same ? value : junkCredential(rng, value)]);
          } else {
            const name =
              kit.credentialHeaders.find((h) => header(req, h) !== undefined) ??
              kit.credentialHeaders[0] ??
              'x';
            const value = header(req, name) ?? '';
            req.headers.push([name, same ? value : junkCredential(rng, value)]);
          }
        }),
      );
    },
  },
  {
    name: 'garbled credential',
    weight: 2,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      const pick = rng.next();
      return refusedCase(
        kit,
        'garbled credential',
        refusedStatus(kit),
        tampered(kit, req, () => {
          if (kit.credentialQuery) {
            const value = req.query.find(([name]) => name === kit.credentialQuery)?.[1];
            req.query = req.query.filter(([name]) => name !== kit.credentialQuery);
            req.query.push([kit.credentialQuery, junkCredential(rng, value)]);
          } else {
            const present = kit.credentialHeaders.filter((h) => header(req, h) !== undefined);
            const name = present[Math.floor(pick * present.length)] ?? 'x';
            const junk = junkCredential(rng, header(req, name));
            // A timestamp garbled into another valid timestamp could still verify: only the
            // signature is replaced for timestamped schemes' time headers' neighbours.
            setHeader(req, name, /timestamp/.test(name) ? `${junk}x` : junk);
          }
        }),
      );
    },
  },
  {
    name: 'odd method',
    weight: 1,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      const method = rng.pick(ODD_METHODS);
      req.method = method;
      if (method === 'TRACE' || method === 'OPTIONS') req.body = Buffer.alloc(0);
      return refusedCase(
        kit,
        method,
        ['PUT', 'DELETE', 'PATCH'].includes(method) ? 405 : undefined,
        signed(kit, req),
      );
    },
  },
  {
    name: 'GET without handshake parameters',
    weight: 1,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      req.method = rng.chance(0.7) ? 'GET' : 'HEAD';
      req.body = Buffer.alloc(0);
      req.rawQuery = rng.chance(0.5) ? junkQuery(rng) : '';
      return refusedCase(kit, `${req.method} without handshake`, undefined, asIs(req));
    },
  },
  {
    name: 'query junk, unsigned',
    weight: 1,
    build: (kit, rng, n) => {
      const req = baseRequest(kit, rng, n);
      req.rawQuery = junkQuery(rng);
      return refusedCase(kit, 'query junk, unsigned', refusedStatus(kit), asIs(req));
    },
  },
  {
    name: 'too large',
    weight: 1,
    build: (kit, rng, n, port) => {
      const req = baseRequest(kit, rng, n);
      req.body = Buffer.from(JSON.stringify({ pad: rng.text(rng.between(4097, 30_000)) }));
      const framing = rng.pick(['http', 'chunked', 'declared'] as const);
      return refusedCase(kit, `too large (${framing})`, 413, async () => {
        await signNow(kit, req);
        if (framing === 'http') return { kind: 'http', req };
        if (framing === 'chunked') {
          return {
            kind: 'raw',
            bytes: rawBytes(port(), req, {
              headers: ['transfer-encoding: chunked'],
              body: chunked(req.body, rng),
            }),
          };
        }
        // Declares a huge body, sends none of it: refused before reading.
        return {
          kind: 'raw',
          bytes: rawBytes(port(), req, {
            headers: ['content-length: 10737418240'],
            body: Buffer.alloc(0),
          }),
        };
      });
    },
  },
  {
    name: 'header block over the limit',
    weight: 1,
    build: (kit, rng, n, port) => {
      const req = baseRequest(kit, rng, n);
      const over = rng.between(1024, 40_000);
      return refusedCase(kit, `header block over ${NODE_HEADER_LIMIT} bytes`, 431, async () => {
        await signNow(kit, req);
        return {
          kind: 'raw',
          bytes: rawBytes(port(), req, { headers: ['content-length: 0'], body: Buffer.alloc(0) }, [
            `x-padding: ${rng.text(NODE_HEADER_LIMIT + over)}`,
          ]),
        };
      });
    },
  },
  {
    name: 'bad framing',
    weight: 1,
    build: (kit, rng, n, port) => {
      const req = baseRequest(kit, rng, n);
      const variant = rng.pick([
        'chunk size not hex',
        'chunk without CRLF',
        'chunk longer than declared',
        'length and chunked',
        'two lengths',
        'negative length',
        'absurd length',
        'bare LF chunk',
        'obs-fold header',
      ] as const);
      return refusedCase(kit, `bad framing: ${variant}`, 400, async () => {
        await signNow(kit, req);
        const body = req.body;
        const frames: Record<typeof variant, { headers: string[]; body: Buffer }> = {
          'chunk size not hex': {
            headers: ['transfer-encoding: chunked'],
            body: Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]),
          },
          'chunk without CRLF': {
            headers: ['transfer-encoding: chunked'],
            body: Buffer.concat([
              Buffer.from(`${body.length.toString(16)}\r\n`),
              body,
              Buffer.from('XX0\r\n\r\n'),
            ]),
          },
          'chunk longer than declared': {
            headers: ['transfer-encoding: chunked'],
            body: Buffer.concat([Buffer.from('1\r\n'), body, Buffer.from('AAAA\r\n0\r\n\r\n')]),
          },
          'length and chunked': {
            headers: [`content-length: ${body.length}`, 'transfer-encoding: chunked'],
            body: chunked(body, rng),
          },
          'two lengths': {
            headers: [`content-length: ${body.length}`, `content-length: ${body.length + 1}`],
            body,
          },
          'negative length': { headers: ['content-length: -5'], body },
          'absurd length': { headers: ['content-length: 99999999999999999999999999'], body },
          'bare LF chunk': {
            headers: ['transfer-encoding: chunked'],
            body: Buffer.concat([
              Buffer.from(`${body.length.toString(16)}\n`),
              body,
              Buffer.from('\n0\n\n'),
            ]),
          },
          'obs-fold header': {
            headers: [`content-length: ${body.length}`, 'x-folded: a', ' continued'],
            body,
          },
        };
        const framing = frames[variant];
        // Empty bodies make some of these well-formed: keep them malformed.
        if (
          body.length === 0 &&
          (variant === 'chunk longer than declared' || variant === 'chunk without CRLF')
        ) {
          framing.body = Buffer.from('5\r\nabXX0\r\n\r\n');
        }
        return { kind: 'raw', bytes: rawBytes(port(), req, framing) };
      });
    },
  },
  {
    name: 'body cut off, connection closed',
    weight: 1,
    build: (kit, rng, n, port) => {
      const req = baseRequest(kit, rng, n);
      const variant = rng.pick(['content-length', 'chunked'] as const);
      return kitCase(
        kit,
        `body cut off (${variant}), client half-closes`,
        'aborted',
        undefined,
        async () => {
          await signNow(kit, req);
          const half = req.body.subarray(0, Math.floor(req.body.length / 2));
          const framing =
            variant === 'content-length'
              ? { headers: [`content-length: ${req.body.length + 10}`], body: half }
              : {
                  headers: ['transfer-encoding: chunked'],
                  body: Buffer.concat([
                    Buffer.from(`${(req.body.length + 10).toString(16)}\r\n`),
                    half,
                  ]),
                };
          return { kind: 'raw', bytes: rawBytes(port(), req, framing), halfClose: true };
        },
      );
    },
  },
  {
    name: 'invalid bytes in a credential header',
    weight: 1,
    applies: (kit) => kit.credentialHeaders.length > 0,
    build: (kit, rng, n, port) => {
      const req = baseRequest(kit, rng, n);
      // No CR or LF: they would end the header line rather than garble its value.
      const junk = rng
        .invalidUtf8(rng.between(1, 64))
        .map((byte) => (byte === 10 || byte === 13 ? 0x80 : byte));
      return refusedCase(kit, 'invalid bytes in a credential header', undefined, async () => {
        await signNow(kit, req);
        const name = kit.credentialHeaders.find((h) => header(req, h) !== undefined) ?? 'x';
        // Control bytes other than tab are rejected by Node's parser (400): keep them too.
        setHeader(req, name, `${header(req, name) ?? ''}${Buffer.from(junk).toString('latin1')}`);
        return {
          kind: 'raw',
          bytes: rawBytes(port(), req, {
            headers: [`content-length: ${req.body.length}`],
            body: req.body,
          }),
        };
      });
    },
  },
];

/** Requests at no source: unknown tokens, token-shaped junk, odd paths, junk on the socket. */
function strayCases(rng: Rng, count: number, port: () => number, knownPath: () => string): Case[] {
  const cases: Case[] = [];
  const b64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < count; i++) {
    const kind = rng.pick([
      'unknown token',
      'token-shaped junk',
      'extra segments',
      'bad path',
      'socket junk',
      'incomplete request',
      'bad request line',
    ] as const);
    const body = rng.chance(0.5)
      ? rng.bytes(rng.between(0, 500))
      : Buffer.from(JSON.stringify({ i }));
    const headers: [string, string][] = [
      ['content-type', rng.pick(['application/json', 'text/plain', 'x/y'])],
      ['x-hub-signature-256', `sha256=${rng.text(64, '0123456789abcdef')}`],
    ];
    const method = rng.pick(['POST', 'POST', 'GET', 'PUT']);
    const http = (label: string, path: string, status?: number): Case => ({
      label: `stray/${label}`,
      expect: 'refused',
      status,
      make: async () => ({ kind: 'http', req: { method, path, query: [], headers, body } }),
    });
    if (kind === 'unknown token') {
      cases.push(http('unknown token', `/in/${rng.text(43, b64url)}`, 404));
    } else if (kind === 'token-shaped junk') {
      const token = rng.pick([
        rng.text(42, b64url),
        rng.text(44, b64url),
        `${rng.text(42, b64url)}=`,
        rng.text(43, `${b64url}+/.~!$'()*,;:@`).replaceAll('/', '%2F'),
        encodeURIComponent(rng.prose(43)),
        `${knownPath().slice(4, -1)}${knownPath().endsWith('A') ? 'B' : 'A'}`,
        knownPath().slice(4).toLowerCase(),
        `${knownPath().slice(4)}%00`,
        'x'.repeat(rng.between(44, 2000)),
        '',
      ]);
      cases.push(http('token-shaped junk', `/in/${token}`));
    } else if (kind === 'extra segments') {
      cases.push(
        http(
          'extra segments',
          rng.pick([
            `${knownPath()}/extra`,
            `${knownPath()}//`,
            `/in//${knownPath().slice(4)}`,
            `${knownPath()}/../${knownPath().slice(4)}`,
            `/in/${knownPath().slice(4)}/a/b/c`,
            '/in',
            '/in/',
            `/IN/${knownPath().slice(4)}`,
          ]),
        ),
      );
    } else if (kind === 'bad path') {
      cases.push(
        http(
          'bad path',
          rng.pick([
            '/in/%ZZ',
            '/in/%E0%A4%A',
            `/in/${rng.text(10)}%`,
            '/in/%C0%AF',
            '/in/%F0%9F%98',
          ]),
        ),
      );
    } else if (kind === 'socket junk') {
      const variant = rng.pick([
        'random bytes',
        'word and CRLFs',
        'request line with random bytes',
      ] as const);
      const bytes = {
        'random bytes': rng.bytes(rng.between(1, 2000)),
        'word and CRLFs': Buffer.from(`${rng.text(8)}\r\n\r\n`),
        'request line with random bytes': Buffer.concat([
          Buffer.from('POST /in/'),
          rng.bytes(40),
          Buffer.from(' HTTP/1.1\r\nconnection: close\r\n\r\n'),
        ]),
      }[variant];
      cases.push({
        label: `stray/socket junk: ${variant} ${JSON.stringify(bytes.subarray(0, 24).toString('latin1'))}`,
        expect: 'refused',
        make: async () => ({ kind: 'raw', bytes }),
      });
    } else if (kind === 'incomplete request') {
      // Empty lines before a request line are allowed (RFC 9112 §2.2): the server waits for
      // the rest, and may close without an answer when the client gives up.
      const bytes = rng.pick([
        Buffer.from('\r\n\r\n\r\n'),
        Buffer.from(
          `POST ${knownPath()} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n`,
        ),
        Buffer.from('POS'),
      ]);
      cases.push({
        label: 'stray/incomplete request, client half-closes',
        expect: 'aborted',
        make: async () => ({ kind: 'raw', bytes, halfClose: true }),
      });
    } else {
      const line = rng.pick([
        `POST ${knownPath()} HTTP/1.1 extra`,
        `POST  ${knownPath()} HTTP/1.1`,
        `POST ${knownPath()}`,
        `post ${knownPath()} HTTP/1.1`,
        `POST http://[::1 HTTP/1.1`,
        `POST ${knownPath()} HTTP/1.x`,
        `P\u00d6ST ${knownPath()} HTTP/1.1`,
        `POST ${knownPath()}\u00ff HTTP/1.1`,
      ]);
      cases.push({
        label: `stray/bad request line ${JSON.stringify(line.replace(knownPath(), '/in/…'))}`,
        expect: 'refused',
        make: async () => ({
          kind: 'raw',
          bytes: Buffer.from(
            `${line}\r\nhost: 127.0.0.1:${port()}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
            'latin1',
          ),
        }),
      });
    }
  }
  return cases;
}

function generate(kits: Kit[], port: () => number): Case[] {
  const rng = new Rng(SEED);
  const cases: Case[] = [];
  let n = 0;
  for (const kit of kits) {
    const mutations = MUTATIONS.filter(
      (m) =>
        (kit.only ? kit.only.includes(m.name) : m.name !== 'too large') &&
        (m.applies?.(kit) ?? true),
    );
    const total = mutations.reduce((sum, m) => sum + m.weight, 0);
    const perKit = kit.only ? 40 : CASES_PER_SOURCE;
    for (let i = 0; i < perKit; i++) {
      let roll = rng.next() * total;
      let mutation = mutations[0] as Mutation;
      for (const candidate of mutations) {
        mutation = candidate;
        roll -= candidate.weight;
        if (roll < 0) break;
      }
      // Each case draws from its own generator, also at send time: the run is reproducible
      // whatever order the concurrent sends happen in.
      cases.push(mutation.build(kit, rng.fork(), n++, port));
    }
    // The provider's own cases (handshakes) a few times each.
    if (kit.extraCases) {
      for (let i = 0; i < 8; i++) cases.push(...kit.extraCases(kit, rng.fork(), n++));
    }
  }
  cases.push(...strayCases(rng.fork(), 300, port, () => kits[0]?.path ?? '/in/x'));
  // Interleave sources and kinds.
  for (let i = cases.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [cases[i], cases[j]] = [cases[j] as Case, cases[i] as Case];
  }
  return cases;
}

// ---------------------------------------------------------------- transport

async function sendHttp(base: string, agent: Agent, req: Req): Promise<Answer> {
  const flat: string[] = [];
  for (const [name, value] of req.headers) flat.push(name, value);
  const response = await request(`${base}${target(req)}`, {
    method: req.method as 'POST',
    dispatcher: agent,
    headers: flat,
    body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req.body,
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  return { status: response.statusCode, body: await response.body.text() };
}

/** Writes bytes on a fresh socket; resolves with the response (undefined if none came). */
function sendRaw(port: number, bytes: Buffer, halfClose = false): Promise<Answer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 15 s'));
    }, 15_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const finish = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const bodyAt = text.indexOf('\r\n\r\n');
      resolve(
        match
          ? { status: Number(match[1]), body: bodyAt < 0 ? '' : text.slice(bodyAt + 4) }
          : undefined,
      );
    };
    socket.on('close', finish);
    socket.on('error', () => {}); // a reset after the answer still counts the answer
    socket.write(bytes, () => {
      if (halfClose) socket.end();
    });
  });
}

// ---------------------------------------------------------------- the test

const api = adminApi(TOKEN);

const available = await backends();

describe('bad input at /in/{token}', { concurrency: false }, () => {
  for (const backend of available) {
    it(`${backend}: thousands of random and malformed requests: no 5xx, 4xx for the invalid, exactly the valid stored`, {
      timeout: 120_000,
    }, async () => {
      const began = performance.now();
      const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-fuzz-'));
      const database = backend === 'postgres' ? await createPostgresDatabase() : undefined;
      let server: SpawnedServer | undefined;
      const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 5_000 });
      try {
        server = await spawnServer({
          DATABASE_URL: database?.url ?? `sqlite:${join(dataDir, 'switchboard.db')}`,
          SWITCHBOARD_DATA_DIR: dataDir,
          SWITCHBOARD_ADMIN_TOKEN: TOKEN,
          SWITCHBOARD_PUBLIC_URL: PUBLIC_URL,
          SWITCHBOARD_ALLOWED_NETWORKS: '127.0.0.0/8',
          LOG_LEVEL: 'info',
        });
        const live = server;
        const port = Number(new URL(live.url).port);
        const kits = makeKits();
        const ids = new Map<string, string>();
        for (const kit of kits) {
          const source = await api(live, 'POST', '/ingest/api/v1/source', {
            name: `fuzz ${kit.key}`,
            uid: `fuzz-${kit.key}`,
            type: kit.type,
            config: kit.config,
          });
          kit.path = new URL(source.ingestUrl as string).pathname;
          ids.set(kit.key, source.id as string);
        }

        const cases = generate(kits, () => port);
        const failures: string[] = [];
        const expectedStored = new Map<string, number>(kits.map((kit) => [kit.key, 0]));
        const statuses = new Map<number | string, number>();
        let next = 0;
        const worker = async () => {
          while (next < cases.length) {
            const index = next++;
            const fuzzCase = cases[index] as Case;
            if (fuzzCase.expect === 'stored' && fuzzCase.source) {
              expectedStored.set(fuzzCase.source, (expectedStored.get(fuzzCase.source) ?? 0) + 1);
            }
            const wire = await fuzzCase.make();
            let answer: Answer | undefined;
            let error: string | undefined;
            try {
              answer =
                wire.kind === 'http'
                  ? await sendHttp(live.url, agent, wire.req)
                  : await sendRaw(port, wire.bytes, wire.halfClose);
            } catch (caught) {
              const e = caught as Error & { code?: string };
              error = `${e.code ?? ''} ${e.message}`;
            }
            const key = answer?.status ?? (error ? 'error' : 'no answer');
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
            const where = `#${index} ${fuzzCase.label}`;
            if (fuzzCase.expect === 'aborted') {
              if (answer && answer.status >= 500)
                failures.push(`${where}: ${answer.status} ${answer.body.slice(0, 200)}`);
              continue;
            }
            if (!answer) {
              failures.push(`${where}: no HTTP answer (${error ?? 'connection closed'})`);
              continue;
            }
            const { status } = answer;
            if (status >= 500) failures.push(`${where}: ${status} ${answer.body.slice(0, 300)}`);
            else if (
              (fuzzCase.expect === 'stored' || fuzzCase.expect === 'handshake') &&
              (status < 200 || status >= 300)
            ) {
              failures.push(`${where}: expected 2xx, got ${status} ${answer.body.slice(0, 200)}`);
            } else if (fuzzCase.expect === 'refused' && (status < 400 || status >= 500)) {
              failures.push(`${where}: expected 4xx, got ${status} ${answer.body.slice(0, 200)}`);
            } else if (fuzzCase.status !== undefined && status !== fuzzCase.status) {
              failures.push(
                `${where}: expected ${fuzzCase.status}, got ${status} ${answer.body.slice(0, 200)}`,
              );
            } else {
              const problem = fuzzCase.check?.(answer);
              if (problem) failures.push(`${where}: ${problem}`);
            }
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
        const sentIn = ((performance.now() - began) / 1000).toFixed(1);

        assert.equal(
          live.child.exitCode,
          null,
          `the server is alive:\n${live.stdout().slice(-3000)}`,
        );
        const health = await request(`${live.url}/healthz`);
        assert.equal(health.statusCode, 200, await health.body.text());
        const ready = await request(`${live.url}/readyz`);
        assert.equal(ready.statusCode, 200, await ready.body.text());

        // Still accepts a valid webhook.
        const github = kits[0] as Kit;
        const finalReq = baseRequest(github, new Rng(1), 999_999);
        setHeader(finalReq, 'x-github-delivery', 'gh-final-check');
        await signNow(github, finalReq);
        const final = await sendHttp(live.url, agent, finalReq);
        assert.equal(final.status, 200, final.body);
        expectedStored.set(github.key, (expectedStored.get(github.key) ?? 0) + 1);

        const stored = new Map<string, number>();
        for (const kit of kits)
          stored.set(kit.key, (await listInboundEvents(api, live, ids.get(kit.key) ?? '')).length);
        const threw = live
          .stdout()
          .split('\n')
          .filter((line) => line.includes('provider threw'));
        const errors = live
          .stdout()
          .split('\n')
          .filter((line) => /"level":(50|60)/.test(line));

        const totalStored = [...stored.values()].reduce((a, b) => a + b, 0);
        const totalExpected = [...expectedStored.values()].reduce((a, b) => a + b, 0);
        console.log(
          `# ${backend}: ${cases.length + 1} requests in ${sentIn} s (${CONCURRENCY} at a time) at ${kits.length} sources; ` +
            `answers: ${[...statuses.entries()]
              .sort(([a], [b]) => String(a).localeCompare(String(b)))
              .map(([s, c]) => `${s}×${c}`)
              .join(' ')}; ` +
            `${totalExpected} validly signed non-handshake requests, ${totalStored} stored`,
        );
        const kinds = new Map<string, number>();
        for (const { label } of cases) {
          const kind = label.slice(label.indexOf('/') + 1).replace(/ [("#].*$/, '');
          kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        }
        console.log(
          `# ${backend} cases: ${[...kinds.entries()]
            .sort(([, a], [, b]) => b - a)
            .map(([kind, count]) => `${kind} ×${count}`)
            .join('; ')}`,
        );
        if (failures.length > 0) {
          // One line per failing request, the first 60 (the case label says what was sent).
          assert.fail(
            `${failures.length} requests were answered wrongly:\n${failures.slice(0, 60).join('\n')}`,
          );
        }
        assert.deepEqual(
          Object.fromEntries(stored),
          Object.fromEntries(expectedStored),
          'stored events per source',
        );
        assert.deepEqual(threw.slice(0, 5), [], 'no provider threw');
        assert.deepEqual(errors.slice(0, 5), [], 'no error was logged');
      } finally {
        await agent.destroy().catch(() => {});
        await stopServer(server);
        await database?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
